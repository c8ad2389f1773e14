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
