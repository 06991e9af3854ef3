"""The README stays true: its JSON snippets parse, its host configs are well-formed, its commands exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def json_blocks() -> list[str]:
    return re.findall(r"```json\n(.*?)```", README, flags=re.DOTALL)


def test_every_json_block_in_the_readme_parses() -> None:
    blocks = json_blocks()
    assert len(blocks) >= 5
    for block in blocks:
        json.loads(block)


def test_host_configs_name_a_command_with_serve() -> None:
    configs = [json.loads(b) for b in json_blocks() if "mcpServers" in b]
    assert len(configs) == 2  # Claude Desktop and Cursor
    for config in configs:
        server = config["mcpServers"]["junior-ai"]
        assert server["command"].endswith("/junior-ai") and server["args"] == ["serve"]
        assert set(server["env"]) == {"JUNIOR_AI_CREDENTIALS"}
    assert re.search(r"claude mcp add junior-ai --env JUNIOR_AI_CREDENTIALS=\S+ -- \S+/junior-ai serve", README)


def test_quick_start_commands_exist() -> None:
    for script in ("scripts/demo.sh", "scripts/test.sh"):
        assert f"bash {script}" in README and (ROOT / script).is_file()
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
