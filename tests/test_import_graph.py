"""No import circles between ganlab's modules (imports at module level; those inside
functions are deferred on purpose and do not count)."""

import ast
from pathlib import Path

from tests.conftest import ROOT

#: Folders of the two packages, with the names they are installed under.
PACKAGES = {"ganlab": ROOT / "ganlab", "ganlab_plugins": ROOT / "plugins"}


def module_files(packages) -> dict:
    """Module name -> file, for every ``.py`` file of ``packages`` (name -> folder)."""
    found = {}
    for package, folder in packages.items():
        for path in sorted(Path(folder).rglob("*.py")):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _module_level_imports(tree):
    """Import nodes that run when the module is imported: not inside a function body."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph(modules: dict) -> dict:
    """Module -> the project modules it imports at module level.

    ``from package import name`` counts as importing ``package.name`` when that is a
    module, else ``package`` itself; parent packages that Python initialises on the way
    are not edges (their ``__init__`` is already running when a submodule imports them).
    """
    graph = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        targets = set()
        for node in _module_level_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        graph[name] = sorted(t for t in targets if t in modules and t != name)
    return graph


def cycles(graph: dict) -> list:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_ganlab_has_no_import_circles():
    graph = import_graph(module_files(PACKAGES))
    assert len(graph) > 40 and "ganlab.training.engine" in graph["ganlab.training.assemble"]
    assert cycles(graph) == [], (
        "modules that import each other at module level "
        "(move one import into the function that needs it, or move the shared piece down)"
    )


def test_the_check_finds_a_circle_through_a_package_and_a_relative_import(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("import os\nfrom .. import c\n")
    (package / "c.py").write_text("def later():\n    from pkg import a\n")
    graph = import_graph(module_files({"pkg": package}))
    assert graph["pkg.a"] == ["pkg.sub.b"] and graph["pkg.sub.b"] == ["pkg.c"] and graph["pkg.c"] == []
    assert cycles(graph) == []
    (package / "c.py").write_text("from pkg import a\n")
    assert cycles(import_graph(module_files({"pkg": package}))) == [["pkg.a", "pkg.c", "pkg.sub.b"]]
