"""The helpers package imports only downward: its import graph has no cycle.

Every ``import helpers.x`` / ``from helpers.x import ...`` / ``from helpers import x``
in a module counts, at its top or inside a function (a lazy import is still an
import), so a module never depends, even late, on one that depends on it.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "helpers"


def imports(path: Path) -> set[str]:
    """The helpers modules ``path`` imports (names without the ``helpers.`` prefix)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("helpers.")}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "helpers":
                found |= {f"helpers.{a.name}" for a in node.names}
            elif node.module.startswith("helpers."):
                found.add(node.module)
    return {name.removeprefix("helpers.") for name in found}


def graph() -> dict[str, set[str]]:
    modules = {p.stem: p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    return {name: imports(path) & set(modules) for name, path in modules.items()}


def cycle(edges: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path ``[a, b, ..., a]``, or ``[]`` when there is none."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        path.pop()
        return []

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_the_cycle_finder_finds_one():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


EDGES = graph()
"""The package's import graph, read once."""


def test_every_module_is_found():
    assert {"scenes", "zoo", "recipes", "answer", "check"} <= set(EDGES)
    assert "zoo" in EDGES["recipes"] and "recipes" not in EDGES["zoo"]


@pytest.mark.parametrize("module", sorted(EDGES))
def test_no_import_cycle_through(module):
    reachable, todo = set(), [module]
    while todo:
        for nxt in EDGES[todo.pop()]:
            if nxt not in reachable:
                reachable.add(nxt)
                todo.append(nxt)
    assert module not in reachable, f"import cycle: {' -> '.join(cycle(EDGES))}"
