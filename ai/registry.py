"""The set of live AI clients: built once at start-up, shared by every tool call, closed once at exit."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from junior_ai.ai.base import AIClient
from junior_ai.ai.catalog import ModelCatalog, default_cache_dir
from junior_ai.ai.health import CircuitBreaker, RateLimiter
from junior_ai.ai.shared_health import SharedBreaker
from junior_ai.ai.translate import detail
from junior_ai.core.config import AIConfig, JuniorConfig
from junior_ai.core.errors import InvalidInputError, NoAIConfiguredError
from junior_ai.core.log import get_logger
from junior_ai.core.pricing import PriceBook
from junior_ai.core.redact import redact
from junior_ai.core.suggest import did_you_mean
from junior_ai.core.usage import AIStats

log = get_logger(__name__)

ClientFactory = Callable[[AIConfig], AIClient]


def build_gemini(config: AIConfig) -> AIClient:
    # Imported here, in the start-up worker thread, so the server answers `initialize` while the SDK loads.
    from junior_ai.ai.gemini import GeminiClient

    return GeminiClient.build(config)


def build_openai_compatible(config: AIConfig) -> AIClient:
    from junior_ai.ai.openai_compat import OpenAICompatibleClient

    return OpenAICompatibleClient.build(config)


DEFAULT_FACTORIES: Mapping[str, ClientFactory] = {
    "gemini": build_gemini,
    "openai_compatible": build_openai_compatible,
}


@dataclass(frozen=True)
class Target:
    """What a caller's `ai` resolved to: `label` as the caller wrote it, the AI, and the model if one was named."""

    label: str
    ai: str
    model: str | None


@dataclass
class AIEntry:
    """One configured AI: its client (None if it could not be built, with the reason), limit and stats."""

    config: AIConfig
    client: AIClient | None
    init_error: str | None
    limiter: anyio.CapacityLimiter
    breaker: CircuitBreaker
    rate: RateLimiter
    stats: AIStats = field(default_factory=AIStats)
    shared: SharedBreaker | None = None
    """Set when the state is shared (Redis): the breaker's state mirrored for every replica."""

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def ready(self) -> bool:
        return self.client is not None


