"""The import graph of seqlit/ and data_modules/ has no cycle, and the upgrades of older checkpoints stay out of it.

Every import counts, those inside functions too: a lazy import hides a cycle from Python, not from a reader.
"""

from __future__ import annotations

import ast

from tests.conftest import REPO

PACKAGES = ("seqlit", "data_modules")


def modules() -> dict[str, ast.Module]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = ast.parse(path.read_text(), str(path))
    return found


def imports(name: str, tree: ast.Module, known: set[str], is_package: bool) -> set[str]:
    """The project modules `name` imports: `from a import b` counts `a.b` where it is a module, else `a`."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".") if is_package else name.split(".")[:-1]
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
            # `from package import module` runs the package's __init__ as `import package.module` does: the
            # edge is to the module; other names come from `base` itself
            targets = submodules if len(submodules) == len(node.names) else [base, *submodules]
        else:
            continue
        out |= {t for t in targets if t in known and t != name}
    return out


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected groups of more than one module (Tarjan), each a set of module names."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while not group or v not in group:
                group.add(stack.pop())
            on_stack.difference_update(group)
            if len(group) > 1:
                groups.add(frozenset(group))

    for v in graph:
        if v not in index:
            visit(v)
    return groups


def graph() -> dict[str, set[str]]:
    trees = modules()
    paths = {name: (REPO / name.replace(".", "/")).is_dir() for name in trees}
    return {name: imports(name, tree, set(trees), paths[name]) for name, tree in trees.items()}


def test_no_import_cycle():
    found = cycles(graph())
    assert not found, f"import cycles: {[sorted(c) for c in found]}"


def test_the_checkpoint_upgrades_are_read_only_where_checkpoints_are_read():
    """seqlit.io.upgrades imports nothing of the project's, and only the checkpoint reader imports it."""
    edges = graph()
    assert edges["seqlit.io.upgrades"] == set()
    assert {name for name, targets in edges.items() if "seqlit.io.upgrades" in targets} == {"seqlit.io.checkpoints"}


def test_the_cycle_finder_finds_a_cycle_through_a_lazy_import():
    trees = {"p.a": ast.parse("import p.b"), "p.b": ast.parse("def f():\n    from p import a"), "p": ast.parse("")}
    graph = {name: imports(name, tree, set(trees), name == "p") for name, tree in trees.items()}
    assert cycles(graph) == {frozenset({"p.a", "p.b"})}
