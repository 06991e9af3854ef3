"""The README's performance figures are generated from the committed benchmark results, never typed by hand."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.report import LATEST, README, Row, merge, readme_with, render_table
from benchmarks.run import SECTIONS


def test_the_readme_performance_table_and_tools_list_size_are_the_committed_results() -> None:
    readme = README.read_text(encoding="utf-8")
    data = json.loads(LATEST.read_text(encoding="utf-8"))
    assert readme_with(readme, data, SECTIONS) == readme, "run `python -m benchmarks.run --readme`"
    assert set(data["sections"]) >= {"fanout", "overhead", "scale", "startup", "consensus", "batch"}
    batch_rows = [row["measured"] for row in data["sections"]["batch"]["rows"]]
    assert sum("hand-written" in measured for measured in batch_rows) >= 2  # both sizes compared


def test_a_section_run_alone_replaces_only_that_section(tmp_path: Path) -> None:
    row = Row("b", "m", "1", "2 (same run)", 0.5, "report", None)
    first = merge({"sections": {}}, {"fanout": [row], "batch": [row]}, {"date": "d1", "command": "c1"} | MACHINE)
    second = merge(first, {"batch": [Row("b", "m", "9", "8 (same run)", 1.1, "report", None)]}, NEW | MACHINE)
    assert second["sections"]["fanout"]["date"] == "d1" and second["sections"]["batch"]["date"] == "d2"
    table = render_table(second, SECTIONS)
    assert "fanout on d1 (`c1`)" in table and "batch on d2 (`c2`)" in table and "| b | m | 9 |" in table


MACHINE = {"cores": 2, "python": "3.11"}
NEW = {"date": "d2", "command": "c2"}
