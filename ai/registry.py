"""The set of AI clients: one entry per enabled AI, shared by every tool call, closed once at exit.

An entry exists from the start; its clients are built off the event loop (see `ai.client_build`), either on
demand (the first call that needs the AI waits for them, and only for them) or eagerly in the background
(`build_in_background`, what the server does at start-up). Code that needs every AI's state (fan-outs to
"every ready AI", listings) waits with `await registry.wait_built()` first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import anyio

from junior_ai.ai.base import AIClient
from junior_ai.ai.client_build import DEFAULT_FACTORIES, ClientBuilder, ClientFactory
from junior_ai.ai.health import CircuitBreaker, RateLimiter
from junior_ai.ai.shared_health import SharedBreaker
from junior_ai.ai.translate import detail
from junior_ai.core.config import AIConfig, JuniorConfig
from junior_ai.core.errors import InvalidInputError, NoAIConfiguredError
from junior_ai.core.log import get_logger
from junior_ai.core.pricing import PriceBook
from junior_ai.core.redact import redact
from junior_ai.core.suggest import did_you_mean, quoted
from junior_ai.core.usage import AIStats

if TYPE_CHECKING:
    from junior_ai.ai.catalog import ModelCatalog
    from junior_ai.core.state import StateStore

log = get_logger(__name__)

__all__ = [
    "DEFAULT_FACTORIES",
    "AIEntry",
    "AIRegistry",
    "ClientFactory",
    "Target",
    "build_in_background",
    "cleanup_async_ai_clients",
    "initialize_all_clients_async",
    "start_registry",
]


@dataclass(frozen=True)
class Target:
    """What a caller's `ai` resolved to: `label` as the caller wrote it, the AI, and the model if one was named."""

    label: str
    ai: str
    model: str | None


BuildState = Literal["starting", "ready", "failed"]

REPORT_WAIT_S = 10.0
"""How long a report of every AI (`list_ais`, `list_models`) waits for builds still running before it says
"still starting" for those AIs."""
STARTING_NOTE = "still starting: its SDK is still loading; ask again in a moment"


MAX_MODEL_BREAKERS = 64
"""Per-model breakers kept for one AI (callers may name any model the provider has)."""


@dataclass
class AIEntry:
    """One configured AI: its client (None until built, or if it could not be built, with the reason), its
    limits and stats. `built` is set once the build has finished, either way."""

    config: AIConfig
    limiter: anyio.CapacityLimiter
    breaker: CircuitBreaker
    rate: RateLimiter
    client: AIClient | None = None
    init_error: str | None = None
    stats: AIStats = field(default_factory=AIStats)
    shared: SharedBreaker | None = None
    """Set when the state is shared (Redis): the breaker's state mirrored for every replica."""
    built: anyio.Event = field(default_factory=anyio.Event)
    requested: bool = False
    """Whether its build was queued (it is queued once, by whichever caller needs it first)."""
    model_health: dict[str, tuple[CircuitBreaker, SharedBreaker | None]] = field(default_factory=dict)
    """Breakers of the models a caller named (`name:model`) other than the default, so one bad model does not
    cool down the AI's default model for everyone. Bounded: callers can name any model."""
    health_state: StateStore | None = None
    """The shared state the breakers are mirrored in (replicas), for the per-model breakers made later."""

    @classmethod
    def for_config(cls, ai: AIConfig, config: JuniorConfig) -> AIEntry:
        settings = config.settings
        breaker = CircuitBreaker(ai.name, threshold=settings.breaker_threshold, cooldown_s=settings.breaker_cooldown_s)
        return cls(ai, anyio.CapacityLimiter(ai.max_concurrency), breaker, RateLimiter(ai.name, ai.rpm))

    @property
    def name(self) -> str:
        return self.config.name

    def health(self, model: str | None) -> tuple[CircuitBreaker, SharedBreaker | None]:
        """The breaker (and its shared mirror) a call to `model` counts toward: the AI's own for its default model,
        one per named model otherwise (`name:model` in messages and in the shared state's keys)."""
        if model is None or model == self.config.model:
            return self.breaker, self.shared
        found = self.model_health.get(model)
        if found is None:
            if len(self.model_health) >= MAX_MODEL_BREAKERS:
                # Forget the oldest healthy one (an open breaker is kept: forgetting it would lift its cooldown).
                healthy = [k for k, (b, _) in self.model_health.items() if b.state == "healthy"]
                self.model_health.pop(healthy[0] if healthy else next(iter(self.model_health)))
            template = self.breaker
            breaker = CircuitBreaker(
                f"{self.name}:{model}",
                threshold=template.threshold,
                cooldown_s=template.cooldown_s,
                clock=template.clock,
            )
            shared = SharedBreaker(breaker, self.health_state) if self.health_state is not None else None
            found = self.model_health[model] = (breaker, shared)
        return found

    @property
    def ready(self) -> bool:
        return self.client is not None

    @property
    def state(self) -> BuildState:
        if not self.built.is_set():
            return "starting"
        return "ready" if self.client is not None else "failed"

    @property
    def unavailable_reason(self) -> str | None:
        """Why there is no client: the build error, or that it is still starting; None when ready."""
        if self.client is not None:
            return None
        return self.init_error if self.built.is_set() else STARTING_NOTE

    def settle(self, client: AIClient | None, error: str | None) -> None:
        self.client, self.init_error = client, error
        self.requested = True
        self.built.set()


