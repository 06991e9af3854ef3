"""The import-layering contract, checked over the source's own import graph (every import statement, lazy ones in
function bodies and TYPE_CHECKING blocks included, and dynamic imports by `importlib.import_module`/`__import__`):
`facade → server → tools → ai → core`, nothing imports upward, and no module uses the pre-package top-level names
(`import core`, `from ai.x import ...`).

The facade is the `junior_ai` package itself and its own modules (`junior_ai.api*`, `junior_ai.__main__`): the
library face over `tools`. Nothing in the four layers may import it: `import junior_ai; junior_ai.JuniorAI` or
`from junior_ai import api` would make `core` depend on `tools` through the back door."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("core", "ai", "tools", "server")
FACADE = "facade"
DYNAMIC = "<dynamic import of a computed name>"
"""What a dynamic import whose module name is not a string literal counts as: the contract cannot check it, so it
is refused in the layers (none uses one; lazy imports are plain `import` statements)."""
ALLOWED = {
    "core": {"core"},
    "ai": {"ai", "core"},
    "tools": {"tools", "ai", "core"},
    "server": {"server", "tools", "ai", "core"},
}
IMPORT_FUNCTIONS = {"import_module", "__import__", "resolve_name"}
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
        elif isinstance(node, ast.Call) and _called_name(node.func) in IMPORT_FUNCTIONS:
            argument = node.args[0] if node.args else None
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                yield node.lineno, argument.value
            else:
                yield node.lineno, DYNAMIC


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def layer_of(module: str) -> str | None:
    """The layer a module belongs to: one of LAYERS, the facade (`junior_ai` itself and its own modules), or None
    for what is not ours."""
    if module == DYNAMIC:
        return DYNAMIC
    parts = module.split(".")
    if parts[0] != "junior_ai":
        return None
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else FACADE


def violations_in(layer: str, modules: Iterator[tuple[int, str]]) -> list[tuple[int, str]]:
    return [
        (line, module)
        for line, module in modules
        if (target := layer_of(module)) is not None and target not in ALLOWED[layer]
    ]


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_only_the_layers_below_it(layer: str) -> None:
    violations = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in python_files(layer)
        for line, module in violations_in(layer, imports_of(path))
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


# (source, whether it is refused in `server` too: the facade and computed names are; tools and ai are not)
SNEAKY_UPWARD_IMPORTS = [
    ('import importlib\ndef f():\n    return importlib.import_module("junior_ai.server.cli")\n', False),
    ('def f():\n    return __import__("junior_ai.tools.ask", fromlist=["x"])\n', False),
    ("import pkgutil\nthing = pkgutil.resolve_name('junior_ai.tools.ask:ask_one')\n", False),
    ("def f():\n    from junior_ai import api\n    return api\n", True),
    ("def f():\n    import junior_ai\n    return junior_ai.JuniorAI\n", True),
    ("def f():\n    from junior_ai.api_default import call_ai_async\n    return call_ai_async\n", True),
    ("from importlib import import_module\nname = 'x'\nmodule = import_module(name)\n", True),
    ("def f():\n    from ... import api\n", True),
]


@pytest.mark.parametrize(("source", "in_server_too"), SNEAKY_UPWARD_IMPORTS)
def test_the_contract_catches_dynamic_and_facade_imports(source: str, in_server_too: bool) -> None:
    assert violations_in("core", imported_modules(source, ("core", "sub"))), source
    assert bool(violations_in("server", imported_modules(source, ("server", "sub")))) == in_server_too, source


def test_the_contract_allows_what_a_layer_may_import() -> None:
    source = (
        "import json\nimport importlib\nfrom junior_ai.core.errors import X\nm = importlib.import_module('openai')\n"
    )
    assert violations_in("ai", imported_modules(source, ("ai",))) == []
    assert violations_in("core", imported_modules("from junior_ai.core.log import get_logger\n", ("core",))) == []
