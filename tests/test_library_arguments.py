"""The library checks its arguments with the tools' own models (the same rules and messages as the MCP tools and
the CLI), before anything is sent, and takes one string where a list is expected as one item."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from junior_ai import InvalidInputError, JuniorAI
from junior_ai.ai.simulator import Simulator
from tests.conftest import config_of, openai_ai

BAD_OPTIONS: list[tuple[dict[str, Any], str]] = [
    ({"temperature": 9}, "temperature: Input should be less than or equal to 2"),
    ({"max_tokens": -3}, "max_tokens: Input should be greater than or equal to 1"),
    ({"temperature": math.nan}, "temperature: must be a finite number"),
    ({"timeout_s": -3}, "timeout_s: Input should be greater than 0"),
    ({"temperature": True}, "temperature: Input should be a valid number"),
]


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS)
async def test_map_refuses_bad_options_before_any_item_is_sent(
    sim: Simulator, options: dict[str, Any], message: str
) -> None:
    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "lib-map"))) as jr:
        with pytest.raises(InvalidInputError, match=f"arguments of map: {message}"):
            jr.map("S {item}", ["a", "b"], ai="oai", **options)
    assert sim.state.requests("lib-map") == []


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS)
async def test_stream_refuses_bad_options_before_anything_is_sent(
    sim: Simulator, options: dict[str, Any], message: str
) -> None:
    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "lib-stream"))) as jr:
        with pytest.raises(InvalidInputError, match=f"arguments of stream: {message}"):
            jr.stream("oai", "hi", **options)
    assert sim.state.requests("lib-stream") == []


async def test_good_map_and_stream_options_still_reach_the_provider(sim: Simulator) -> None:
    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "lib-good"))) as jr:
        results = [r async for r in jr.map("S {item}", ["a"], ai="oai", temperature=1, max_tokens=50)]
        text = "".join([piece async for piece in jr.stream("oai", "hi", temperature=0.5, timeout_s=30)])
    assert [r.status for r in results] == ["ok"] and text
    bodies = [r.body for r in sim.state.requests("lib-good")]
    assert [b["temperature"] for b in bodies] == [1, 0.5]


async def test_one_string_is_one_file_and_one_ai_not_its_characters(sim: Simulator, tmp_path: Path) -> None:
    shared = tmp_path / "notes.md"
    shared.write_text("the shared notes say 42\n")
    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "lib-str"), allowed_paths=[str(tmp_path)])) as jr:
        answer = await jr.ask("oai", "What do the notes say?", files=str(shared))
        many = await jr.ask_many("hi", ais="oai")
    assert answer.text
    assert "the shared notes say 42" in sim.state.requests("lib-str")[0].full_text
    assert [r.ai for r in many.results] == ["oai"]


async def test_an_unknown_ai_name_is_quoted_short(sim: Simulator) -> None:
    async with JuniorAI.from_config(config_of(openai_ai(sim, "oai", "lib-long"))) as jr:
        with pytest.raises(InvalidInputError) as refused:
            await jr.ask("y" * 150, "hi")
    assert len(str(refused.value)) < 400
    assert "150 characters" in str(refused.value)