class AIRegistry:
    """Every configured AI by name. Created by `initialize_all_clients_async`, closed by `cleanup_async_ai_clients`."""

    def __init__(
        self,
        config: JuniorConfig,
        entries: Mapping[str, AIEntry],
        config_error: str | None = None,
        catalog: ModelCatalog | None = None,
    ) -> None:
        self.config = config
        self._entries = dict(entries)
        cache_dir = Path(config.settings.cache_dir) if config.settings.cache_dir else default_cache_dir()
        self.catalog = catalog or ModelCatalog(cache_dir, config.settings.models_ttl_s)
        self.prices = PriceBook(config.settings)
        """Every call's cost: settings.prices, the packaged price table, or the provider's own figure."""
        self.config_error = redact(config_error) if config_error else None
        """Set when the configuration could not be loaded: every tool reports it instead of working."""
        self._closed = False

    def __iter__(self) -> Iterator[AIEntry]:
        return iter(self._entries.values())

    @property
    def names(self) -> list[str]:
        return list(self._entries)

    def ready_names(self) -> list[str]:
        return [entry.name for entry in self._entries.values() if entry.ready]

    def get(self, name: str) -> AIEntry:
        """The entry for `name`, or an `InvalidInputError` that lists the valid names and suggests the closest."""
        self.require_any()
        entry = self._entries.get(name)
        if entry is not None:
            return entry
        known = sorted(self._entries)
        raise InvalidInputError(f"unknown AI {name!r}.{did_you_mean(name, known)} Configured AIs: {', '.join(known)}.")

    def resolve(self, target: str) -> Target:
        """`name`, `name:model` or an alias → which AI and model to call. Never guesses: an unknown AI or model is
        an `InvalidInputError` with a did-you-mean from the known names."""
        self.require_any()
        expanded = self.config.aliases.get(target, target)
        name, separator, model = expanded.partition(":")
        if name not in self._entries:
            known = sorted([*self._entries, *self.config.aliases])
            suggestion = did_you_mean(name, known)
            aliases = f"; aliases: {', '.join(sorted(self.config.aliases))}" if self.config.aliases else ""
            raise InvalidInputError(
                f"unknown AI {name!r}.{suggestion} Configured AIs: {', '.join(sorted(self._entries))}{aliases}."
            )
        entry = self._entries[name]
        if separator and not model:
            raise InvalidInputError(f"{target!r} names no model after ':'. Use '{name}' or '{name}:<model>'.")
        if model:
            self._check_model(entry, model)
        return Target(label=target, ai=name, model=model or None)

    def entry_for(self, target: str) -> tuple[AIEntry, str]:
        """The entry behind `target` and the model a call to it uses."""
        resolved = self.resolve(target)
        entry = self._entries[resolved.ai]
        return entry, resolved.model or entry.config.model

    def _check_model(self, entry: AIEntry, model: str) -> None:
        allowed = entry.config.allowed_models
        listing = self.catalog.fresh(entry)
        known = list(allowed) if allowed is not None else (listing.models if listing else None)
        if known is None or model in known:
            return  # nothing known to check against: the provider will say if the model does not exist
        suggestion = did_you_mean(model, known, n=3, cutoff=0.5)
        source = "allowed_models" if allowed is not None else "the provider's model list"
        raise InvalidInputError(
            f"{entry.name} has no model {model!r} in {source}.{suggestion} list_models shows them all."
        )

    def require_any(self) -> None:
        """Raise the 'how to configure an AI' error when there is nothing to call."""
        if self.config_error:
            raise NoAIConfiguredError(f"Junior AI's configuration is invalid: {self.config_error}")
        if not self._entries:
            raise NoAIConfiguredError(
                "no AI is configured. Fix: create credentials.json (copy credentials.example.json) with at least "
                "one AI, or export a provider key such as OPENAI_API_KEY or GEMINI_API_KEY, or point "
                "JUNIOR_AI_CREDENTIALS at your file; then restart the server. `junior-ai doctor` checks the setup."
            )

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.prices.close()
        with anyio.CancelScope(shield=True):
            for entry in self._entries.values():
                if entry.client is None:
                    continue
                try:
                    await entry.client.aclose()
                except Exception as exc:  # one client failing to close must not leave the others open
                    log.warning("client_close_failed", ai=entry.name, error=detail(exc))


async def initialize_all_clients_async(
    config: JuniorConfig,
    *,
    factories: Mapping[str, ClientFactory] = DEFAULT_FACTORIES,
    config_error: str | None = None,
) -> AIRegistry:
    """Build an async and a sync client for every enabled AI, concurrently.

    An AI whose clients cannot be built is kept with `init_error` set (reported by `list_ais`, skipped by
    fan-outs); the others work regardless.
    """
    entries: dict[str, AIEntry] = {}

    settings = config.settings

    def entry(ai: AIConfig, client: AIClient | None, error: str | None) -> AIEntry:
        breaker = CircuitBreaker(ai.name, threshold=settings.breaker_threshold, cooldown_s=settings.breaker_cooldown_s)
        return AIEntry(
            ai, client, error, anyio.CapacityLimiter(ai.max_concurrency), breaker, RateLimiter(ai.name, ai.rpm)
        )

    async def build(ai: AIConfig) -> None:
        try:
            # SDK client construction loads TLS certificates: do it off the event loop, all AIs at once.
            client = await anyio.to_thread.run_sync(factories[ai.provider], ai)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {detail(exc)}"
            log.warning("ai_init_failed", ai=ai.name, error=reason)
            entries[ai.name] = entry(ai, None, reason)
            return
        entries[ai.name] = entry(ai, client, None)

    async with anyio.create_task_group() as tg:
        for ai in config.enabled():
            tg.start_soon(build, ai)
    ordered = {ai.name: entries[ai.name] for ai in config.enabled()}
    log.info(
        "ai_clients_ready",
        ready=[n for n, e in ordered.items() if e.ready],
        failed=[n for n, e in ordered.items() if not e.ready],
    )
    return AIRegistry(config, ordered, config_error=config_error)


async def cleanup_async_ai_clients(registry: AIRegistry) -> None:
    """Close every client (async and sync) exactly once; a second call does nothing."""
    await registry.aclose()
