"""The package's layers and their one direction of imports (docs/dev/architecture.md).

Reads every module's imports with ast and fails on an import against the allowed direction,
on an import cycle, and on an import inside a function body (other than of an optional
dependency), naming the offending file and line.
"""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "dualad"

# layer of each top-level part of the package; a module may import its own part and the parts
# of lower layers, and in the upper layers (PEERS) its peers too (the cycle check still
# applies). config and errors are below everything; accel, higher and scalar are peers that
# never import one another; only dualad/__init__ imports accel.
LAYERS = {
    "errors": 0, "config": 0, "_compile": 0,
    "rules": 1,
    "core": 2,
    "accel": 3, "higher": 3, "scalar": 3,
    "api": 4, "custom": 4, "math": 4, "array_api": 4, "sparse": 4, "jit": 4,
    "distributed": 4,
    "train": 5, "optim": 5, "testing": 5, "_mlp": 5,
}
PEERS = {4, 5}
ONLY_FROM_INIT = {"accel"}
# imports that may sit inside a function: optional dependencies, loaded only when used, and
# numba, which `import dualad` does not import (dualad/_compile.py loads it on first use)
OPTIONAL = {"matplotlib", "scipy", "tqdm", "hypothesis", "dask", "distributed", "cloudpickle",
            "sklearn", "jax", "torch", "mkdocs", "numba"}
# the documented lazy loads of dualad's own modules: {module: what it may import in a function}
# (dualad.accel's numba routes load with the first operation large enough to use them)
LAZY = {"dualad.accel": {"dualad.accel.chains", "dualad.accel.fused", "dualad.accel.kernels",
                         "dualad.accel.program"}}


def _module_name(path, root):
    rel = path.relative_to(root.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _resolve(module, is_package, node, modules=()):
    """The modules an import statement imports (absolute dotted names): ``from p import m``
    names the module p.m where that is one, else p."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[:len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    out = set()
    for a in node.names:
        full = f"{target}.{a.name}"
        if full in modules:
            out.add(full)
        elif node.module is not None or not node.level:  # (from . import _cscalar: compiled)
            out.add(target)
    return sorted(out)


def _part(module):
    """The part of the package a module belongs to ('core', 'api', ...); '' for dualad."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _function_depth_imports(tree):
    """Import nodes with a flag: inside a function body (not under TYPE_CHECKING)."""
    out = []

    def visit(node, in_func):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            inner = in_func or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                  ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                out.append((child, in_func))
            visit(child, inner)
    visit(tree, False)
    return out


def scan(sources):
    """``sources``: {module name: (source text, is_package, file label)}. Returns the list of
    problems, each a string naming the file and line."""
    modules = set(sources)
    problems, edges = [], {m: set() for m in modules}
    for module, (text, is_package, label) in sources.items():
        tree = ast.parse(text)
        src_part = _part(module)
        for node, in_func in _function_depth_imports(tree):
            names = [n for n in _resolve(module, is_package, node, modules)
                     if n == "dualad" or n.startswith("dualad.")]
            if in_func:
                roots = {n.split(".")[0] for n in _resolve(module, is_package, node)}
                allowed = (set(names) <= LAZY.get(module, set()) if names
                           else roots <= OPTIONAL)
                if not allowed:
                    problems.append(f"{label}:{node.lineno}: import inside a function: "
                                    f"{ast.unparse(node)}")
            for target in names:
                if target not in modules:
                    continue
                if target != module:
                    edges[module].add(target)
                dst_part = _part(target)
                if not src_part or not dst_part or dst_part == src_part:
                    continue
                if dst_part in ONLY_FROM_INIT:
                    problems.append(f"{label}:{node.lineno}: only dualad/__init__ imports "
                                    f"dualad.{dst_part}: {ast.unparse(node)}")
                elif LAYERS.get(dst_part, 99) > LAYERS.get(src_part, -1) or (
                        LAYERS.get(dst_part) == LAYERS.get(src_part)
                        and LAYERS.get(src_part) not in PEERS):
                    problems.append(f"{label}:{node.lineno}: dualad.{src_part} (layer "
                                    f"{LAYERS.get(src_part)}) imports dualad.{dst_part} "
                                    f"(layer {LAYERS.get(dst_part)}): {ast.unparse(node)}")
    problems += [f"import cycle: {' -> '.join(c)}" for c in _cycles(edges)]
    return problems


def _cycles(edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in sorted(edges):
        if v not in index:
            strong(v)
    return out


def _sources():
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        out[_module_name(path, ROOT)] = (path.read_text(encoding="utf-8"),
                                         path.name == "__init__.py",
                                         str(path.relative_to(ROOT.parent)))
    return out


def test_every_part_has_a_layer():
    parts = {_part(m) for m in _sources()} - {""}
    assert parts <= set(LAYERS), f"parts without a layer: {parts - set(LAYERS)}"


def test_imports_go_one_way_with_no_cycle_and_none_inside_functions():
    problems = scan(_sources())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("module, line, expected", [
    ("dualad.core.dual", "from ..api import jvp", "dualad.core (layer 2) imports dualad.api"),
    ("dualad.core.partials", "from ..accel import kernels", "only dualad/__init__ imports"),
    ("dualad.higher.taylor", "from ..scalar import ScalarDual",
     "dualad.higher (layer 3) imports dualad.scalar"),
    ("dualad.rules.table", "def f():\n    from ..core import hooks",
     "import inside a function"),
    ("dualad.core.tags", "from . import partials", "import cycle"),
])
def test_a_planted_bad_import_is_named(module, line, expected):
    sources = _sources()
    text, is_package, label = sources[module]
    sources[module] = (text + "\n" + line + "\n", is_package, label)
    problems = scan(sources)
    assert any(expected in p for p in problems), problems
    planted = [p for p in problems if expected in p and "cycle" not in expected]
    assert all(p.startswith(label + ":") for p in planted), planted
