"""The wheel's package list: every package folder of the layers is listed in pyproject (the package-dir mapping,
not the junior_ai/ symlinks, decides what the wheel holds), and the sdist's MANIFEST ships what the tests need."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("ai", "core", "server", "tools")


def test_every_package_folder_is_listed_for_the_wheel() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {"junior_ai"} | {
        "junior_ai." + ".".join(init.parent.relative_to(ROOT).parts)
        for layer in LAYERS
        for init in (ROOT / layer).rglob("__init__.py")
    }
    assert set(setuptools["packages"]) == on_disk
    assert setuptools["package-dir"] == {"junior_ai": "junior_ai", **{f"junior_ai.{layer}": layer for layer in LAYERS}}
    assert setuptools["include-package-data"] is False  # the symlinked folders must not come in as data


def test_the_sdist_manifest_ships_the_test_helpers_docs_and_example() -> None:
    lines = set((ROOT / "MANIFEST.in").read_text().splitlines())
    for needed in ("graft tests", "graft docs", "graft junior_ai", "include credentials.example.json"):
        assert needed in lines
