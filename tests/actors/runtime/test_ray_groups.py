"""Co-host grouping is decided without Ray: which components share an actor, and config errors."""

import pytest
from pydantic import ValidationError

from actors import names
from actors.runtime.component import Component
from actors.runtime.ray_runtime import RayRuntime
from config.runtime import RuntimeConfig


def _components(*names):
    return [Component(n) for n in names]


def test_configured_groups_form_from_the_members_present_the_rest_stand_alone():
    runtime = RayRuntime(RuntimeConfig(kind="ray", co_host=(("broker", "router"), ("a", "b", "c"))))
    groups = runtime._groups(_components("trader-1", "router", "broker", "a", "c"))
    assert [[c.name for c in g] for g in groups] == [["broker", "router"], ["a", "c"], ["trader-1"]]


def test_a_group_with_one_member_present_is_no_group():
    runtime = RayRuntime(RuntimeConfig(kind="ray", co_host=(("broker", "router"),)))
    groups = runtime._groups(_components("broker", "trader-1"))
    assert [[c.name for c in g] for g in groups] == [["broker"], ["trader-1"]]


def test_default_co_hosts_the_order_path_gateway_router_and_bridge():
    assert RuntimeConfig().co_host is None
    runtime = RayRuntime(RuntimeConfig(kind="ray"))
    groups = runtime._groups(_components(names.BRIDGE, names.GATEWAY, names.ROUTER, "trader-1"))
    assert [[c.name for c in g] for g in groups] == [[names.GATEWAY, names.ROUTER, names.BRIDGE], ["trader-1"]]


@pytest.mark.parametrize("groups, words", [((("a",),), "at least two"), ((("a", "b"), ("b", "c")), "two groups")])
def test_bad_co_host_groups_fail_naming_the_field(groups, words):
    with pytest.raises(ValidationError) as err:
        RuntimeConfig(co_host=groups)
    assert "co_host" in str(err.value) and words in str(err.value)
