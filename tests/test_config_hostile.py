"""Configuration files that used to kill the server: each is now a configuration error that names the problem and
the fix, and the server still starts and reports it from every tool."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from mcp.client.client import Client

from junior_ai.ai.registry import initialize_all_clients_async
from junior_ai.ai.simulator import Simulator
from junior_ai.core.config import JuniorConfig, Settings, load_config
from junior_ai.core.errors import ConfigError
from junior_ai.server.app import build_server
from junior_ai.server.cli import load_or_report
from junior_ai.tools.collab.stages import check_judge
from tests.conftest import openai_ai

GOOD_ENTRY = '{"provider": "openai_compatible", "model": "m", "base_url": "http://127.0.0.1:9/v1"}'


def credentials(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "credentials.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"local": {"api_key": "caf\xe9-key", "model": "m"}}', "not valid UTF-8"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"settings": {"result_store_mb": 1e308}}', "result_store_mb"),
        ('{"settings": {"result_ttl_s": 1e308}}', "result_ttl_s"),
        ('{"settings": {"max_threads": 1' + "0" * 400 + "}}", "max_threads"),
        ('{"settings": {"result_store_mb": Infinity}}', "Infinity is not a finite number"),
        ('{"settings": {"deadline_s": NaN}}', "NaN is not a finite number"),
        ('{"settings": {"models_ttl_s": 1e999}}', "1e999 is not a finite number"),
        ('{"settings": {"prices": {"m": {"input_per_million": 1e308, "output_per_million": 1}}}}', "prices"),
        ('{"local": ' + GOOD_ENTRY + ', "local": ' + GOOD_ENTRY + "}", "'local' appears more than once"),
        ('{"settings": {"max_threads": 1' + "0" * 5000 + "}}", "cannot be read"),
    ],
    ids=[
        "not-utf8",
        "deep-nesting",
        "store-1e308",
        "ttl-1e308",
        "huge-int",
        "infinity",
        "nan",
        "overflow-to-inf",
        "price-1e308",
        "duplicate-ai",
        "5000-digit-int",
    ],
)
async def test_a_hostile_configuration_is_a_reported_error_and_the_server_still_starts(
    tmp_path: Path, content: str | bytes, expected: str
) -> None:
    config, error = load_or_report(str(credentials(tmp_path, content)))
    assert error is not None and expected in error, error
    assert "Fix:" in error
    async with Client(build_server(config, config_error=error)) as client:
        listed = await client.call_tool("list_ais", {})
        asked = await client.call_tool("ask_one", {"ai": "local", "prompt": "hi"})
    assert (listed.structured_content or {}).get("config_error") == error
    assert asked.is_error and expected in asked.content[0].text  # type: ignore[union-attr]


def test_a_credentials_path_that_is_a_directory_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory, not a file"):
        load_config(str(tmp_path), env={})


def test_a_credentials_symlink_loop_says_so(tmp_path: Path) -> None:
    loop = tmp_path / "credentials.json"
    os.symlink(loop, loop)
    with pytest.raises(ConfigError, match="loops back on itself"):
        load_config(str(loop), env={})


def test_a_missing_credentials_file_still_says_it_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="which does not exist"):
        load_config(str(tmp_path / "nope.json"), env={})


def with_judge(tmp_path: Path, judge: str) -> Path:
    return credentials(
        tmp_path,
        json.dumps(
            {
                "local": json.loads(GOOD_ENTRY),
                "aliases": {"fast": "local:small"},
                "settings": {"judge": judge},
            }
        ),
    )


@pytest.mark.parametrize("judge", ["local", "fast", "local:big"])
def test_settings_judge_accepts_an_ai_an_alias_or_ai_model(tmp_path: Path, judge: str) -> None:
    assert load_config(str(with_judge(tmp_path, judge)), env={}).settings.judge == judge


def test_an_unknown_settings_judge_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"settings.judge.*'lokal'.*Did you mean 'local'"):
        load_config(str(with_judge(tmp_path, "lokal")), env={})


@pytest.mark.parametrize("judge", ["fast", "oai:other-model"])
async def test_a_configured_judge_given_as_alias_or_ai_model_is_the_judge_consensus_prefers(
    sim: Simulator, judge: str
) -> None:
    config = JuniorConfig(
        ais=(openai_ai(sim, "oai", "m"),), settings=Settings(judge=judge), aliases={"fast": "oai:small"}
    )
    registry = await initialize_all_clients_async(config)
    try:
        assert check_judge(registry, None) == judge
    finally:
        await registry.aclose()
