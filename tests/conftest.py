"""Shared fixtures: one provider simulator per test session (reset per test), configs that point at it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from pydantic import SecretStr

from junior_ai.ai.registry import AIRegistry, cleanup_async_ai_clients, initialize_all_clients_async
from junior_ai.ai.simulator import Simulator
from junior_ai.core.config import AIConfig, JuniorConfig, Settings
from junior_ai.core.log import configure_logging
from junior_ai.core.redact import SECRETS

# Property-based tests: a bounded run by default (CI); `--hypothesis-profile=thorough` (1,000 examples) or
# `--hypothesis-profile=long` (10,000) for more.
_FUZZ_HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=_FUZZ_HEALTH)
settings.register_profile("thorough", max_examples=1_000, deadline=None, suppress_health_check=_FUZZ_HEALTH)
settings.register_profile("long", max_examples=10_000, deadline=None, suppress_health_check=_FUZZ_HEALTH)
settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]

# Recognisable fake keys: the secrets tests assert they never appear anywhere.
OPENAI_KEY = "sk-test-FAKEKEY-openai-0123456789abcdef"
GEMINI_KEY = "AIzaFAKEKEYgemini0123456789abcdefXYZ"
SECRETS.add(OPENAI_KEY)
SECRETS.add(GEMINI_KEY)


@pytest.fixture(scope="session", autouse=True)
def _logging() -> None:
    configure_logging("INFO", json=True)


@pytest.fixture(scope="session")
def _simulator_process() -> Iterator[Simulator]:
    with Simulator() as simulator:
        yield simulator


@pytest.fixture
def sim(_simulator_process: Simulator) -> Iterator[Simulator]:
    _simulator_process.state.reset()
    _simulator_process.app.batches.reset()
    yield _simulator_process
    _simulator_process.state.reset()
    _simulator_process.app.batches.reset()


def run_junior_ai(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m junior_ai ARGS` as a user would run it, without any provider keys from this machine's environment."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "JUNIOR_AI_CREDENTIALS"}
    return subprocess.run(
        [sys.executable, "-m", "junior_ai", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def openai_ai(sim: Simulator, name: str, model: str, **overrides: Any) -> AIConfig:
    fields: dict[str, Any] = {
        "name": name,
        "provider": "openai_compatible",
        "model": model,
        "api_key": SecretStr(OPENAI_KEY),
        "base_url": sim.openai_base_url,
        "timeout_s": 10.0,
        "key_source": "file",
    }
    return AIConfig(**(fields | overrides))


def gemini_ai(sim: Simulator, name: str, model: str, **overrides: Any) -> AIConfig:
    fields: dict[str, Any] = {
        "name": name,
        "provider": "gemini",
        "model": model,
        "api_key": SecretStr(GEMINI_KEY),
        "base_url": sim.gemini_base_url,
        "timeout_s": 10.0,
        "key_source": "file",
    }
    return AIConfig(**(fields | overrides))


def config_of(*ais: AIConfig, **settings: Any) -> JuniorConfig:
    return JuniorConfig(ais=ais, settings=Settings(**settings))


@pytest.fixture
def two_ais(sim: Simulator) -> JuniorConfig:
    """One AI per protocol, answering at once: the usual pair for behaviour that must hold for both."""
    return config_of(openai_ai(sim, "oai", "oai-model"), gemini_ai(sim, "gem", "gem-model"))


@pytest.fixture
async def registry(two_ais: JuniorConfig) -> AsyncIterator[AIRegistry]:
    registry = await initialize_all_clients_async(two_ais)
    yield registry
    await cleanup_async_ai_clients(registry)
