"""Start-up: the server answers at once, imports only what its configuration needs, builds each AI's clients off the
event loop, lets a call wait only for the AI it names, survives a broken SDK, and exits promptly in every phase."""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from anyio import wait_all_tasks_blocked
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream
from mcp.client.client import Client

import junior_ai
from junior_ai.ai import registry as registry_module
from junior_ai.ai.client_build import DEFAULT_FACTORIES, build_openai_compatible
from junior_ai.ai.registry import STARTING_NOTE
from junior_ai.ai.simulator import Simulator
from junior_ai.ai.tls import shared_ssl_context
from junior_ai.core.config import AIConfig
from junior_ai.server.app import build_server
from tests.conftest import GEMINI_KEY, OPENAI_KEY, config_of, gemini_ai, openai_ai
from tests.test_server_stdio import RawSession, initialize, read_all
from tests.test_server_tools import text_of

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / "tests" / "import_hooks"

OFF_THE_STDIO_PATH = (
    "junior_ai.ai.simulator",
    "junior_ai.ai.batch",
    "junior_ai.ai.provider_batch",
    "junior_ai.ai.catalog",
    "junior_ai.tools.batch",
    "junior_ai.tools.collab",
    "junior_ai.server.batch_cli",
    "junior_ai.server.demo",
    "junior_ai.server.doctor",
    "pypdf",
)
"""Modules a first `ask_one` over stdio (or `junior-ai ask`) must not import: each is loaded when first used.
(`jsonschema` too, checked on `junior-ai ask` only: the in-process MCP client of the probe imports it.)"""


SDK = ("openai", "google.genai")


def in_packages(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def off_path(modules: list[str]) -> list[str]:
    """The modules that should not be there, including any of ours for HTTP serving or its auth."""
    http = ("http", "auth")
    return [
        module
        for module in modules
        if in_packages(module, OFF_THE_STDIO_PATH)
        or (module.startswith("junior_ai.") and any(word in module.rsplit(".", 1)[-1] for word in http))
    ]


def credentials(sim: Simulator, path: Path, providers: tuple[str, ...]) -> Path:
    entries: dict[str, Any] = {}
    if "openai" in providers:
        entries["oai"] = {
            "provider": "openai_compatible",
            "model": "start-oai",
            "api_key": OPENAI_KEY,
            "base_url": sim.openai_base_url,
        }
    if "gemini" in providers:
        entries["gem"] = {
            "provider": "gemini",
            "model": "start-gem",
            "api_key": GEMINI_KEY,
            "base_url": sim.gemini_base_url,
        }
    path.write_text(json.dumps(entries), encoding="utf-8")
    path.chmod(0o600)
    return path


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "JUNIOR_AI_CREDENTIALS"}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


# In-process: the client factories are replaced by gated ones, so each phase is reached on purpose.


