"""The blocking SyncJuniorAI (also inside a running event loop, as in Jupyter), the default-instance entry points,
and the public API as a downstream `mypy --strict` user sees it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

import junior_ai
from junior_ai import (
    InvalidInputError,
    InvalidOutputError,
    JuniorAI,
    MapProgress,
    SyncJuniorAI,
    call_ai_async,
    cleanup_async_ai_clients,
    initialize_all_clients_async,
)
from junior_ai.ai.simulator import Scenario, Simulator
from junior_ai.core.config import JuniorConfig
from tests.conftest import ROOT, config_of, openai_ai

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}


def test_sync_twin_asks_streams_and_maps_from_plain_code(sim: Simulator, two_ais: JuniorConfig) -> None:
    sim.set_scenario("oai-model", Scenario(replies=("one two three",), chunk_count=3))
    progress: list[MapProgress] = []
    with SyncJuniorAI.from_config(two_ais) as jr:
        assert jr.ask("gem", "hi").text.startswith("[gem-model]")
        assert jr.ask("gem", "rate", json_schema=SCHEMA).data == {"answer": "simulated"}
        stream = jr.stream("oai", "Write a haiku")
        assert "".join(stream) == "one two three"
        assert stream.answer is not None and stream.answer.usage.total_tokens > 0
        results = list(jr.map("Summarise: {item}", range(10), ai="gem", ordered=True, progress=progress.append))
        assert [r.index for r in results] == list(range(10)) and all(r.ok for r in results)
        assert progress[-1].done == 10 and progress[-1].total == 10
        many = jr.ask_many("Review", ais=["oai", "gem"])
        assert many.ok_count == 2
    with pytest.raises(InvalidInputError, match="closed"):
        jr.ask("gem", "again")


def test_sync_errors_are_the_same_exceptions(sim: Simulator) -> None:
    sim.set_scenario("bad", Scenario(replies=("no json here",)))
    with SyncJuniorAI.from_config(config_of(openai_ai(sim, "oai", "bad"))) as jr:
        with pytest.raises(ValueError, match="unknown AI"):
            jr.ask("nope", "hi")
        with pytest.raises(InvalidOutputError) as caught:
            jr.ask("oai", "rate", json_schema=SCHEMA)
    assert caught.value.text == "no json here"


async def test_sync_twin_works_inside_a_running_event_loop_like_jupyter(sim: Simulator, two_ais: JuniorConfig) -> None:
    # This test body runs on an event loop, as a notebook cell does: the blocking calls must not need it.
    jr = SyncJuniorAI.from_config(two_ais)
    try:
        assert jr.ask("oai", "hi").text.startswith("[oai-model]")
        assert len(list(jr.map("{item}", ["a", "b", "c"], ai="oai"))) == 3
        assert "".join(jr.stream("gem", "hi"))
    finally:
        jr.close()
    jr.close()  # twice is harmless


def test_leaving_a_sync_stream_early_closes_the_provider_request(sim: Simulator) -> None:
    sim.set_scenario("long", Scenario(replies=("word " * 2000,), chunk_count=400, chunk_delay_s=0.01))
    with SyncJuniorAI.from_config(config_of(openai_ai(sim, "oai", "long"))) as jr:
        for _piece in jr.stream("oai", "Write a lot"):
            break
        closed = sim.state.wait_for(lambda s: s.requests("long")[0].outcome == "disconnected", timeout=30)
    assert closed and sim.state.requests("long")[0].chunks_sent < 400


async def test_default_instance_entry_points(sim: Simulator, two_ais: JuniorConfig) -> None:
    instance = await initialize_all_clients_async(two_ais)
    try:
        assert isinstance(instance, JuniorAI)
        answer = await call_ai_async("oai", "hello", temperature=0.2)
        assert answer.text.startswith("[oai-model]")
        assert sim.state.requests("oai-model")[-1].body["temperature"] == 0.2
    finally:
        await cleanup_async_ai_clients()
    await cleanup_async_ai_clients()  # twice is harmless


def test_importing_the_package_does_not_load_the_library_or_the_sdks() -> None:
    code = (
        "import sys, junior_ai; "
        "print(sorted(m for m in ('junior_ai.api', 'openai', 'google.genai', 'jsonschema') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert set(junior_ai.__all__) >= {"JuniorAI", "SyncJuniorAI", "JuniorAIError", "call_ai_async"}
    for name in junior_ai.__all__:
        assert getattr(junior_ai, name) is not None


def test_a_downstream_script_using_the_api_type_checks_with_mypy_strict(tmp_path: Path) -> None:
    script = tmp_path / "downstream.py"
    script.write_text(
        textwrap.dedent(
            """
            from __future__ import annotations

            import asyncio
            from typing import Any

            from junior_ai import (
                Answer, ItemResult, JuniorAI, JuniorAIError, MapProgress, ProviderTimeoutError, RateLimitedError,
                SyncJuniorAI, call_ai_async,
            )


            def show(progress: MapProgress) -> None:
                eta: float | None = progress.eta_s
                print(progress.done, progress.total, progress.rate_per_s, eta)


            async def main() -> None:
                schema: dict[str, Any] = {"type": "object", "properties": {"a": {"type": "string"}}}
                async with JuniorAI.from_config({"settings": {}}) as jr:
                    answer: Answer = await jr.ask("gemini", "hi", temperature=0.1, json_schema=schema)
                    data: Any = answer.data
                    cost: float | None = answer.cost_usd
                    tokens: int = answer.usage.total_tokens
                    many = await jr.ask_many("hi", ais=["a", "b"], deadline_s=30)
                    for result in many.results:
                        status: str = result.status
                    async for piece in jr.stream("openai", "haiku", restart_ok=True):
                        text: str = piece
                    async for item in jr.map("{item}", ["x"], ai="fast", max_concurrency=16, progress=show):
                        index: int = item.index
                        waited: float = item.queue_wait_ms + item.call_ms
                    verdict = await jr.consensus("Postgres or SQLite?", ais=["a", "b"])
                    print(verdict.answer, data, cost, tokens, status, text, index, waited)
                try:
                    await call_ai_async("gemini", "hi")
                except ProviderTimeoutError as timeout:
                    print(timeout.ai)
                except RateLimitedError as limited:
                    wait: float | None = limited.retry_after_s
                    print(wait)
                except JuniorAIError:
                    pass


            def blocking() -> list[ItemResult]:
                with SyncJuniorAI.from_config() as jr:
                    print(jr.ask("gemini", "hi").text)
                    for piece in jr.stream("gemini", "hi"):
                        print(piece)
                    return list(jr.map("{item}", range(3), ai="gemini", ordered=True))


            asyncio.run(main())
            """
        ),
        encoding="utf-8",
    )
    mypy = Path(sys.executable).with_name("mypy")
    # The editable install is an import hook mypy cannot follow; MYPYPATH shows it the package as a wheel would.
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    checked = subprocess.run(
        [str(mypy), "--strict", "--cache-dir", str(tmp_path / "cache"), str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # ...and a mistake is caught, so the check above means something.
    script.write_text("from junior_ai import JuniorAI\nx: int = JuniorAI.from_config().ais\n", encoding="utf-8")
    wrong = subprocess.run(
        [str(mypy), "--strict", "--cache-dir", str(tmp_path / "cache"), str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert wrong.returncode == 1 and "incompatible types" in wrong.stdout.lower()


async def test_the_sync_twin_can_be_used_from_worker_threads_at_once(sim: Simulator, two_ais: JuniorConfig) -> None:
    with SyncJuniorAI.from_config(two_ais) as jr:
        texts: list[str] = []

        def ask(i: int) -> None:
            texts.append(jr.ask("oai", f"question {i}").text)

        async with anyio.create_task_group() as tg:
            for i in range(8):
                tg.start_soon(anyio.to_thread.run_sync, ask, i)
    assert len(texts) == 8


def test_a_script_that_never_closes_its_sync_instance_still_exits(sim: Simulator, tmp_path: Path) -> None:
    script = tmp_path / "careless.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from junior_ai import SyncJuniorAI

            jr = SyncJuniorAI.from_config(
                {{"oai": {{"provider": "openai_compatible", "base_url": "{sim.openai_base_url}", "model": "m", "api_key": "k"}}}}
            )
            print(jr.ask("oai", "hi").text)
            """
        ),
        encoding="utf-8",
    )
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("[m] reply to") and ran.stdout.count("\n") == 1  # logs go to stderr, not stdout
