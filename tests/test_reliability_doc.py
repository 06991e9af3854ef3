"""docs/reliability.md names a test for every row: each name it gives as on this branch must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")


def named_tests() -> list[tuple[str, str]]:
    found = []
    for line in DOC.splitlines():
        if "other branch" in line or "pending" in line:
            continue
        current: str | None = None
        for file_part, name in re.findall(r"`(test_\w+\.py)?::(test_\w+)", line):
            current = file_part or current
            assert current is not None, line
            found.append((current, name))
    return found


def test_every_test_the_reliability_table_names_exists() -> None:
    names = named_tests()
    assert len(names) >= 50
    missing = [
        f"{file}::{name}"
        for file, name in names
        if not (ROOT / "tests" / file).is_file()
        or not re.search(rf"def {name}\(", (ROOT / "tests" / file).read_text(encoding="utf-8"))
    ]
    assert not missing, missing
