"""Every secret-bearing part of the configuration (api key, URL userinfo, URL query values) stays out of every
tool result, resource, log line (default level and httpx DEBUG), CLI output and file Junior AI writes; the files
Junior AI creates are readable by their owner only."""

from __future__ import annotations

import io
import json
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.client.client import Client

from junior_ai.ai.registry import initialize_all_clients_async
from junior_ai.ai.simulator import Simulator
from junior_ai.core.config import load_config
from junior_ai.core.log import configure_logging
from junior_ai.core.private_files import write_private_text
from junior_ai.core.redact import redact
from junior_ai.server.app import build_server
from junior_ai.server.batch_cli import run_batch
from junior_ai.server.cli import load_or_report
from junior_ai.tools.threads import ThreadStore
from tests.conftest import config_of, openai_ai, run_junior_ai

PASSWORD = "hunter2-url-password-913"
TOKEN = "tok-query-secret-5521"
USER = "alice-url-user"


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    configure_logging("DEBUG", stream=buffer, json=True)
    yield buffer
    configure_logging("INFO", json=True)


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound, never listening) for the whole test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def write_credentials(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "credentials.json"
    path.write_text(
        json.dumps(
            {
                "userinfo": {
                    "provider": "openai_compatible",
                    "model": "m",
                    "base_url": f"http://{USER}:{PASSWORD}@127.0.0.1:{port}/v1",
                },
                "query": {
                    "provider": "openai_compatible",
                    "model": "m",
                    "base_url": f"http://127.0.0.1:{port}/v1?token={TOKEN}",
                },
                "settings": {"max_attempts": 1, "cache_dir": str(tmp_path / "cache"), "stream": False},
            }
        )
    )
    path.chmod(0o600)
    return path


def assert_clean(text: str) -> None:
    assert PASSWORD not in text and TOKEN not in text and USER not in text


async def test_url_passwords_and_query_tokens_never_reach_results_logs_or_the_model_cache(
    tmp_path: Path, refusing_port: int, log_output: io.StringIO
) -> None:
    config = load_config(str(write_credentials(tmp_path, refusing_port)))
    seen: list[str] = []
    async with Client(build_server(config)) as client:
        for ai in ("userinfo", "query"):
            one = await client.call_tool("ask_one", {"ai": ai, "prompt": "hi"})
            assert one.is_error
            seen.append(one.model_dump_json())
        seen.append((await client.call_tool("ask_many", {"prompt": "hi"})).model_dump_json())
        batch = await client.call_tool("ask_batch", {"template": "x {item}", "items": ["a"], "ais": ["userinfo"]})
        seen.append(batch.model_dump_json())
        uri = (batch.structured_content or {})["results_uri"]
        lines = (await client.read_resource(uri)).contents[0].text  # type: ignore[union-attr]
        assert "could not reach userinfo" in lines
        seen.append(lines)
        listed = await client.call_tool("list_ais", {"models": True, "refresh": True})
        seen.append(listed.model_dump_json())
    seen.append(log_output.getvalue())
    everything = "\n".join(seen)
    assert "could not reach userinfo" in everything  # the errors are there, minus the secrets
    assert "model_listing_failed" in everything
    assert_clean(everything)
    cache = tmp_path / "cache" / "models.json"
    if cache.exists():
        assert_clean(cache.read_text())


async def test_batch_out_files_carry_no_url_secret_and_are_owner_only(tmp_path: Path, refusing_port: int) -> None:
    config = load_config(str(write_credentials(tmp_path, refusing_port)))
    items = tmp_path / "items.txt"
    items.write_text("one\ntwo\n")
    out = tmp_path / "out.jsonl"
    progress = io.StringIO()
    code = await run_batch(
        config,
        template="Say {item}",
        items_path=items,
        ai="userinfo",
        out=out,
        max_concurrency=None,
        timeout_s=5,
        max_input_tokens=None,
        progress_stream=progress,
    )
    assert code == 1
    text = out.read_text()
    assert "could not reach userinfo" in text
    assert_clean(text + progress.getvalue())
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_a_key_pasted_into_base_url_is_not_echoed_by_the_config_error(tmp_path: Path) -> None:
    pasted = "my-pasted-secret-key-4471"
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({"local": {"provider": "openai_compatible", "model": "m", "base_url": pasted}}))
    _config, error = load_or_report(str(path))
    assert error is not None and "base_url" in error and "not an http(s) URL" in error
    assert pasted not in error
    assert pasted not in redact(f"anything that echoes {pasted}")


