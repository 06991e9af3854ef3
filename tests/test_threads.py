"""Conversation threads: continued across calls, expiring, listed as resources, and kept across restarts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp.client.client import Client

from junior_ai.ai.simulator import Simulator
from junior_ai.core.config import Settings
from junior_ai.core.errors import InvalidInputError
from junior_ai.server.app import build_server
from junior_ai.tools.threads import ThreadStore
from tests.conftest import config_of, gemini_ai, openai_ai
from tests.test_server_tools import text_of


def user_and_assistant_turns(body: dict[str, object]) -> list[str]:
    if "messages" in body:
        return [str(m["content"]) for m in body["messages"] if m["role"] != "system"]  # type: ignore[index, union-attr, attr-defined]
    return [p["text"] for c in body["contents"] for p in c["parts"]]  # type: ignore[index, union-attr, attr-defined]


@pytest.mark.parametrize("make", [openai_ai, gemini_ai], ids=["openai", "gemini"])
async def test_a_thread_continues_across_three_calls(sim: Simulator, make: object) -> None:
    config = config_of(make(sim, "ai", "threaded"))  # type: ignore[operator]
    async with Client(build_server(config)) as client:
        first = await client.call_tool("ask_one", {"ai": "ai", "prompt": "my name is Ada"})
        thread_id = (first.structured_content or {})["thread_id"]
        await client.call_tool("ask_one", {"ai": "ai", "prompt": "I like tea", "thread_id": thread_id})
        third = await client.call_tool("ask_one", {"ai": "ai", "prompt": "what is my name?", "thread_id": thread_id})
    assert (third.structured_content or {})["thread_id"] == thread_id and thread_id in text_of(third)
    turns = user_and_assistant_turns(sim.state.requests("threaded")[2].body)
    assert len(turns) == 5
    assert turns[0] == "my name is Ada" and turns[2] == "I like tea" and turns[4] == "what is my name?"
    assert turns[1].startswith("[threaded] reply to")  # the AI's own earlier answers are in the history


async def test_ask_many_keeps_one_history_per_ai(sim: Simulator) -> None:
    config = config_of(openai_ai(sim, "a", "model-a"), gemini_ai(sim, "b", "model-b"))
    async with Client(build_server(config)) as client:
        first = await client.call_tool("ask_many", {"prompt": "round one"})
        thread_id = (first.structured_content or {})["thread_id"]
        await client.call_tool("ask_many", {"prompt": "round two", "thread_id": thread_id})
        index = await client.read_resource("junior://threads")
        detail = await client.read_resource(f"junior://threads/{thread_id}")
    second_a = user_and_assistant_turns(sim.state.requests("model-a")[1].body)
    assert second_a[0] == "round one" and "[model-a]" in second_a[1] and "[model-b]" not in " ".join(second_a)
    listed = json.loads(index.contents[0].text)  # type: ignore[union-attr]
    assert [(t["id"], t["ais"], t["turns"]) for t in listed] == [(thread_id, ["a", "b"], 4)]  # 2 rounds x 2 AIs
    histories = json.loads(detail.contents[0].text)["histories"]  # type: ignore[union-attr]
    assert [m["content"] for m in histories["b"]][::2] == ["round one", "round two"]


async def test_unknown_thread_is_an_actionable_error(two_ais: object) -> None:
    async with Client(build_server(two_ais)) as client:  # type: ignore[arg-type]
        result = await client.call_tool("ask_one", {"ai": "oai", "prompt": "x", "thread_id": "nope"})
    assert result.is_error and "unknown or expired thread_id 'nope'" in text_of(result)
    assert "Omit thread_id to start a new conversation" in text_of(result)


async def test_threads_expire_and_are_bounded() -> None:
    now = [0.0]
    store = ThreadStore(ttl_s=60, max_threads=2, max_messages=4, clock=lambda: now[0])
    first = store.new()
    await store.add_turn(first, "ai", "q1", "a1")
    await store.add_turn(first, "ai", "q2", "a2")
    await store.add_turn(first, "ai", "q3", "a3")
    assert [m.content for m in first.history("ai")] == ["q2", "a2", "q3", "a3"]  # oldest turn dropped
    store.new()
    store.new()  # a third thread: the least recently used goes
    with pytest.raises(InvalidInputError):
        await store.get(first.id)
    survivor = store.new()
    now[0] = 61
    with pytest.raises(InvalidInputError, match="unknown or expired"):
        await store.get(survivor.id)


async def test_threads_survive_a_restart_with_sqlite(sim: Simulator, tmp_path: Path) -> None:
    settings = Settings(threads_db=str(tmp_path / "threads.sqlite"))
    config = config_of(openai_ai(sim, "ai", "durable")).model_copy(update={"settings": settings})
    async with Client(build_server(config)) as client:
        first = await client.call_tool("ask_one", {"ai": "ai", "prompt": "remember 42"})
    thread_id = (first.structured_content or {})["thread_id"]
    async with Client(build_server(config)) as client:  # a new server process would do the same
        again = await client.call_tool("ask_one", {"ai": "ai", "prompt": "what number?", "thread_id": thread_id})
    assert not again.is_error
    turns = user_and_assistant_turns(sim.state.requests("durable")[1].body)
    assert turns[0] == "remember 42" and turns[-1] == "what number?"
