"""The layering and the seams: contracts in pyproject.toml (import-linter), no import cycles, the CLI on top,
component names from one module."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "config", "actors", "sim", "adapters", "persistence", "supervisors", "reports", "control")


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, include_external_packages=False, cache_dir=None)


def test_import_contracts_hold(monkeypatch, capsys):
    from importlinter.cli import lint_imports

    monkeypatch.chdir(ROOT)
    exit_code = lint_imports(no_cache=True, no_logo=True)
    assert exit_code == 0, capsys.readouterr().out[-4000:]


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Module groups that import each other in a loop (function-level and TYPE_CHECKING imports included)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_no_import_cycles_lazy_imports_included():
    assert strongly_connected(_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(module)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.z", imported="a.x")
    assert strongly_connected(graph) == [["a.x", "a.y"]]


def test_nothing_imports_the_cli():
    assert _graph().find_modules_that_directly_import("supervisors.cli") == set()


COMPONENT_NAMES = {"broker", "exchange", "bridge", "balancer", "metrics", "router", "market", "paper", "feed", "desk"}
NAME_PARAMETERS = {"name", "gateway", "venue", "exchange", "router", "balancer", "metrics", "feed"}


def _name_literals(path: Path, root: Path = ROOT) -> list[str]:
    """Component-name string literals used as a default or argument of a name parameter, a message receiver,
    or a snapshot key."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        pairs = []
        if isinstance(node, ast.arguments):
            positional = node.posonlyargs + node.args
            pairs += zip(positional[len(positional) - len(node.defaults):], node.defaults)
            pairs += [(a, d) for a, d in zip(node.kwonlyargs, node.kw_defaults) if d is not None]
            pairs = [(a.arg, d) for a, d in pairs]
        elif isinstance(node, ast.Call):
            pairs += [(k.arg, k.value) for k in node.keywords]
            if isinstance(node.func, ast.Attribute) and node.func.attr in {"send", "snapshot", "get"} and node.args:
                pairs.append(("name", node.args[0]))
        for parameter, value in pairs:
            if (parameter in NAME_PARAMETERS and isinstance(value, ast.Constant)
                    and value.value in COMPONENT_NAMES):
                found.append(f"{path.relative_to(root)}:{value.lineno} {parameter}={value.value!r}")
    return found


def test_component_names_come_from_the_names_module():
    offenders = [hit for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
                 if path != ROOT / "actors" / "names.py" for hit in _name_literals(path)]
    assert offenders == []


def test_the_name_check_finds_a_literal(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('def f(gateway: str = "broker"):\n    port.send("router", 1)\n')
    assert len(_name_literals(sample, tmp_path)) == 2
