"""Batch with the request options: the CLI's --system, --json-schema, --temperature, --max-tokens, and `data` for
each valid item (invalid ones are `invalid_output`, never `ok`). The ask_batch MCP tool keeps json_schema only:
tools/list is at its size budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from junior_ai.ai.simulator import ReplyRule, Scenario, Simulator
from tests.conftest import OPENAI_KEY, ROOT


def batch_cli(sim: Simulator, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    credentials = tmp_path / "credentials.json"
    credentials.write_text(
        json.dumps(
            {
                "bulk": {
                    "provider": "openai_compatible",
                    "base_url": sim.openai_base_url,
                    "model": "extract",
                    "api_key": OPENAI_KEY,
                }
            }
        ),
        encoding="utf-8",
    )
    credentials.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    return subprocess.run(
        [sys.executable, "-m", "junior_ai", "--credentials", str(credentials), "batch", "--ai", "bulk", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_batch_validates_structured_answers_and_writes_their_data(sim: Simulator, tmp_path: Path) -> None:
    sim.set_scenario("extract", Scenario(rules=(ReplyRule(contains="doc 2", reply="Sorry, I cannot."),)))
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps(
            {
                "type": "object",
                "properties": {"title": {"type": "string"}},
                "required": ["title"],
                "additionalProperties": False,
            }
        ),
        encoding="utf-8",
    )
    items = tmp_path / "items.txt"
    items.write_text("doc 1\ndoc 2\ndoc 3\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    ran = batch_cli(
        sim,
        tmp_path,
        "--template",
        "Extract: {item}",
        "--items",
        str(items),
        "--out",
        str(out),
        "--system",
        "You extract titles.",
        "--json-schema",
        str(schema),
        "--temperature",
        "0",
        "--max-tokens",
        "100",
    )
    assert ran.returncode == 1, ran.stderr  # one item failed
    records = {r["index"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert records[0]["status"] == "ok" and records[0]["data"] == {"title": "simulated"}
    assert records[2]["status"] == "ok" and records[2]["data"] == {"title": "simulated"}
    assert records[1]["status"] == "invalid_output" and "data" not in records[1]
    assert records[1]["text"] == "Sorry, I cannot." and records[1]["validation_errors"]
    first = sim.state.requests("extract")[0].body
    assert first["messages"][0] == {"role": "system", "content": "You extract titles."}
    assert first["temperature"] == 0 and first["max_tokens"] == 100
    assert first["response_format"]["json_schema"]["strict"] is True


def test_cli_batch_refuses_a_bad_schema_file_before_sending(sim: Simulator, tmp_path: Path) -> None:
    items = tmp_path / "items.txt"
    items.write_text("doc 1\n", encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "array"}', encoding="utf-8")
    for schema, message in ((bad, "object at the top level"), (tmp_path / "missing.json", "cannot read it")):
        ran = batch_cli(sim, tmp_path, "--template", "{item}", "--items", str(items), "--json-schema", str(schema))
        assert ran.returncode != 0 and message in ran.stderr, ran.stderr
        assert "Traceback" not in ran.stderr
    assert sim.state.requests("extract") == []
