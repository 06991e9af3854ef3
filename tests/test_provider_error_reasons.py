"""Provider errors are classified by what the provider says (its reason/code), not only the HTTP status, on both
protocols: a wrong key is `auth_error` with a fix naming where the key came from, whatever status carried it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from junior_ai.ai.call import call_ai_async
from junior_ai.ai.registry import initialize_all_clients_async
from junior_ai.ai.simulator import Fault, Scenario, Simulator
from junior_ai.ai.types import GenerateRequest
from junior_ai.core.errors import AuthError, BadRequestError, ProviderError
from tests.conftest import GEMINI_KEY, config_of, gemini_ai, openai_ai, run_junior_ai

GEMINI_BAD_KEY = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ],
    }
}
OPENAI_400_BAD_KEY = {
    "error": {
        "message": "Invalid authentication credentials",
        "type": "invalid_request_error",
        "code": "invalid_api_key",
    }
}
OPENAI_403_NO_MODEL = {
    "error": {"message": "You do not have access to model big-model.", "type": "invalid_request_error", "code": None}
}
OPENAI_404_NO_MODEL = {
    "error": {"message": "The model `nope` does not exist.", "type": "invalid_request_error", "code": "model_not_found"}
}
GEMINI_400_BAD_ARGUMENT = {
    "error": {"code": 400, "message": "temperature must be at most 2", "status": "INVALID_ARGUMENT"}
}


async def outcome(sim: Simulator, protocol: str, status: int, body: dict[str, Any]) -> ProviderError:
    sim.set_scenario("faulty", Scenario(fault=Fault(kind="status", status=status, body=body)))
    make = gemini_ai if protocol == "gemini" else openai_ai
    registry = await initialize_all_clients_async(config_of(make(sim, "x", "faulty", key_source="GEMINI_API_KEY")))
    try:
        with pytest.raises(ProviderError) as caught:
            await call_ai_async(registry, "x", GenerateRequest.from_prompt("hi"))
        caught.value.health = registry.get("x").breaker.state  # type: ignore[attr-defined]
        return caught.value
    finally:
        await registry.aclose()


@pytest.mark.parametrize(
    ("protocol", "status", "body"),
    [("gemini", 400, GEMINI_BAD_KEY), ("openai", 400, OPENAI_400_BAD_KEY)],
    ids=["gemini-400-API_KEY_INVALID", "openai-400-invalid_api_key"],
)
async def test_a_wrong_key_sent_as_400_is_an_auth_error_naming_the_key_source(
    sim: Simulator, protocol: str, status: int, body: dict[str, Any]
) -> None:
    error = await outcome(sim, protocol, status, body)
    assert isinstance(error, AuthError) and error.status == "auth_error"
    assert "GEMINI_API_KEY" in error.message and "check the arguments" not in error.message
    assert error.attempts == 1  # not retried
    assert error.health == "auth_error"  # type: ignore[attr-defined]


async def test_no_access_to_a_model_is_an_auth_error_that_leaves_the_ai_usable(sim: Simulator) -> None:
    error = await outcome(sim, "openai", 403, OPENAI_403_NO_MODEL)
    assert isinstance(error, AuthError) and not error.key_rejected
    assert "no access to this model" in error.message
    assert error.health == "healthy"  # type: ignore[attr-defined]  # another model may work


@pytest.mark.parametrize(
    ("protocol", "status", "body"),
    [("openai", 404, OPENAI_404_NO_MODEL), ("gemini", 400, GEMINI_400_BAD_ARGUMENT)],
    ids=["openai-404-model_not_found", "gemini-400-bad-argument"],
)
async def test_a_real_bad_request_is_still_bad_request(
    sim: Simulator, protocol: str, status: int, body: dict[str, Any]
) -> None:
    error = await outcome(sim, protocol, status, body)
    assert isinstance(error, BadRequestError)
    assert error.health == "healthy"  # type: ignore[attr-defined]


def test_doctor_reports_a_gemini_key_rejected_as_400_as_a_key_problem(sim: Simulator, tmp_path: Path) -> None:
    sim.set_scenario("doctor-bad-key", Scenario(fault=Fault(kind="status", status=400, body=GEMINI_BAD_KEY)))
    credentials = tmp_path / "credentials.json"
    credentials.write_text(
        json.dumps({"gemini": {"model": "doctor-bad-key", "api_key": GEMINI_KEY, "base_url": sim.gemini_base_url}})
    )
    credentials.chmod(0o600)
    result = run_junior_ai("--credentials", str(credentials), "doctor", "--timeout", "10")
    assert result.returncode == 1
    assert "auth_error" in result.stdout
    assert "check the API key" in result.stdout and "credentials.json" in result.stdout
    assert "model name or endpoint is wrong" not in result.stdout
    assert GEMINI_KEY not in result.stdout + result.stderr
