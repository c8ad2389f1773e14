"""schemathesis (a third-party OpenAPI fuzzer) against the served control API and its generated /openapi.json.

Short, bounded and deterministic (a fixed number of cases per operation, derandomized, no example database):
valid and invalid requests generated from the document, each answer checked for no server error, a documented
status, the documented content type, a body matching its schema, auth enforced where the document says, and
invalid data refused. The event stream never ends by itself and is left out (tests/control/test_stream.py). The app
serves from a thread on a free loopback port over a SQLite file."""

from __future__ import annotations

import pytest
import requests
from hypothesis import HealthCheck, settings

from config.control import ControlConfig
from control.app import OPENAPI_KEY, build_app
from persistence.control.store import ControlStore
from tests.control.kit import TOKEN
from tests.control.served import Served

schemathesis = pytest.importorskip("schemathesis", reason="the dev extra installs schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = 20
"""Generated requests per operation and mode."""
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          ignored_auth, negative_data_rejection]
DOCUMENT = build_app(ControlConfig(), ControlStore("sqlite+aiosqlite://"), TOKEN)[OPENAPI_KEY]

schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict({
    "auth": {"openapi": {"bearerAuth": {"bearer": TOKEN}}},
    "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True, "database": "none"},
}))


@pytest.fixture(scope="module")
def served():
    server = Served()
    try:
        yield server
    finally:
        server.stop()


def test_the_served_document_is_the_one_fuzzed(served):
    assert requests.get(served.url + "/openapi.json", timeout=30).json() == DOCUMENT


@schema.exclude(path="/api/stream").parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_the_served_api_matches_its_openapi_document(case, served):
    case.call_and_validate(base_url=served.url, checks=CHECKS, timeout=30)
