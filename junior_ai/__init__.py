"""Junior AI: ask other AI models for second opinions, from an MCP host or from Python.

The library API (docs/library.md):

    from junior_ai import JuniorAI

    async with JuniorAI.from_config() as jr:
        answer = await jr.ask("gemini", "Explain this regex")

`SyncJuniorAI` is its blocking twin; `call_ai_async`, `initialize_all_clients_async` and
`cleanup_async_ai_clients` work over a default instance. Every error is a `JuniorAIError`.

The repository keeps its layers as top-level folders (`server/`, `tools/`, `ai/`, `core/`); they install as the
subpackages of this one import package (`junior_ai.server`, ...), so a wheel never puts generic names such as
`core` or `tools` into site-packages. The names below are imported on first use, so `import junior_ai` stays
cheap (the server's start-up does not pay for the library, nor the library for the SDKs it does not use).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from junior_ai.core.version import __version__

if TYPE_CHECKING:
    from junior_ai.ai.batch import ItemResult
    from junior_ai.ai.types import CallResult
    from junior_ai.api import JuniorAI
    from junior_ai.api_default import call_ai_async, cleanup_async_ai_clients, initialize_all_clients_async
    from junior_ai.api_map import MapRun
    from junior_ai.api_stream import AnswerStream
    from junior_ai.api_sync import SyncAnswerStream, SyncJuniorAI
    from junior_ai.api_types import Answer, MapProgress
    from junior_ai.core.config import JuniorConfig
    from junior_ai.core.errors import (
        AuthError,
        BadRequestError,
        ConfigError,
        ContentBlockedError,
        CoolingDownError,
        InvalidInputError,
        InvalidOutputError,
        JuniorAIError,
        MalformedResponseError,
        NoAIConfiguredError,
        ProviderError,
        ProviderTimeoutError,
        RateLimitedError,
        UnavailableError,
    )
    from junior_ai.core.usage import TokenUsage
    from junior_ai.tools.collab.results import ConsensusResult
    from junior_ai.tools.results import AskManyResult

_LAZY = {
    "JuniorAI": "junior_ai.api",
    "SyncJuniorAI": "junior_ai.api_sync",
    "SyncAnswerStream": "junior_ai.api_sync",
    "AnswerStream": "junior_ai.api_stream",
    "MapRun": "junior_ai.api_map",
    "Answer": "junior_ai.api_types",
    "MapProgress": "junior_ai.api_types",
    "ItemResult": "junior_ai.ai.batch",
    "CallResult": "junior_ai.ai.types",
    "AskManyResult": "junior_ai.tools.results",
    "ConsensusResult": "junior_ai.tools.collab.results",
    "JuniorConfig": "junior_ai.core.config",
    "TokenUsage": "junior_ai.core.usage",
    "call_ai_async": "junior_ai.api_default",
    "initialize_all_clients_async": "junior_ai.api_default",
    "cleanup_async_ai_clients": "junior_ai.api_default",
    **{
        name: "junior_ai.core.errors"
        for name in (
            "JuniorAIError",
            "ConfigError",
            "InvalidInputError",
            "NoAIConfiguredError",
            "ProviderError",
            "AuthError",
            "RateLimitedError",
            "CoolingDownError",
            "ProviderTimeoutError",
            "UnavailableError",
            "BadRequestError",
            "ContentBlockedError",
            "MalformedResponseError",
            "InvalidOutputError",
        )
    },
}

__all__ = [
    "Answer",
    "AnswerStream",
    "AskManyResult",
    "AuthError",
    "BadRequestError",
    "CallResult",
    "ConfigError",
    "ConsensusResult",
    "ContentBlockedError",
    "CoolingDownError",
    "InvalidInputError",
    "InvalidOutputError",
    "ItemResult",
    "JuniorAI",
    "JuniorAIError",
    "JuniorConfig",
    "MalformedResponseError",
    "MapProgress",
    "MapRun",
    "NoAIConfiguredError",
    "ProviderError",
    "ProviderTimeoutError",
    "RateLimitedError",
    "SyncAnswerStream",
    "SyncJuniorAI",
    "TokenUsage",
    "UnavailableError",
    "__version__",
    "call_ai_async",
    "cleanup_async_ai_clients",
    "initialize_all_clients_async",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'junior_ai' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
