"""The OpenAPI file documents exactly the routes the paper exchange serves."""

import re
from pathlib import Path

import yaml

from tests.kit.topologies import paper_exchange_app

SPEC = Path(__file__).resolve().parents[3] / "sim" / "paper" / "openapi.yaml"


def test_every_route_is_documented_and_nothing_else():
    spec = yaml.safe_load(SPEC.read_text())
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops
                  if method in ("get", "post", "put", "patch", "delete")}
    served = set()
    for route in paper_exchange_app().app.router.routes():
        if route.method == "HEAD":
            continue
        path = re.sub(r"\{([^}]+)\}", r"{\1}", route.resource.canonical)
        served.add((path, route.method))
    assert documented == served
    assert spec["openapi"].startswith("3.")


def test_the_documented_reject_codes_are_the_exchange_s():
    from core.orders import REJECT_CODES

    order = yaml.safe_load(SPEC.read_text())["components"]["schemas"]["Order"]["properties"]
    assert [code for code in order["reject_code"]["enum"] if code is not None] == list(REJECT_CODES)


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation, item.get("parameters", [])


def test_every_guarded_operation_documents_401_and_every_body_400_415_422():
    spec = yaml.safe_load(SPEC.read_text())
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert spec["security"] == [{"bearerAuth": []}]
    for path, method, operation, _ in _operations(spec):
        if path == "/health":
            assert operation["security"] == [{}, {"bearerAuth": []}]      # open: liveness probes
            continue
        assert "401" in operation["responses"], (method, path)
        if "requestBody" in operation:
            assert {"400", "415", "422"} <= set(operation["responses"]), (method, path)


def test_the_documented_query_parameters_are_exactly_those_served():
    from sim.paper.server import QUERY_PARAMETERS

    spec = yaml.safe_load(SPEC.read_text())
    documented = {}
    for path, method, operation, shared in _operations(spec):
        names = tuple(p["name"] for p in [*shared, *operation.get("parameters", [])] if p.get("in") == "query")
        if names:
            documented[(method.upper(), path)] = names
    assert documented == QUERY_PARAMETERS
