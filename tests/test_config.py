"""Configuration: lookup order, presets, environment overrides, and errors that name the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from junior_ai.core.config import load_config
from junior_ai.core.errors import ConfigError

KEY = "sk-config-test-key-0123456789abcdef"


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    path.chmod(0o600)
    return path


def load(tmp_path: Path, data: Any = None, env: dict[str, str] | None = None, **kwargs: Any):  # type: ignore[no-untyped-def]
    if data is not None:
        write(tmp_path / "credentials.json", data)
    return load_config(env=env or {}, cwd=tmp_path, home=tmp_path / "home", **kwargs)


def test_known_names_get_their_preset_provider_url_and_model(tmp_path: Path) -> None:
    config = load(tmp_path, {"grok": {"api_key": KEY}, "ollama": {}})
    grok, ollama = config.get("grok"), config.get("ollama")
    assert grok is not None and ollama is not None
    assert (grok.provider, grok.base_url, grok.model) == ("openai_compatible", "https://api.x.ai/v1", "grok-3")
    assert ollama.api_key is None and ollama.base_url == "http://localhost:11434/v1"


def test_custom_name_needs_provider_and_base_url(tmp_path: Path) -> None:
    config = load(
        tmp_path, {"my-vllm": {"provider": "openai_compatible", "base_url": "http://h:8000/v1", "model": "qwen"}}
    )
    ai = config.get("my-vllm")
    assert ai is not None and ai.provider == "openai_compatible" and ai.api_key is None

    with pytest.raises(ConfigError, match=r"'my-vllm' is not a known name.*\"provider\""):
        load(tmp_path, {"my-vllm": {"model": "x"}})


def test_lookup_order_explicit_then_cwd_then_home(tmp_path: Path) -> None:
    home_file = tmp_path / "home" / ".config" / "junior-ai" / "credentials.json"
    home_file.parent.mkdir(parents=True)
    write(home_file, {"openai": {"api_key": KEY, "model": "from-home"}})
    assert load(tmp_path).get("openai").model == "from-home"  # type: ignore[union-attr]

    write(tmp_path / "credentials.json", {"openai": {"api_key": KEY, "model": "from-cwd"}})
    assert load(tmp_path).get("openai").model == "from-cwd"  # type: ignore[union-attr]

    explicit = write(tmp_path / "other.json", {"openai": {"api_key": KEY, "model": "from-env-var"}})
    config = load(tmp_path, env={"JUNIOR_AI_CREDENTIALS": str(explicit)})
    assert config.get("openai").model == "from-env-var"  # type: ignore[union-attr]
    assert config.source == str(explicit)

    flag = write(tmp_path / "flag.json", {"openai": {"api_key": KEY, "model": "from-flag"}})
    config = load(tmp_path, env={"JUNIOR_AI_CREDENTIALS": str(explicit)}, explicit_path=str(flag))
    assert config.get("openai").model == "from-flag"  # type: ignore[union-attr]


def test_explicit_path_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"JUNIOR_AI_CREDENTIALS points at .*missing\.json, which does not exist"):
        load(tmp_path, env={"JUNIOR_AI_CREDENTIALS": str(tmp_path / "missing.json")})


def test_environment_overrides_the_file_per_ai(tmp_path: Path) -> None:
    env = {
        "JUNIOR_AI_OPENAI_MODEL": "gpt-env",
        "JUNIOR_AI_OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "JUNIOR_AI_OPENAI_API_KEY": "sk-from-env-override-123456",
        "JUNIOR_AI_GEMINI_ENABLED": "false",
    }
    config = load(tmp_path, {"openai": {"api_key": KEY, "model": "gpt-file"}, "gemini": {"api_key": KEY}}, env=env)
    openai_ai = config.get("openai")
    assert openai_ai is not None
    assert (openai_ai.model, openai_ai.base_url) == ("gpt-env", "http://127.0.0.1:9/v1")
    assert openai_ai.api_key is not None and openai_ai.api_key.get_secret_value() == "sk-from-env-override-123456"
    assert openai_ai.key_source == "JUNIOR_AI_OPENAI_API_KEY"
    assert [ai.name for ai in config.enabled()] == ["openai"]


def test_standard_provider_variables_enable_ais_without_a_file(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": KEY, "GOOGLE_API_KEY": KEY, "XAI_API_KEY": KEY, "ANTHROPIC_API_KEY": KEY}
    config = load(tmp_path, env=env)
    assert sorted(ai.name for ai in config.ais) == ["gemini", "grok", "openai"]  # not anthropic: see presets
    assert config.get("gemini").key_source == "GOOGLE_API_KEY"  # type: ignore[union-attr]
    assert config.source is None


def test_no_file_and_no_variables_means_no_ais(tmp_path: Path) -> None:
    assert load(tmp_path).ais == ()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"openai": {"api_key": "x",}}', r"not valid JSON at line 1, column \d+.*Fix: correct the syntax"),
        ("[1, 2]", "top level must be an object"),
        (
            {"openai": {"api_key": KEY, "timout_s": 5}},
            r"AI 'openai': unknown field 'timout_s'\. Did you mean 'timeout_s'\?",
        ),
        ({"openai": {"api_key": KEY, "timeout_s": "fast"}}, r"AI 'openai': field 'timeout_s'"),
        ({"openai": {"api_key": KEY, "max_concurrency": 0}}, r"field 'max_concurrency'.*greater than or equal to 1"),
        ({"openai": {}}, r"AI 'openai' is enabled but has no API key\. Fix: set \"api_key\".*OPENAI_API_KEY"),
        ({"openai": {"api_key": KEY, "base_url": "ftp://x"}}, r"field 'base_url'.*not an http\(s\) URL"),
        ({"Bad Name": {}}, r"AI name 'Bad Name' is not allowed"),
        ({"openai": "sk-123"}, r"AI 'openai' must be an object"),
        ({"settings": {"deadline_s": -1}}, r"settings: field 'deadline_s'"),
    ],
)
def test_invalid_config_names_file_ai_field_and_fix(tmp_path: Path, content: Any, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as caught:
        load(tmp_path, content)
    assert str(tmp_path / "credentials.json") in str(caught.value)


def test_disabled_ai_needs_no_key(tmp_path: Path) -> None:
    config = load(tmp_path, {"openai": {"enabled": False}})
    assert config.enabled() == [] and config.get("openai") is not None


def test_bad_boolean_in_environment_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"JUNIOR_AI_OPENAI_ENABLED='maybe' is not a boolean"):
        load(tmp_path, {"openai": {"api_key": KEY}}, env={"JUNIOR_AI_OPENAI_ENABLED": "maybe"})


def test_key_never_appears_in_repr_dump_or_errors(tmp_path: Path) -> None:
    config = load(tmp_path, {"openai": {"api_key": KEY}})
    assert KEY not in repr(config) and KEY not in str(config.model_dump()) and KEY not in config.model_dump_json()
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, {"openai": {"api_key": KEY, "extra": KEY}})
    assert KEY not in str(caught.value)


def test_group_readable_file_gets_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "credentials.json", {"openai": {"api_key": KEY}})
    path.chmod(0o644)
    config = load_config(env={}, cwd=tmp_path, home=tmp_path)
    assert any("readable by other users" in w and "chmod 600" in w for w in config.warnings)


def test_example_credentials_file_is_valid(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "credentials.example.json"
    config = load_config(str(example), env={}, cwd=tmp_path, home=tmp_path)
    assert {"gemini", "openai", "grok", "deepseek", "openrouter", "ollama", "my-vllm"} <= {a.name for a in config.ais}