async def test_config_errors_are_redacted_in_list_ais_and_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    # A valid URL with a password, but an unknown field: the error must not show the password anywhere.
    path.write_text(
        json.dumps(
            {
                "local": {
                    "provider": "openai_compatible",
                    "model": "m",
                    "base_url": f"ftp://{USER}:{PASSWORD}@example.invalid/v1?token={TOKEN}",
                }
            }
        )
    )
    path.chmod(0o600)
    config, error = load_or_report(str(path))
    assert error is not None
    async with Client(build_server(config, config_error=error)) as client:
        listed = await client.call_tool("list_ais", {})
        asked = await client.call_tool("ask_one", {"ai": "local", "prompt": "hi"})
    assert "configuration" in listed.model_dump_json().lower()
    assert_clean(listed.model_dump_json() + asked.model_dump_json())
    for command in (["doctor"], ["ask", "hi"], ["batch", "--template", "{item}", "--items", str(path), "--ai", "x"]):
        result = run_junior_ai("--credentials", str(path), *command)
        assert result.returncode != 0
        assert "base_url" in result.stderr + result.stdout
        assert_clean(result.stderr + result.stdout)


async def test_files_junior_ai_creates_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        store = ThreadStore(ttl_s=60, max_threads=5, max_messages=10, db_path=str(tmp_path / "threads.db"))
        thread = await store.new()
        await store.add_turn(thread, "ai", "question", "answer")  # the database is created on first use
        store.close()
        write_private_text(tmp_path / "out.jsonl.job", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "threads.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "out.jsonl.job").stat().st_mode) == 0o600


async def test_the_model_cache_file_and_httpx_debug_lines_keep_no_url_password(
    sim: Simulator, tmp_path: Path, log_output: io.StringIO
) -> None:
    url = sim.openai_base_url.replace("http://", f"http://{USER}:{PASSWORD}@")
    registry = await initialize_all_clients_async(
        config_of(openai_ai(sim, "o", "m", base_url=url), cache_dir=str(tmp_path))
    )
    try:
        listing = await registry.catalog.listing(registry.get("o"), refresh=True)
        assert listing.source == "provider"
        assert registry.catalog.fresh(registry.get("o")) is not None  # the redacted URL still matches its entry
    finally:
        await registry.aclose()
    logged = log_output.getvalue()
    assert "HTTP Request: GET" in logged  # the SDK's DEBUG line with the request URL...
    assert_clean(logged)  # ...without the password in it
    cache = tmp_path / "models.json"
    assert "sim-fast" in cache.read_text()
    assert_clean(cache.read_text())
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600


def test_header_values_in_an_entry_are_registered_before_validation(tmp_path: Path) -> None:
    header_secret = "hdr-secret-value-8812"
    path = tmp_path / "credentials.json"
    entry = {"provider": "openai_compatible", "model": "m", "base_url": "http://127.0.0.1:9/v1"}
    path.write_text(json.dumps({"local": entry | {"headers": {"X-Api-Key": header_secret}}}))
    _config, error = load_or_report(str(path))
    assert error is not None and "headers" in error  # not a supported field (yet): a configuration error...
    assert header_secret not in error
    assert header_secret not in redact(f"echoed: {header_secret}")  # ...whose value is a registered secret anyway


def test_junior_ai_ask_and_doctor_print_provider_errors_without_url_secrets(tmp_path: Path, refusing_port: int) -> None:
    path = write_credentials(tmp_path, refusing_port)
    for command in (["ask", "--ai", "userinfo", "hi"], ["ask", "--all", "hi"], ["doctor", "--timeout", "5"]):
        result = run_junior_ai("--credentials", str(path), *command)
        assert result.returncode != 0
        assert "could not reach" in result.stdout + result.stderr
        assert_clean(result.stdout + result.stderr)
