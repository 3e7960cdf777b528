"""The imports of ``spikefit_search/hardware/``: no cycle, no arrow back up, no import hidden in
a function unless it defers torch.

``hardware/`` is imported by ``spikefit-search check`` and ``devices``, which read YAML only, so
torch is imported where it is used, inside functions; those are the only imports a function
may hold (:data:`DEFERRED`).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import spikefit_search

PACKAGE = Path(spikefit_search.__file__).parent
HARDWARE = PACKAGE / "hardware"

DEFERRED = {
    "torch": "torch itself: reading a profile or a config does not load it",
    "torch.nn.functional": "torch itself",
    "spikefit_search.compression": "imports torch (a checkpoint target)",
    "spikefit_search.compression._base": "imports torch (the quantizer class)",
    "spikefit_search.schema": "imports compression, hence torch (an exported config)",
    "spikefit_search.snn.chip": "imports torch (the chip-exact integers)",
}
"""Modules a function may import, each with why it is not imported at the top."""

UPPER = ("spikefit_search.reporting", "spikefit_search.search", "spikefit_search.cli")
"""Packages above ``hardware/``: it never imports them."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = sorted(_module_name(p) for p in HARDWARE.rglob("*.py"))


def _tree(name: str) -> ast.Module:
    base = PACKAGE.parent / Path(*name.split("."))
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    return ast.parse(path.read_text(encoding="utf-8"))


def _imported(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    """Absolute names an import statement in ``module`` brings in (``from a import b``: ``a``
    and, when ``a.b`` is a module, ``a.b`` too)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".")
        if not _is_package(module):
            package = package[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, *([base] if base else [])])
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def _is_package(name: str) -> bool:
    return (PACKAGE.parent / Path(*name.split(".")) / "__init__.py").is_file()


def _function_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """``(line, module)`` of every import inside a function body."""
    out = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    out += [(node.lineno, a.name) for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    out.append((node.lineno, "." * node.level + (node.module or "")))
    return out


def _module_level_imports(tree: ast.Module, module: str) -> set[str]:
    """Modules of ``spikefit_search`` imported outside functions, ``if TYPE_CHECKING:``
    blocks included (a cycle of type-only imports is a cycle too)."""
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.update(n for n in _imported(node, module) if n in MODULE_SET)
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(node.orelse)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(tree.body)
    found.discard(module)
    return found


MODULE_SET = set(MODULES)


_IMPORT_EACH_FIRST = """
import importlib, sys, traceback
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m.split(".")[0] == "spikefit_search"]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        print(f"{name}: {traceback.format_exc(limit=-3)}")
    if "torch" in sys.modules:
        print(f"{name}: loads torch")
        break
"""


def test_every_module_imports_first_without_torch() -> None:
    """Each module imported first, with none of the package loaded before it (an import cycle
    fails for some entry point), and none of them loads torch. One fresh interpreter, the
    package's modules dropped from ``sys.modules`` before each."""
    env = dict(os.environ, PYTHONPATH=str(PACKAGE.parent))
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH_FIRST, *MODULES],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0 and not proc.stdout, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_no_function_imports_but_deferred_torch() -> None:
    found = [(m, line, name) for m in MODULES for line, name in _function_imports(_tree(m))]
    hidden = [f"{m}:{line} imports {name}" for m, line, name in found if name not in DEFERRED]
    assert not hidden, "imports inside functions (import at the top):\n" + "\n".join(hidden)
    assert {name for _, _, name in found} == set(DEFERRED), "an entry of DEFERRED is unused"


def _runtime_imports(name: str) -> set[str]:
    """What importing ``name`` (a module of the package) imports at once: its own module-level
    imports outside ``if TYPE_CHECKING:`` and those of the packages above it."""
    found: set[str] = set()
    parts = name.split(".")
    for depth in range(2, len(parts) + 1):
        module = ".".join(parts[:depth])

        def visit(nodes: list[ast.stmt], module: str = module) -> None:
            for node in nodes:
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    found.update(_imported(node, module))
                elif isinstance(node, ast.If):
                    if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                        visit(node.body)
                    visit(node.orelse)
                elif isinstance(node, ast.Try):
                    visit(node.body)

        visit(_tree(module).body)
    return found


def _loads_torch(name: str) -> bool:
    """Whether importing ``name`` imports torch, following the package's own modules."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for n in _runtime_imports(module):
            if n == "torch" or n.startswith("torch."):
                return True
            if n.startswith("spikefit_search.") and _is_module(n):
                todo.append(n)
    return False


def _is_module(name: str) -> bool:
    base = PACKAGE.parent / Path(*name.split("."))
    return (base / "__init__.py").is_file() or base.with_suffix(".py").is_file()


@pytest.mark.parametrize("name", sorted(n for n in DEFERRED if n.startswith("spikefit_search")))
def test_every_deferred_import_really_loads_torch(name: str) -> None:
    """An entry of :data:`DEFERRED` that no longer loads torch belongs at the top."""
    assert _loads_torch(name), f"{name} does not import torch: import it at the top"


def test_the_torch_finder_sees_through_lazy_packages() -> None:
    """``spikefit_search.snn`` defers its torch modules; ``snn.config`` loads no torch."""
    assert not _loads_torch("spikefit_search.snn.config")
    assert not _loads_torch("spikefit_search.hardware.loader")
    assert _loads_torch("spikefit_search.snn.network")


def test_module_imports_form_a_dag() -> None:
    graph = {m: _module_level_imports(_tree(m), m) for m in MODULES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle = [*path[path.index(n) :], n]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in MODULES:
        if m not in state:
            visit(m)


def test_no_arrow_runs_back_up() -> None:
    upward = [
        f"{module} imports {name}"
        for module in MODULES
        for node in ast.walk(_tree(module))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for name in _imported(node, module)
        if name.startswith(UPPER)
    ]
    assert not upward, "\n".join(upward)


def test_type_only_imports_count_as_edges() -> None:
    """The checker itself: an import under TYPE_CHECKING is an edge of the graph."""
    a = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x.b\n")
    b = ast.parse("import x.a\n")
    MODULE_SET.update({"x.a", "x.b"})
    try:
        assert _module_level_imports(a, "x.a") == {"x.b"}
        assert _module_level_imports(b, "x.b") == {"x.a"}
    finally:
        MODULE_SET.difference_update({"x.a", "x.b"})
