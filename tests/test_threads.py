"""Conversation threads: continued across calls, expiring, listed as resources, and kept across restarts."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.client import Client

from junior_ai.ai.simulator import Fault, Scenario, Simulator
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
    first = await store.new()
    await store.add_turn(first, "ai", "q1", "a1")
    await store.add_turn(first, "ai", "q2", "a2")
    await store.add_turn(first, "ai", "q3", "a3")
    assert [m.content for m in first.history("ai")] == ["q2", "a2", "q3", "a3"]  # oldest turn dropped
    for _ in range(2):  # two more threads with a turn each: the least recently used goes
        await store.add_turn(await store.new(), "ai", "q", "a")
    with pytest.raises(InvalidInputError):
        await store.get(first.id)
    survivor = await store.new()
    await store.add_turn(survivor, "ai", "q", "a")
    now[0] = 61
    with pytest.raises(InvalidInputError, match="unknown or expired"):
        await store.get(survivor.id)


async def test_threads_that_never_got_an_answer_do_not_push_a_real_one_out() -> None:
    store = ThreadStore(ttl_s=60, max_threads=1, max_messages=4)
    real = await store.new()
    await store.add_turn(real, "ai", "q", "a")
    for _ in range(3):  # calls whose provider failed: a thread was opened, no turn was ever added
        await store.new()
    assert [m.content for m in (await store.get(real.id)).history("ai")] == ["q", "a"]
    assert [s.id for s in await store.summaries()] == [real.id]


async def test_the_thread_id_of_an_ask_many_whose_every_ai_failed_still_continues(sim: Simulator) -> None:
    sim.set_scenario("down", Scenario(fault=Fault(kind="status", status=400)))  # a caller's mistake: no retries
    config = config_of(openai_ai(sim, "a", "down"), openai_ai(sim, "b", "down"))
    async with Client(build_server(config)) as client:
        first = await client.call_tool("ask_many", {"prompt": "anyone?"})
        thread_id = (first.structured_content or {})["thread_id"]
        sim.set_scenario("down", Scenario())
        again = await client.call_tool("ask_one", {"ai": "a", "prompt": "now?", "thread_id": thread_id})
    assert (first.structured_content or {})["ok_count"] == 0
    assert not again.is_error, text_of(again)
    assert (again.structured_content or {})["thread_id"] == thread_id


async def test_a_new_thread_is_stored_by_its_first_turn_or_by_keep() -> None:
    store = ThreadStore(ttl_s=60, max_threads=5, max_messages=4)
    unanswered, answered, kept = await store.new(), await store.new(), await store.new()
    await store.add_turn(answered, "ai", "q", "a")
    await store.keep(kept)
    await store.keep(answered)  # already stored: nothing happens
    with pytest.raises(InvalidInputError):
        await store.get(unanswered.id)
    assert [m.content for m in (await store.get(answered.id)).history("ai")] == ["q", "a"]
    assert (await store.get(kept.id)).histories == {}


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


async def test_two_servers_sharing_one_threads_db_never_lose_a_turn(sim: Simulator, tmp_path: Path) -> None:
    settings = Settings(threads_db=str(tmp_path / "threads.sqlite"))
    config = config_of(openai_ai(sim, "ai", "shared-db")).model_copy(update={"settings": settings})
    async with Client(build_server(config)) as server_a, Client(build_server(config)) as server_b:
        first = await server_a.call_tool("ask_one", {"ai": "ai", "prompt": "turn 1"})
        thread_id = (first.structured_content or {})["thread_id"]
        await server_b.call_tool("ask_one", {"ai": "ai", "prompt": "turn 2", "thread_id": thread_id})
        await server_a.call_tool("ask_one", {"ai": "ai", "prompt": "turn 3", "thread_id": thread_id})
        detail = await server_b.read_resource(f"junior://threads/{thread_id}")
    histories = json.loads(detail.contents[0].text)["histories"]  # type: ignore[union-attr]
    assert [m["content"] for m in histories["ai"]][::2] == ["turn 1", "turn 2", "turn 3"]
    third = user_and_assistant_turns(sim.state.requests("shared-db")[2].body)
    assert third[0] == "turn 1" and third[2] == "turn 2" and third[4] == "turn 3"  # A saw B's turn


async def test_concurrent_turns_from_two_stores_on_one_file_are_all_kept(tmp_path: Path) -> None:
    path = str(tmp_path / "threads.sqlite")
    a = ThreadStore(ttl_s=600, max_threads=10, max_messages=1_000, db_path=path)
    b = ThreadStore(ttl_s=600, max_threads=10, max_messages=1_000, db_path=path)
    thread = await a.new()
    seen_by_b = await b.get(thread.id)
    try:
        async with anyio.create_task_group() as tg:
            for n in range(40):
                tg.start_soon((a if n % 2 else b).add_turn, thread if n % 2 else seen_by_b, "ai", f"q{n}", f"a{n}")
        kept = await a.get(thread.id)
    finally:
        a.close()
        b.close()
    assert sorted(m.content for m in kept.history("ai")[::2]) == sorted(f"q{n}" for n in range(40))


async def test_a_thread_store_that_fails_mid_run_is_reported_before_the_provider_is_called(
    sim: Simulator, tmp_path: Path
) -> None:
    db = tmp_path / "threads.sqlite"
    config = config_of(openai_ai(sim, "ai", "breaks")).model_copy(update={"settings": Settings(threads_db=str(db))})
    async with Client(build_server(config)) as client:
        first = await client.call_tool("ask_one", {"ai": "ai", "prompt": "one"})
        thread_id = (first.structured_content or {})["thread_id"]
        db.write_bytes(b"this is not a database anymore" * 200)  # the file is clobbered under the server
        broken = await client.call_tool("ask_one", {"ai": "ai", "prompt": "two", "thread_id": thread_id})
        fresh = await client.call_tool("ask_one", {"ai": "ai", "prompt": "three"})
    assert broken.is_error and "threads database" in text_of(broken) and "settings.threads_db" in text_of(broken)
    assert fresh.is_error and "threads database" in text_of(fresh)
    assert [r.prompt for r in sim.state.requests("breaks")] == ["one"]  # nothing paid for and then lost


def _directory(tmp_path: Path) -> Path:
    (tmp_path / "a-directory").mkdir()
    return tmp_path / "a-directory"


def _not_a_database(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\n" * 100)
    return path


def _under_a_file(tmp_path: Path) -> Path:
    (tmp_path / "plain-file").write_text("x")
    return tmp_path / "plain-file" / "threads.sqlite"  # its parent is a file: it cannot be created


@pytest.mark.parametrize(
    "make", [_directory, _not_a_database, _under_a_file], ids=["directory", "garbage", "uncreatable"]
)
async def test_an_unusable_threads_db_does_not_crash_the_server_and_the_tools_report_it(
    sim: Simulator, tmp_path: Path, make: Any
) -> None:
    path = make(tmp_path)
    config = config_of(openai_ai(sim, "ai", "no-db")).model_copy(update={"settings": Settings(threads_db=str(path))})
    async with Client(build_server(config)) as client:
        asked = await client.call_tool("ask_one", {"ai": "ai", "prompt": "x"})
        listed = await client.call_tool("list_ais", {})
        with pytest.raises(Exception, match="threads database"):
            await client.read_resource("junior://threads")
    assert asked.is_error and f"The threads database {str(path)!r} cannot be used" in text_of(asked)
    assert not listed.is_error
    assert sim.state.requests("no-db") == []


async def test_threads_written_by_the_earlier_one_document_schema_are_still_read(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE threads (id TEXT PRIMARY KEY, updated_at REAL, data TEXT)")
    document = {
        "id": "0123456789abcdef",
        "created_at": 100.0,
        "updated_at": 200.0,
        "histories": {"ai": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
    }
    old.execute("INSERT INTO threads VALUES (?, ?, ?)", (document["id"], 200.0, json.dumps(document)))
    old.commit()
    old.close()
    store = ThreadStore(ttl_s=1_000, max_threads=10, max_messages=10, db_path=str(path), clock=lambda: 300.0)
    try:
        thread = await store.get("0123456789abcdef")
    finally:
        store.close()
    assert [m.content for m in thread.history("ai")] == ["q", "a"]