class Gate:
    """A build that starts, then waits for the test to let it finish."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    async def wait_entered(self) -> None:
        assert await anyio.to_thread.run_sync(self.entered.wait, 60), "the build never started"

    def factory(self, inner: Any) -> Any:
        def build(config: AIConfig) -> Any:
            self.entered.set()
            self.release.wait()
            return inner(config)

        return build


async def test_a_call_that_arrives_before_its_ais_clients_are_built_waits_for_them(sim: Simulator) -> None:
    gate = Gate()
    factories = {**DEFAULT_FACTORIES, "openai_compatible": gate.factory(build_openai_compatible)}
    server = build_server(config_of(openai_ai(sim, "oai", "early-bird")), factories=factories)
    outcome: dict[str, Any] = {}
    try:
        async with Client(server) as client:
            await gate.wait_entered()

            async def ask() -> None:
                outcome["result"] = await client.call_tool("ask_one", {"ai": "oai", "prompt": "hello"})

            async with anyio.create_task_group() as tg:
                tg.start_soon(ask)
                await wait_all_tasks_blocked()
                assert "result" not in outcome  # neither answered nor failed: waiting for the build
                gate.release.set()
    finally:
        gate.release.set()
    assert not outcome["result"].is_error, text_of(outcome["result"])
    assert "hello" in text_of(outcome["result"])


@pytest.mark.parametrize("stuck_first", [True, False], ids=["stuck-ai-configured-first", "stuck-ai-configured-last"])
async def test_a_call_to_one_ai_is_answered_while_another_ais_clients_are_still_being_built(
    sim: Simulator, stuck_first: bool
) -> None:
    gate = Gate()
    factories = {**DEFAULT_FACTORIES, "gemini": gate.factory(DEFAULT_FACTORIES["gemini"])}
    stuck, free = gemini_ai(sim, "gem", "stuck-model"), openai_ai(sim, "oai", "free-model")
    config = config_of(stuck, free) if stuck_first else config_of(free, stuck)
    try:
        async with Client(build_server(config, factories=factories)) as client:
            await gate.wait_entered()
            with anyio.fail_after(60):
                result = await client.call_tool("ask_one", {"ai": "oai", "prompt": "not waiting for gem"})
            assert not result.is_error, text_of(result)
            assert not gate.release.is_set()  # gem's build was still held while oai answered
    finally:
        gate.release.set()


async def test_a_call_whose_ais_sdk_never_finishes_loading_times_out_after_that_ais_timeout(sim: Simulator) -> None:
    gate = Gate()
    factories = {**DEFAULT_FACTORIES, "openai_compatible": gate.factory(build_openai_compatible)}
    server = build_server(config_of(openai_ai(sim, "oai", "never-ready", timeout_s=0.3)), factories=factories)
    try:
        async with Client(server) as client:
            result = await client.call_tool("ask_one", {"ai": "oai", "prompt": "hello"})
    finally:
        gate.release.set()
    assert result.is_error
    assert "timeout from oai" in text_of(result) and "still starting after 0.3 s" in text_of(result)


async def test_reports_and_fan_outs_do_not_hang_on_an_ai_whose_sdk_never_finishes_loading(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_module, "REPORT_WAIT_S", 0.2)
    gate = Gate()
    factories = {**DEFAULT_FACTORIES, "gemini": gate.factory(DEFAULT_FACTORIES["gemini"])}
    config = config_of(gemini_ai(sim, "gem", "hung-import", timeout_s=0.3), openai_ai(sim, "oai", "fine"))
    try:
        async with Client(build_server(config, factories=factories)) as client:
            listed = await client.call_tool("list_ais", {})
            many = await client.call_tool("ask_many", {"prompt": "everyone"})
    finally:
        gate.release.set()
    gem = next(ai for ai in (listed.structured_content or {})["ais"] if ai["name"] == "gem")
    assert gem["initialized"] is False and gem["init_error"] == STARTING_NOTE
    statuses = {r["ai"]: r["status"] for r in (many.structured_content or {})["results"]}
    assert statuses == {"gem": "timeout", "oai": "ok"}


async def test_a_broken_sdk_import_is_one_ais_clear_error_and_the_others_work(sim: Simulator) -> None:
    def broken_gemini(config: AIConfig) -> Any:
        raise ModuleNotFoundError("No module named 'google.genai'", name="google.genai")

    factories = {**DEFAULT_FACTORIES, "gemini": broken_gemini}
    config = config_of(gemini_ai(sim, "gem", "never-built"), openai_ai(sim, "oai", "still-works"))
    async with Client(build_server(config, factories=factories)) as client:
        listed = await client.call_tool("list_ais", {})
        failed = await client.call_tool("ask_one", {"ai": "gem", "prompt": "hello"})
        working = await client.call_tool("ask_one", {"ai": "oai", "prompt": "hello"})
        many = await client.call_tool("ask_many", {"prompt": "everyone"})
    gem = next(ai for ai in (listed.structured_content or {})["ais"] if ai["name"] == "gem")
    assert gem["initialized"] is False
    assert "google-genai package could not be imported" in gem["init_error"]
    assert "pip install --force-reinstall 'google-genai'" in gem["init_error"]
    assert failed.is_error
    assert "gem could not be initialized" in text_of(failed) and "google-genai" in text_of(failed)
    assert not working.is_error
    assert [r["ai"] for r in (many.structured_content or {})["results"]] == ["oai"]  # "every ready AI"


class CloseSpy:
    """A real client that says when it was closed."""

    def __init__(self, client: Any, closed: threading.Event) -> None:
        self._client = client
        self._closed = closed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def aclose(self) -> None:
        await self._client.aclose()
        self._closed.set()


async def test_a_shutdown_during_start_up_does_not_wait_for_a_build_and_its_client_is_closed_later(
    sim: Simulator,
) -> None:
    gate, closed = Gate(), threading.Event()
    factories = {
        **DEFAULT_FACTORIES,
        "openai_compatible": gate.factory(lambda config: CloseSpy(build_openai_compatible(config), closed)),
    }
    server = build_server(config_of(openai_ai(sim, "oai", "late")), factories=factories)
    try:
        with anyio.fail_after(60):  # a hang guard: with the build held, only a shutdown that does not wait ends
            async with Client(server) as client:
                await gate.wait_entered()
                assert (await client.list_tools()).tools
        # The session and the lifespan have ended while the build was still held.
        assert not closed.is_set()
        gate.release.set()
        assert await anyio.to_thread.run_sync(closed.wait, 60), "the client built after shutdown was left open"
    finally:
        gate.release.set()


# A fresh interpreter (tests/startup_probe.py): real SDK imports, real factories, the server in-process.


def run_probe(path: Path, ai: str, *flags: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.startup_probe", str(path), ai, *flags],
        cwd=ROOT,
        env=clean_env(JUNIOR_AI_LOG_LEVEL="WARNING"),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,  # a hang guard only
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.mark.parametrize(("provider", "ai"), [("openai", "oai"), ("gemini", "gem")])
def test_sdk_imports_run_off_the_event_loop_which_answers_initialize_and_keeps_ticking_meanwhile(
    sim: Simulator, tmp_path: Path, provider: str, ai: str
) -> None:
    report = run_probe(credentials(sim, tmp_path / "c.json", (provider,)), ai, "--gate")
    assert not report["gate_timed_out"], "the event loop could not tick while the SDK was being imported"
    record, loop_thread = report["record"], report["loop_thread"]
    imports = [event for event in record if event["event"] == "import" and in_packages(event["module"], SDK)]
    assert len(imports) > 10  # the SDK really was imported here, by the server's build
    assert {event["thread"] for event in imports}.isdisjoint({loop_thread})
    # Nor does the first call load an SDK's lazily imported parts (resources, transports) on the loop.
    after_initialize = record[next(i for i, event in enumerate(record) if event["event"] == "initialized") :]
    on_loop = [e["module"] for e in after_initialize if e["event"] == "import" and e["thread"] == loop_thread]
    assert not [module for module in on_loop if in_packages(module, (*SDK, "httpx2", "httpcore2"))]
    events = [event["event"] for event in record if event["event"] != "import"]
    assert events == ["initialized", "gate_opened", "answered"]
    gate_opened = next(event["ticks"] for event in record if event["event"] == "gate_opened")
    # The SDK's own code ran after the gate opened; the loop ticked while it ran (it was never blocked for the
    # whole import), and the GIL hands the loop a turn at least every switch interval.
    assert imports[-1]["ticks"] > gate_opened
    assert record[-1]["error"] is False
    assert report["switch_interval_s"] <= 0.005


@pytest.mark.parametrize(
    ("providers", "ai", "absent"),
    [
        (("openai",), "oai", ["google.genai"]),
        (("gemini",), "gem", ["openai"]),
        (("openai", "gemini"), "oai", []),
    ],
    ids=["openai-only", "gemini-only", "mixed"],
)
def test_serving_imports_only_the_sdks_the_configuration_names_and_nothing_off_the_stdio_path(
    sim: Simulator, tmp_path: Path, providers: tuple[str, ...], ai: str, absent: list[str]
) -> None:
    report = run_probe(credentials(sim, tmp_path / "c.json", providers), ai)
    modules = report["modules"]
    answered = report["record"][-1]
    assert answered["event"] == "answered" and not answered["error"]
    assert not [module for module in modules if in_packages(module, tuple(absent))]
    assert off_path(modules) == []


@pytest.mark.parametrize(("ai", "absent"), [("oai", "google.genai"), ("gem", "openai")])
def test_junior_ai_ask_imports_only_the_sdk_of_the_ai_it_asks(
    sim: Simulator, tmp_path: Path, ai: str, absent: str
) -> None:
    path = credentials(sim, tmp_path / "c.json", ("openai", "gemini"))
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "junior_ai", "--credentials", str(path), "ask", "--ai", ai, "hi"],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "hi" in done.stdout
    imported = [line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert not [module for module in imported if in_packages(module, (absent,))]
    assert off_path(imported) == []
    assert "jsonschema" not in imported  # loaded only for a call that brings a json_schema


def test_the_version_is_written_once_and_is_what_the_installed_package_reports() -> None:
    assert junior_ai.__version__ == importlib.metadata.version("junior-ai")


# The real `junior-ai serve` over stdio, with an SDK import made to hang or fail (tests/import_hooks).


async def start_with_import_hook(path: Path, hook: str) -> Process:
    env = clean_env(JUNIOR_AI_LOG_LEVEL="INFO", PYTHONPATH=str(HOOKS), JUNIOR_AI_TEST_IMPORT_HOOK=hook)
    return await anyio.open_process(
        [sys.executable, "-m", "junior_ai", "--credentials", str(path), "serve"],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )


async def wait_for_line(stream: BufferedByteReceiveStream, marker: str) -> None:
    while marker not in (await stream.receive_until(b"\n", 1_000_000)).decode():
        pass


async def call(session: RawSession, ai: str) -> dict[str, Any]:
    return await session.request("tools/call", {"name": "ask_one", "arguments": {"ai": ai, "prompt": "hi"}})


@pytest.mark.parametrize("phase", ["sdk-importing", "call-waiting-for-it"])
async def test_a_shutdown_while_an_sdk_import_hangs_exits_within_two_seconds(
    sim: Simulator, tmp_path: Path, phase: str
) -> None:
    path = credentials(sim, tmp_path / "c.json", ("openai", "gemini"))
    process = await start_with_import_hook(path, "block:openai")
    async with process:
        assert process.stderr is not None
        stderr = BufferedByteReceiveStream(process.stderr)
        session = RawSession(process)
        with anyio.fail_after(60):
            await initialize(session)
            await wait_for_line(stderr, "import-hook: blocking openai")
            if phase == "call-waiting-for-it":
                await session.send(
                    {
                        "jsonrpc": "2.0",
                        "id": 1000,
                        "method": "tools/call",
                        "params": {"name": "ask_one", "arguments": {"ai": "oai", "prompt": "waits"}},
                    }
                )
                # Requests are taken in order: once gem's answer is back, oai's call is in progress, waiting.
                reply = await call(session, "gem")
                assert "error" not in reply and not reply["result"].get("isError"), reply
        process.send_signal(signal.SIGTERM)
        with anyio.fail_after(2):
            code = await process.wait()
        rest = (await read_all(stderr)).decode()
    assert code == 0
    assert "ai_clients_closed" in rest


async def test_over_stdio_one_ai_answers_while_another_ais_sdk_import_hangs_and_stdin_eof_still_exits(
    sim: Simulator, tmp_path: Path
) -> None:
    path = credentials(sim, tmp_path / "c.json", ("openai", "gemini"))
    process = await start_with_import_hook(path, "block:openai")
    async with process:
        assert process.stderr is not None and process.stdin is not None
        stderr = BufferedByteReceiveStream(process.stderr)
        session = RawSession(process)
        with anyio.fail_after(60):
            await initialize(session)
            await wait_for_line(stderr, "import-hook: blocking openai")
            reply = await call(session, "gem")
        assert not reply["result"].get("isError"), reply
        await process.stdin.aclose()
        with anyio.fail_after(2):
            code = await process.wait()
    assert code == 0


async def test_over_stdio_a_broken_sdk_installation_is_one_ais_error_not_a_dead_server(
    sim: Simulator, tmp_path: Path
) -> None:
    path = credentials(sim, tmp_path / "c.json", ("openai", "gemini"))
    process = await start_with_import_hook(path, "fail:google.genai")
    async with process:
        assert process.stdin is not None and process.stderr is not None
        session = RawSession(process)
        with anyio.fail_after(60):
            await initialize(session)
            broken = await call(session, "gem")
            working = await call(session, "oai")
        await process.stdin.aclose()
        with anyio.fail_after(2):
            code = await process.wait()
        stderr = (await read_all(process.stderr)).decode()
    assert broken["result"]["isError"]
    text = broken["result"]["content"][0]["text"]
    assert "google-genai package could not be imported" in text and "simulated broken installation" in text
    assert not working["result"].get("isError"), working
    assert code == 0
    assert "ai_init_failed" in stderr


def test_every_client_shares_one_tls_context_that_still_verifies_certificates() -> None:
    context = shared_ssl_context()
    assert shared_ssl_context() is context
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