class AIRegistry:
    """Every enabled AI by name. Create it with `start_registry` (clients built on demand) or
    `initialize_all_clients_async` (all built before it returns); close it with `aclose`."""

    def __init__(
        self,
        config: JuniorConfig,
        entries: Mapping[str, AIEntry] | None = None,
        config_error: str | None = None,
        catalog: ModelCatalog | None = None,
        builder: ClientBuilder | None = None,
    ) -> None:
        self.config = config
        if entries is None:
            entries = {ai.name: AIEntry.for_config(ai, config) for ai in config.enabled()}
        self._entries = dict(entries)
        self._catalog = catalog
        self._builder = builder or ClientBuilder()
        self.prices = PriceBook(config.settings)
        """Every call's cost: settings.prices, the packaged price table, or the provider's own figure."""
        self.config_error = redact(config_error) if config_error else None
        """Set when the configuration could not be loaded: every tool reports it instead of working."""
        self._closed = False

    @property
    def catalog(self) -> ModelCatalog:
        """The model catalog, opened on first use (only `name:model` checks and listings need it)."""
        if self._catalog is None:
            from junior_ai.ai.catalog import ModelCatalog, default_cache_dir

            settings = self.config.settings
            cache_dir = Path(settings.cache_dir) if settings.cache_dir else default_cache_dir()
            self._catalog = ModelCatalog(cache_dir, settings.models_ttl_s)
        return self._catalog

    def __iter__(self) -> Iterator[AIEntry]:
        return iter(self._entries.values())

    @property
    def names(self) -> list[str]:
        return list(self._entries)

    def ready_names(self) -> list[str]:
        """The AIs whose clients are built now (an AI still starting is not among them: `await wait_built()`
        first where every AI's final state matters)."""
        return [entry.name for entry in self._entries.values() if entry.ready]

    def usable_names(self) -> list[str]:
        """The AIs that are ready or still starting: every AI whose build has not failed. A call to one that is
        still starting waits for it, within the call's own timeout."""
        return [entry.name for entry in self._entries.values() if entry.state != "failed"]

    async def first_usable(self) -> str:
        """The first AI (in configuration order) whose clients could be built, building them one by one only as
        far as needed (each within its AI's timeout); the first AI if none could be (a call then says why)."""
        self.require_any()
        for entry in self._entries.values():
            with anyio.move_on_after(entry.config.timeout_s):
                await self.wait_built([entry.name])
            if entry.ready:
                return entry.name
        return self.names[0]

    async def settle_within(self, seconds: float | None = None) -> None:
        """Wait up to `seconds` (default `REPORT_WAIT_S`) for every AI's build, for a report of every AI's state.
        An AI still starting after that is reported as starting (a hung SDK import must not hang the report)."""
        with anyio.move_on_after(REPORT_WAIT_S if seconds is None else seconds):
            await self.wait_built()

    async def wait_built(self, names: Iterable[str] | None = None) -> None:
        """Wait until the named AIs' builds (default: every AI's) have finished, starting any not yet queued.

        Only the named AIs are waited for: a call to one AI never waits for another AI's SDK to load.
        Unknown names are ignored here (resolving them is `resolve`'s job)."""
        entries = self._entries
        wanted = list(entries.values()) if names is None else [entries[n] for n in names if n in entries]
        for entry in wanted:
            self.request_build(entry)
        for entry in wanted:
            await entry.built.wait()

    def request_build(self, entry: AIEntry) -> None:
        """Queue `entry`'s build unless it is queued or done already. Returns at once."""
        if entry.requested:
            return
        entry.requested = True
        if self._closed:
            entry.settle(None, "the server is shutting down")
            return
        self._builder.build(entry.config, partial(self._deliver, entry))

    def _deliver(self, entry: AIEntry, client: AIClient | None, error: str | None) -> bool:
        """Runs on the event loop when a build finishes. False: closed meanwhile, the builder closes the client."""
        if self._closed:
            return False
        if error is not None:
            log.warning("ai_init_failed", ai=entry.name, error=error)
        else:
            log.debug("ai_client_ready", ai=entry.name)
        entry.settle(client, error)
        return True

    def get(self, name: str) -> AIEntry:
        """The entry for `name`, or an `InvalidInputError` that lists the valid names and suggests the closest."""
        self.require_any()
        entry = self._entries.get(name)
        if entry is not None:
            return entry
        known = sorted(self._entries)
        raise InvalidInputError(
            f"unknown AI {quoted(name)}.{did_you_mean(name, known)} Configured AIs: {', '.join(known)}."
        )

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
                f"unknown AI {quoted(name)}.{suggestion} Configured AIs: {', '.join(sorted(self._entries))}{aliases}."
            )
        entry = self._entries[name]
        if separator and not model:
            raise InvalidInputError(f"{quoted(target)} names no model after ':'. Use '{name}' or '{name}:<model>'.")
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
            f"{entry.name} has no model {quoted(model)} in {source}.{suggestion} list_models shows them all."
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
        """Close every built client; a build still running is abandoned (its thread closes what it builds)."""
        if self._closed:
            return
        self._closed = True
        self.prices.close()
        with anyio.CancelScope(shield=True):
            for entry in self._entries.values():
                if entry.state == "starting":  # wake anyone waiting for it: there will be no client
                    entry.settle(None, "the server is shutting down")
                    continue
                if entry.client is None:
                    continue
                try:
                    await entry.client.aclose()
                except Exception as exc:  # one client failing to close must not leave the others open
                    log.warning("client_close_failed", ai=entry.name, error=detail(exc))


