"""The package imports in one direction: no module of ``siyu`` imports, directly or through
others, a module that imports it back (an import cycle makes the import order matter and the
modules impossible to understand one at a time). Reads the imports from the source (ast), so
an import inside a function counts as well."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "include" / "siyu"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(("siyu", *parts[:-1])) if parts[-1] == "__init__" else ".".join(("siyu", *parts))


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (``from . import x`` names module x)."""
    modules = {_module_name(p): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        here = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [module, *(f"{module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle_through_three_modules():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert {"siyu.pipeline", "siyu.postgres", "siyu.orchestration", "siyu.alerts",
            "siyu.extracts", "siyu.extracts.build", "siyu.targets", "siyu.targets.duckdb",
            "siyu.targets.postgres"} <= graph.keys()
    # imports are seen at all, relative ones from a subpackage too
    assert {"siyu.pipeline", "siyu.postgres"} <= graph["siyu.targets.postgres"]
    assert "siyu.targets" in graph["siyu.runner"]
    # the run driver names no engine: it reaches the targets only through siyu.targets
    assert not {m for m in graph["siyu.runner"] if m.startswith("siyu.targets.")}
    assert "siyu.postgres" not in graph["siyu.runner"]
    assert cycles(graph) == []
