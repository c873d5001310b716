"""The package's import graph, read from the source with `ast`: no circles, and Dagster only at the edges.

Every `import` counts, at module level and inside functions alike (a function-level import is still a circle
the moment both functions run); only imports under `if TYPE_CHECKING:` are left out, because they never run.
`from package import name` points at the submodule `package.name` when there is one, else at the package.

Dagster belongs to `engagement_pipeline.defs` (the assets, checks, jobs, sensors, the in-process runner) and the
entry points that start runs or build resources (`engagement_pipeline.cli`, the HTTP API `engagement_pipeline.web`,
the daemon's run launcher `engagement_pipeline.launcher`);
every other package is plain Python a notebook or a test can call, so it imports neither Dagster nor those.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "engagement_pipeline"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / PACKAGE
DAGSTER_ALLOWED = (f"{PACKAGE}.defs", f"{PACKAGE}.cli", f"{PACKAGE}.web", f"{PACKAGE}.launcher")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules(root: Path) -> dict[str, Path]:
    """Every module of the package by dotted name (packages by their own name, for their `__init__.py`)."""
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes that sit under `if TYPE_CHECKING:` (they never run)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(inner) for inner in ast.walk(child))
    return skipped


def imported_names(source: str, module: str, is_package: bool, known: frozenset[str] = frozenset()) -> set[str]:
    """Every dotted name `module` imports (relative imports resolved), at any depth of the source.

    `from pkg import name` gives `pkg.name` when that is one of the `known` modules, else `pkg` (a name defined
    in pkg's `__init__`); outside the package (`known` empty) it gives both, so `from dagster import asset`
    shows as `dagster`."""
    tree = ast.parse(source)
    skipped = _type_checking_only(tree)
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in known:
                    names.add(full)
                else:
                    names.add(base)
                    if not known:
                        names.add(full)
    return names


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the package's own modules it imports."""
    modules = package_modules(root)
    known = frozenset(modules)
    return {
        module: (imported_names(path.read_text(encoding="utf-8"), module, path.name == "__init__.py", known)
                 & known) - {module}
        for module, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph as [a, b, ..., a], or None when there is none (depth-first, three colours)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


# ---------------------------------------------------------------- the graph reader itself, on small sources

def test_function_level_and_relative_imports_are_edges_and_type_checking_ones_are_not() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import sibling\n"
        "from .other import thing\n"
        "if TYPE_CHECKING:\n"
        "    from engagement_pipeline.defs import runner\n"
        "def late():\n"
        "    import dagster as dg\n"
    )
    names = imported_names(source, "engagement_pipeline.inbox.store", is_package=False)
    assert {"engagement_pipeline.inbox.sibling", "engagement_pipeline.inbox.other.thing", "dagster"} <= names
    assert "engagement_pipeline.defs.runner" not in names


def test_a_cycle_is_named_from_start_to_start_and_a_tree_has_none() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


# ---------------------------------------------------------------- the package

def test_the_package_has_no_import_circle() -> None:
    cycle = find_cycle(import_graph(PACKAGE_DIR))
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


@pytest.fixture(scope="module")
def domain_imports() -> dict[str, set[str]]:
    """What each module outside the Dagster edges imports; the package is parsed once for the checks below."""
    return {module: imported_names(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
            for module, path in package_modules(PACKAGE_DIR).items()
            if not (module.startswith(DAGSTER_ALLOWED) or module == PACKAGE)}


@pytest.mark.parametrize("forbidden", ["dagster", *DAGSTER_ALLOWED])
def test_no_domain_package_imports_dagster_or_the_modules_that_do(forbidden: str,
                                                                   domain_imports: dict[str, set[str]]) -> None:
    offenders = [module for module, names in domain_imports.items()
                 if any(name == forbidden or name.startswith((forbidden + ".", forbidden + "_")) for name in names)]
    assert offenders == [], f"{forbidden} imported outside {', '.join(DAGSTER_ALLOWED)}: {', '.join(offenders)}"