def start_registry(
    config: JuniorConfig,
    *,
    factories: Mapping[str, ClientFactory] = DEFAULT_FACTORIES,
    config_error: str | None = None,
) -> AIRegistry:
    """A registry whose clients are built when first needed (or by `build_in_background`). Returns at once."""
    return AIRegistry(config, config_error=config_error, builder=ClientBuilder(factories))


async def build_in_background(registry: AIRegistry) -> None:
    """Build every AI's clients, one provider after another in configuration order (imports compete for one GIL,
    so the first provider's AIs are ready sooner this way than if both SDKs loaded at once). A call that needs
    an AI of a later provider starts that provider at once instead of waiting its turn."""
    providers: dict[str, list[str]] = {}
    for entry in registry:
        providers.setdefault(entry.config.provider, []).append(entry.name)
    for names in providers.values():
        await registry.wait_built(names)
    _log_ready(registry)
    # Then the price table (~0.5 s to import), in the background too, so a first answer need not wait for it.
    for entry in registry:
        registry.prices.prefetch(entry.config, entry.config.model)


async def initialize_all_clients_async(
    config: JuniorConfig,
    *,
    factories: Mapping[str, ClientFactory] = DEFAULT_FACTORIES,
    config_error: str | None = None,
) -> AIRegistry:
    """A registry with every enabled AI's clients built (all providers at once) before it returns.

    An AI whose clients cannot be built is kept with `init_error` set (reported by `list_ais`, skipped by
    fan-outs); the others work regardless.
    """
    registry = start_registry(config, factories=factories, config_error=config_error)
    try:
        await registry.wait_built()
    except BaseException:
        await registry.aclose()
        raise
    _log_ready(registry)
    return registry


def _log_ready(registry: AIRegistry) -> None:
    states = {entry.name: entry.state for entry in registry}
    log.info(
        "ai_clients_ready",
        ready=[name for name, state in states.items() if state == "ready"],
        failed=[name for name, state in states.items() if state == "failed"],
    )


async def cleanup_async_ai_clients(registry: AIRegistry) -> None:
    """Close every client (async and sync) exactly once; a second call does nothing."""
    await registry.aclose()
