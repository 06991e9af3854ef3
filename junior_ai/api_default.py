"""The names other code already knows, as thin entry points over one default `JuniorAI` per process.

    from junior_ai import call_ai_async, initialize_all_clients_async, cleanup_async_ai_clients

    await initialize_all_clients_async()            # optional: the first call does it too
    answer = await call_ai_async("gemini", "Explain this regex", temperature=0.1)
    await cleanup_async_ai_clients()                # closes every client; the next call starts afresh

The default instance reads the configuration through the normal lookup (or the source given to
`initialize_all_clients_async`) and lives on the event loop that first used it; code with several loops, or
several configurations, should create its own `JuniorAI` instances instead.
"""

from __future__ import annotations

from typing import Any

from junior_ai.api import ConfigSource, JuniorAI
from junior_ai.api_types import Answer


class _Default:
    instance: JuniorAI | None = None


async def initialize_all_clients_async(source: ConfigSource = None) -> JuniorAI:
    """Build the default instance's AI clients now (all AIs at once), replacing any earlier default instance,
    and return it. Raises `ConfigError` with the fix when the configuration cannot be used."""
    await cleanup_async_ai_clients()
    instance = JuniorAI.from_config(source)
    await instance.registry()
    _Default.instance = instance
    return instance


async def call_ai_async(ai: str, prompt: str, **options: Any) -> Answer:
    """`JuniorAI.ask` on the default instance: `options` are system, temperature, max_tokens, json_schema,
    reasoning_effort and timeout_s."""
    if _Default.instance is None:
        _Default.instance = JuniorAI.from_config()
    return await _Default.instance.ask(ai, prompt, **options)


async def cleanup_async_ai_clients() -> None:
    """Close the default instance's clients. Calling it again, or before any call, does nothing."""
    instance, _Default.instance = _Default.instance, None
    if instance is not None:
        await instance.aclose()
