"""The package's layers: data flows one way, so no module imports (even lazily, inside a
function) a module that imports it back."""

from __future__ import annotations

import ast

from conftest import ROOT


def _module_name(path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """{module: pianogen modules it imports anywhere in its source}."""
    files = {_module_name(p): p for p in (ROOT / "pianogen").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pianogen"):
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("pianogen")]
            deps |= {t for t in targets if t in files and t != name}
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle (as a path that returns to its start), by depth-first search."""
    found, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                found.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = "done"

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])
    return found


def test_no_import_circle():
    graph = import_graph()
    assert "pianogen.sampling" in graph and graph["pianogen.evaluation.tuning"]  # the walk sees the package
    assert cycles(graph) == []


def test_the_circle_check_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_every_path_the_docs_name_exists():
    """Paths in README.md and docs/*.md (in backticks or links: a file or folder of this
    repository, from its root or from the doc) exist, so the docs follow the layout.
    Placeholders (NAME, CORPUS) and lines that say a path is gone or replaced are left out."""
    import re

    top = r"(?:\.\./)?(?:pianogen|scripts|benchmarks|tests|docs|checkpoints)/[\w./-]*"
    missing = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for line in doc.read_text(encoding="utf-8").splitlines():
            if re.search(r"\b(gone|removed|replaced|old name)\b", line):
                continue
            for ref in re.findall(rf"`({top})`", line) + re.findall(rf"\]\(({top})\)", line):
                if re.search(r"[A-Z]{3,}|\*", ref):
                    continue
                if not ((ROOT / ref).exists() or (doc.parent / ref).exists()):
                    missing.append(f"{doc.name}: {ref}")
    assert missing == []
