"""The README's performance figures are generated from the committed benchmark results, never typed by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path

from benchmarks.report import (
    FIGURE,
    LATEST,
    README,
    TABLE_MARKERS,
    TOOLS_LIST_MARKERS,
    Row,
    figures_of,
    merge,
    readme_with,
    render_table,
    rows_of,
)
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


def performance_prose(readme: str) -> str:
    section = readme[readme.index("## Performance") :]
    section = section[: section.index("\n## ", 1)]
    section = re.sub(re.escape(TABLE_MARKERS[0]) + ".*?" + re.escape(TABLE_MARKERS[1]), "", section, flags=re.DOTALL)
    section = FIGURE.sub("", section)
    section = re.sub(r"`[^`]*`", "", section)  # commands and file names, not figures
    bullets = re.split(r"\n(?=- )", section)
    return "\n".join(bullets)


def test_every_number_in_the_performance_prose_comes_from_the_results() -> None:
    """A figure in the prose is either a generated placeholder or a parameter or target the results state
    themselves (`2,000-line`, `5,000-file`): a measurement typed by hand fails here."""
    data = json.loads(LATEST.read_text(encoding="utf-8"))
    stated = " ".join(
        f"{row.benchmark} {row.measured} {row.target}" for _, row in rows_of(data, tuple(data["sections"]))
    )
    allowed = set(re.findall(NUMBER, stated))
    typed = [number for number in re.findall(NUMBER, performance_prose(README.read_text())) if number not in allowed]
    assert typed == [], f"figures typed by hand in README's Performance prose: {typed}"


NUMBER = r"\d[\d,]*(?:\.\d+)?"


def test_a_pipe_in_a_measured_text_stays_inside_its_cell() -> None:
    row = Row("context", "median", "231 ms", "158 ms (git ls-files -z | xargs -0 cat)", 1.46, "<= 1.5x", True)
    data = merge({"sections": {}}, {"context": [row]}, NEW | MACHINE)
    last = render_table(data, SECTIONS).splitlines()[-1]
    assert len(re.findall(r"(?<!\\)\|", last)) == 8  # 7 cells
    assert "ls-files -z \\| xargs" in last


def test_a_quoted_figure_is_rewritten_from_the_results() -> None:
    row = Row("host tokens", "chars", "150 chars", "90,000 chars pasted", 600.0, "report", None)
    data = merge({"sections": {}}, {"context": [row]}, NEW | MACHINE)
    readme = (
        f"{TABLE_MARKERS[0]}{TABLE_MARKERS[1]} {TOOLS_LIST_MARKERS[0]}{TOOLS_LIST_MARKERS[1]}\n"
        "by path <!-- bench:context.0.value -->146 chars<!-- /bench --> (<!-- bench:context.0.ratio -->1x<!-- /bench -->)"
    )
    assert figures_of(readme_with(readme, data, SECTIONS)) == [
        ("context.0.value", "150 chars"),
        ("context.0.ratio", "600.00x"),
    ]
