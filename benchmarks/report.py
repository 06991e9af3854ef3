"""Benchmark results: rows, the committed `benchmarks/results/latest.json`, and the README sections generated from
it (`python -m benchmarks.run --readme`), so no figure in the README is typed by hand.

latest.json keeps the last full measurement of every section, each with its own date and command: a run of one
section (`--only batch100k`) replaces that section and leaves the others as they were measured.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
LATEST = RESULTS / "latest.json"
README = ROOT / "README.md"
TABLE_MARKERS = ("<!-- benchmarks:table:begin -->", "<!-- benchmarks:table:end -->")
TOOLS_LIST_MARKERS = ("<!-- benchmarks:tools-list:begin -->", "<!-- benchmarks:tools-list:end -->")


@dataclass
class Row:
    benchmark: str
    measured: str
    value: str
    baseline: str
    """What the value is compared with, saying whether it was measured in the same run or is a configured ideal."""
    ratio: float | None
    target: str
    met: bool | None
    number: float | None = None
    """The value as a plain number, for figures quoted elsewhere (the tools/list size in the README)."""


def load(path: Path = LATEST) -> dict[str, Any]:
    if not path.exists():
        return {"sections": {}}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def merge(previous: dict[str, Any], ran: dict[str, list[Row]], meta: dict[str, Any]) -> dict[str, Any]:
    sections = dict(previous.get("sections", {}))
    for name, rows in ran.items():
        sections[name] = {**meta, "rows": [asdict(row) for row in rows]}
    return {"sections": sections}


def rows_of(data: dict[str, Any], order: tuple[str, ...]) -> list[tuple[str, Row]]:
    known = [name for name in order if name in data["sections"]]
    return [(name, Row(**row)) for name in known for row in data["sections"][name]["rows"]]


def render_table(data: dict[str, Any], order: tuple[str, ...]) -> str:
    runs: dict[tuple[str, str], list[str]] = {}
    for name in order:
        section = data["sections"].get(name)
        if section:
            runs.setdefault((section["date"], section["command"]), []).append(name)
    header = [
        f"Measured on {section_meta(data)}: "
        + "; ".join(f"{', '.join(names)} on {date} (`{command}`)" for (date, command), names in runs.items()),
        "",
        "| benchmark | measured | value | baseline | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines = []
    for _name, row in rows_of(data, order):
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        met = {True: "yes", False: "NO", None: "-"}[row.met]
        cells = [row.benchmark, row.measured, row.value, row.baseline, ratio, row.target, met]
        lines.append("| " + " | ".join(markdown_cell(cell) for cell in cells) + " |")
    return "\n".join(header + lines)


def markdown_cell(text: str) -> str:
    """A table cell as Markdown needs it: a `|` in a measured text (`git ls-files -z | xargs -0 cat`) would start
    a new column and shift every cell after it."""
    return text.replace("|", "\\|")


def section_meta(data: dict[str, Any]) -> str:
    machines = {(s["cores"], s["python"]) for s in data["sections"].values()}
    return "; ".join(f"{cores} cores, Python {python}" for cores, python in sorted(machines))


def tools_list_sentence(data: dict[str, Any]) -> str:
    row = next((r for _, r in rows_of(data, tuple(data["sections"])) if r.measured.startswith("tools/list size")), None)
    if row is None or row.number is None:
        return "(not measured yet: run `python -m benchmarks.run --only startup`)"
    return f"{row.number:,.0f} characters on the wire, about {row.number / 4:,.0f} tokens"


def replace_between(text: str, markers: tuple[str, str], content: str, inline: bool = False) -> str:
    begin, end = markers
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), flags=re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"README.md lacks the markers {begin} ... {end}")
    body = content if inline else f"\n{content}\n"
    return pattern.sub(lambda _match: begin + body + end, text, count=1)


FIGURE = re.compile(r"<!-- bench:(?P<key>[\w-]+\.\d+\.\w+) -->(?P<text>.*?)<!-- /bench -->", flags=re.DOTALL)
"""A figure quoted in README prose: `<!-- bench:SECTION.ROW.FIELD -->...<!-- /bench -->`, FIELD one of value,
baseline, ratio, target (ROW counts from 0 in the section's rows). `--readme` rewrites the text between from
latest.json, so prose quotes measurements without typing them."""


def figure(data: dict[str, Any], key: str) -> str:
    section, index, field = key.split(".")
    rows = data["sections"].get(section, {}).get("rows", [])
    if int(index) >= len(rows):
        raise SystemExit(f"README quotes {key}, but latest.json has no such row: run `--only {section}`")
    row = Row(**rows[int(index)])
    if field == "ratio":
        return f"{row.ratio:.2f}x" if row.ratio is not None else "-"
    if field not in {"value", "baseline", "target"}:
        raise SystemExit(f"README quotes {key}: the field must be value, baseline, ratio or target")
    text: str = getattr(row, field)
    return text


def figures_of(readme: str) -> list[tuple[str, str]]:
    """(key, the text the README holds for it) for every quoted figure."""
    return [(match["key"], match["text"]) for match in FIGURE.finditer(readme)]


def readme_with(readme: str, data: dict[str, Any], order: tuple[str, ...]) -> str:
    readme = replace_between(readme, TABLE_MARKERS, render_table(data, order))
    readme = replace_between(readme, TOOLS_LIST_MARKERS, tools_list_sentence(data), inline=True)
    return FIGURE.sub(lambda match: f"<!-- bench:{match['key']} -->{figure(data, match['key'])}<!-- /bench -->", readme)
