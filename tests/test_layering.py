"""The import-layering contract, checked over the source's own import graph (every import statement, lazy ones in
function bodies and TYPE_CHECKING blocks included): `server → tools → ai → core`, nothing imports upward, and no
module uses the pre-package top-level names (`import core`, `from ai.x import ...`)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("core", "ai", "tools", "server")
ALLOWED = {
    "core": {"core"},
    "ai": {"ai", "core"},
    "tools": {"tools", "ai", "core"},
    "server": {"server", "tools", "ai", "core"},
}
OLD_TOP_LEVEL = set(LAYERS)  # what the wheel once installed at the top of site-packages


def python_files(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    return imported_modules(path.read_text(encoding="utf-8"), package)


def imported_modules(source: str, package: tuple[str, ...]) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import in `source`, a module of `package` (its folder parts under
    the repository; the folders install under `junior_ai`), relative imports resolved."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(("junior_ai", *base, *([node.module] if node.module else [])))
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # `from junior_ai import tools` imports the layer too
                if module == "junior_ai":
                    yield node.lineno, f"junior_ai.{alias.name}"


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "junior_ai" and parts[1] in LAYERS else None


@pytest.mark.parametrize("layer", LAYERS[:3])
def test_a_layer_imports_only_the_layers_below_it(layer: str) -> None:
    violations = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in python_files(layer)
        for line, module in imports_of(path)
        if (target := layer_of(module)) is not None and target not in ALLOWED[layer]
    ]
    assert violations == [], "\n".join(violations)


def test_no_module_imports_the_old_top_level_package_names() -> None:
    violations = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in python_files(*LAYERS, "junior_ai", "tests", "benchmarks")
        for line, module in imports_of(path)
        if module.split(".")[0] in OLD_TOP_LEVEL
    ]
    assert violations == [], "\n".join(violations)


def test_the_contract_sees_lazy_relative_and_old_style_imports() -> None:
    # The checker itself can fail: an upward import (lazy, relative) and an old-style one are both found.
    source = "def f():\n    from ..tools import batch\n    import junior_ai.server.cli\n    from ai.call import x\n"
    found = [module for _, module in imported_modules(source, ("core",))]
    assert found == ["junior_ai.tools", "junior_ai.server.cli", "ai.call"]
    assert [layer_of(m) for m in found] == ["tools", "server", None]
