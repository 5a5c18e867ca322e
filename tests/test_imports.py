"""The helpers package is one house: imports only downward, no private name crossing a
module, every public name unique, the explorers in one package.

Every ``import helpers.x`` / ``from helpers.x import ...`` / ``from helpers import x``
in a module counts, at its top or inside a function (a lazy import is still an
import), so a module never depends, even late, on one that depends on it.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "helpers"


def imports(path: Path) -> set[str]:
    """The helpers modules ``path`` imports (dotted names without the ``helpers.``
    prefix, e.g. ``"scenes"``, ``"explorers.framework"``)."""
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


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (``"explorers.scene"``), packages'
    ``__init__`` files left out."""
    return {
        ".".join(p.relative_to(PACKAGE).with_suffix("").parts): p
        for p in sorted(PACKAGE.rglob("*.py"))
        if p.stem != "__init__"
    }


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(path) & set(found) for name, path in found.items()}


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
    assert {"scenes", "zoo", "recipes", "answer", "check", "explorers.framework"} <= set(
        EDGES
    )
    assert "zoo" in EDGES["recipes"] and "recipes" not in EDGES["zoo"]
    assert "explorers.framework" in EDGES["explorers.scene"]


@pytest.mark.parametrize("module", sorted(EDGES))
def test_no_import_cycle_through(module):
    reachable, todo = set(), [module]
    while todo:
        for nxt in EDGES[todo.pop()]:
            if nxt not in reachable:
                reachable.add(nxt)
                todo.append(nxt)
    assert module not in reachable, f"import cycle: {' -> '.join(cycle(EDGES))}"


def private_imports(path: Path) -> list[str]:
    """``module.name`` of each ``_private`` name ``path`` imports from a helpers module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers"):
            found += [
                f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")
            ]
    return found


def test_private_import_finder_finds_one(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("from helpers.maps import _vmax, draw\nfrom os import _exit\n")
    assert private_imports(path) == ["helpers.maps._vmax"]


@pytest.mark.parametrize("module", sorted(EDGES))
def test_no_private_name_crosses_a_module(module):
    assert private_imports(modules()[module]) == []


def public_names(path: Path) -> set[str]:
    """The public names ``path`` defines at its top level (functions, classes and
    assigned names not starting with ``_``; imported names are not its own)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_")}


def test_every_public_name_is_defined_once():
    """A name says where it lives: no two modules define the same public name."""
    where: dict[str, list[str]] = {}
    for name, path in modules().items():
        for defined in public_names(path):
            where.setdefault(defined, []).append(name)
    twice = {n: ms for n, ms in where.items() if len(ms) > 1}
    assert not twice, f"public names defined in several modules: {twice}"


def test_the_explorers_live_in_one_package():
    """Every explorer (a function named ``*_explorer``) is defined in
    ``helpers.explorers``, and each explorer module builds on its framework."""
    outside = [
        f"{name}.{defined}"
        for name, path in modules().items()
        if not name.startswith("explorers.")
        for defined in public_names(path)
        if defined.endswith("_explorer")
    ]
    assert outside == []
    concept = [
        n
        for n in EDGES
        if n.startswith("explorers.")
        and n.split(".")[1] not in ("framework", "png", "maps")
    ]
    assert len(concept) >= 9
    for name in concept:
        assert "explorers.framework" in EDGES[name], f"{name} does not use the framework"


def test_the_eval_train_bookkeeping_is_written_once():
    """Only helpers.inference.eval_mode saves and restores a model's training flags."""
    writers = [name for name, path in modules().items() if ".training" in path.read_text()]
    assert writers == ["inference"]
