"""What a call costs: the user's `settings.prices` first, then the price table `genai-prices` ships, else unknown.

Where a price comes from, in order:

1. `settings.prices[model]` (the requested model's name, then the name the provider answered with): "settings";
2. a local server (the ollama, lmstudio, vllm and llamacpp presets, or any AI on one of their default ports at a
   loopback, private-network or `.local` address, e.g. a LAN Ollama at 192.168.1.5:11434): free, "local";
3. the `genai-prices` table shipped inside the package (no network: its updater runs only when
   `settings.price_updates` is on), looked up under the AI's provider (its preset name, `provider: gemini`, or
   its base_url's host). An AI whose provider none of those name is not guessed from its model name: a proxy
   or a self-hosted server answering to "deepseek-r1:7b" does not charge DeepSeek's prices. "table";
4. nothing: "unknown". An unknown cost is `None`, never 0, so totals and budgets cannot mistake it for free.
   A call that came back without token counts is unknown too, and so is an absurd figure (over
   `MAX_CALL_USD`, or not a finite number): logged as a warning, never added to a total.

OpenRouter, which reports each call's cost itself (`usage.cost`), is billed at that figure instead: "reported".
A `usage.cost` from any other provider is ignored: our own price (settings or table) is what the user asked for.

The table is imported on the first lookup, not at start-up (it takes ~0.5 s to load); the async entry points
load it in a worker thread so the event loop never waits for it.
"""

from __future__ import annotations

import ipaddress
import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

import anyio.to_thread
from pydantic import BaseModel, ConfigDict

from junior_ai.core.config import AIConfig, Settings
from junior_ai.core.log import get_logger
from junior_ai.core.presets import PRESETS
from junior_ai.core.redact import redact
from junior_ai.core.usage import TokenUsage

if TYPE_CHECKING:
    from genai_prices.types import PriceCalculation

log = get_logger(__name__)

PriceSource = Literal["settings", "table", "reported", "local", "unknown"]

PROVIDER_IDS: dict[str, str] = {
    "openai": "openai",
    "gemini": "google",
    "grok": "x-ai",
    "deepseek": "deepseek",
    "mistral": "mistral",
    "groq": "groq",
    "together": "together",
    "anthropic": "anthropic",
    "cohere": "cohere",
    "openrouter": "openrouter",
}
"""Our preset names → genai-prices provider ids. An AI named after a preset is priced as that provider wherever
its base_url points (a proxy or the simulator serves the same models)."""

LOCAL_PRESETS = ("ollama", "lmstudio", "vllm", "llamacpp")

HOST_PROVIDERS: dict[str, str] = {
    urlparse(PRESETS[name].base_url or "").hostname or "": provider
    for name, provider in PROVIDER_IDS.items()
    if PRESETS[name].base_url
} | {"generativelanguage.googleapis.com": "google"}
"""For AIs with names of their own: which provider a base_url's host belongs to."""

REPORTING_PROVIDERS = frozenset({"openrouter"})
"""Providers that put each call's cost in the response; that figure is billed instead of the table's."""

_LOCAL_PORTS = frozenset(urlparse(PRESETS[name].base_url or "").port for name in LOCAL_PRESETS)

MAX_CALL_USD = 1000.0
"""No single call costs more than this: a larger figure (a provider's nonsense, a mistyped price) is treated as
unknown, so one bad number cannot turn every total into a 300-digit figure or infinity."""


def _is_local_host(host: str | None) -> bool:
    """localhost, a `.local` name, or a loopback, private-network or link-local address."""
    if not host:
        return False
    if host == "localhost" or host.endswith((".localhost", ".local")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


class Rate(BaseModel):
    """One AI's price for one model, per million tokens, and where it came from (None: not known)."""

    model_config = ConfigDict(frozen=True)

    model: str
    source: PriceSource
    input_per_million: float | None = None
    output_per_million: float | None = None
    provider: str | None = None
    """The genai-prices provider id the table was searched under, when it was searched."""

    @property
    def known(self) -> bool:
        """True when a call's cost can be worked out before it is made."""
        return self.input_per_million is not None and self.output_per_million is not None


class Cost(BaseModel):
    """What one call cost. `usd` is None when it is not known (never 0 for 'unknown')."""

    model_config = ConfigDict(frozen=True)

    usd: float | None
    source: PriceSource

    @property
    def known(self) -> bool:
        return self.usd is not None


def provider_id_for(ai: AIConfig) -> str | None:
    """The genai-prices provider id for `ai`, "local" for a local server, None when nothing says which."""
    return _provider_id(ai.name, ai.provider, ai.base_url)


@lru_cache(maxsize=256)
def _provider_id(name: str, provider: str, base_url: str | None) -> str | None:
    # Cached: every call is priced (and its price prefetched), and parsing the base_url each time showed in a
    # profile of a batch of fast calls.
    if name in PROVIDER_IDS:
        return PROVIDER_IDS[name]
    if name in LOCAL_PRESETS:
        return "local"
    if provider == "gemini":
        return "google"
    parsed = urlparse(base_url or "")
    if parsed.port in _LOCAL_PORTS and _is_local_host(parsed.hostname):
        return "local"
    return HOST_PROVIDERS.get(parsed.hostname or "")


def billed_by(ai: AIConfig, rate: Rate) -> PriceSource:
    """What a call to `ai` will be billed by: the provider's reported figure where it sends one (the rate is then
    only the estimate budgets use), else the rate's own source."""
    return "reported" if provider_id_for(ai) in REPORTING_PROVIDERS else rate.source


def settings_entry(model: str) -> str:
    """The `settings.prices` entry a user would add to price `model`, as JSON text to paste (a key pasted into
    the model's name by mistake is masked: this text is shown in results and logs)."""
    name = json.dumps(redact(model))
    return f'"settings": {{"prices": {{{name}: {{"input_per_million": ..., "output_per_million": ...}}}}}}'


class PriceBook:
    """Prices for the configured AIs. One per registry; safe to share between tasks and threads."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] | None = None) -> None:
        self._overrides = settings.prices
        self._clock = clock
        """What time it is for time-of-day and dated prices; None: the library's own (now)."""
        self._lock = threading.Lock()
        self._rates: dict[tuple[str, str], Rate] = {}
        self._linear: dict[tuple[str, str], _Linear] = {}
        self._snapshot: object | None = None
        self._updates = PriceUpdates(settings.price_updates)
        self._prefetching = False

    @property
    def table_loaded(self) -> bool:
        return self._snapshot is not None

    def prefetch(self, ai: AIConfig, model: str) -> None:
        """Start loading the table in a background thread if a call to `ai` will need it, so it is ready by the
        time the answer arrives instead of delaying the first answer by the import. Returns at once."""
        with self._lock:
            if self._prefetching or not self._loads_table(ai, (model,)):
                return
            self._prefetching = True
        provider = provider_id_for(ai)
        threading.Thread(target=self._table_rate, args=(provider, model), name="junior-ai-prices", daemon=True).start()

    def rate(self, ai: AIConfig, *models: str | None) -> Rate:
        """The price of the first of `models` (requested, then answered) that has one; else unknown."""
        names = [m for m in dict.fromkeys(models) if m] or [ai.model]
        for model in names:
            price = self._overrides.get(model)
            if price is not None:
                return Rate(
                    model=model,
                    source="settings",
                    input_per_million=price.input_per_million,
                    output_per_million=price.output_per_million,
                )
        provider = provider_id_for(ai)
        if provider == "local":
            return Rate(model=names[0], source="local", input_per_million=0.0, output_per_million=0.0)
        if provider is None:  # which provider bills it is unknown: a model name alone does not say
            return Rate(model=names[0], source="unknown")
        for model in names:
            rate = self._table_rate(provider, model)
            if rate.known:
                return rate
        return Rate(
            model=names[0], source="reported" if provider in REPORTING_PROVIDERS else "unknown", provider=provider
        )

    async def rate_async(self, ai: AIConfig, *models: str | None) -> Rate:
        if not self._loads_table(ai, models):
            return self.rate(ai, *models)
        return await anyio.to_thread.run_sync(lambda: self.rate(ai, *models))

    def _loads_table(self, ai: AIConfig, models: tuple[str | None, ...]) -> bool:
        """Whether a lookup would import the table first (so it belongs in a worker thread)."""
        if self.table_loaded or provider_id_for(ai) in {"local", None}:
            return False
        return not any(m in self._overrides for m in models if m)

    def cost(
        self,
        ai: AIConfig,
        usage: TokenUsage | None,
        *models: str | None,
        reported_usd: float | None = None,
        batch: bool = False,
    ) -> Cost:
        """What a call with `usage` cost (`usage` None: the provider sent no token counts, so unknown). OpenRouter's
        reported figure wins over any price of ours; `batch` applies the table's provider-batch rates (half price
        at OpenAI, Gemini, Anthropic)."""
        return _sane(ai, self._cost(ai, usage, *models, reported_usd=reported_usd, batch=batch))

    def _cost(
        self, ai: AIConfig, usage: TokenUsage | None, *models: str | None, reported_usd: float | None, batch: bool
    ) -> Cost:
        if reported_usd is not None and provider_id_for(ai) in REPORTING_PROVIDERS:
            return Cost(usd=reported_usd, source="reported")
        rate = self.rate(ai, *models)
        if usage is None or not rate.known:
            return Cost(usd=None, source="unknown")
        linear = self._linear.get((rate.provider or "", rate.model)) if rate.source == "table" and not batch else None
        if linear is not None:
            return Cost(usd=linear.price(usage), source="table")
        if rate.source == "table" and rate.provider is not None:
            calculated = self._calc(usage, rate.model, rate.provider, batch=batch)
            if calculated is not None:
                return Cost(usd=float(calculated.total_price), source="table")
        return Cost(usd=_flat(usage, rate), source=rate.source)

    async def cost_async(
        self,
        ai: AIConfig,
        usage: TokenUsage | None,
        *models: str | None,
        reported_usd: float | None = None,
        batch: bool = False,
    ) -> Cost:
        def work() -> Cost:
            return self.cost(ai, usage, *models, reported_usd=reported_usd, batch=batch)

        if (reported_usd is not None and provider_id_for(ai) in REPORTING_PROVIDERS) or not self._loads_table(
            ai, models
        ):
            return work()
        return await anyio.to_thread.run_sync(work)

    def estimate(self, ai: AIConfig, model: str, input_tokens: int, output_tokens: int) -> float | None:
        """USD a call of this size would cost; None when the price is not known in advance."""
        usage = TokenUsage(
            prompt_tokens=input_tokens, completion_tokens=output_tokens, total_tokens=input_tokens + output_tokens
        )
        rate = self.rate(ai, model)
        if not rate.known:
            return None
        return self.cost(ai, usage, rate.model).usd

    def _table_rate(self, provider: str | None, model: str) -> Rate:
        key = (provider or "", model)
        if self._snapshot is None:
            self._updates.start()  # with the table, not at start-up: a server never asked for a price never fetches
        snapshot = _snapshot()
        with self._lock:
            if snapshot is not self._snapshot:  # first use, or the optional updater brought new prices
                self._rates.clear()
                self._linear.clear()
                self._snapshot = snapshot
            cached = self._rates.get(key)
        if cached is not None:
            return cached
        # Price a thousand tokens each way: per-million figures at the first tier, as price pages show them.
        probe = TokenUsage(prompt_tokens=1000, completion_tokens=0)
        calc_in = self._calc(probe, model, provider)
        calc_out = self._calc(TokenUsage(completion_tokens=1000), model, provider)
        linear = None
        if calc_in is None or calc_out is None:
            rate = Rate(model=model, source="unknown", provider=provider)
        else:
            rate = Rate(
                model=model,
                source="table",
                input_per_million=float(calc_in.total_price * 1000),
                output_per_million=float(calc_out.total_price * 1000),
                provider=calc_in.provider.id,
            )
            linear = self._linear_prices(calc_in, model, rate.provider)
        if calc_in is not None and not _fixed_over_time(calc_in):
            return rate  # priced by time of day or from a date: looked up again each time, never cached
        with self._lock:
            self._rates[key] = rate
            if linear is not None:
                self._linear[(rate.provider or "", model)] = linear
        return rate

    def _linear_prices(self, calc: PriceCalculation, model: str, provider: str | None) -> _Linear | None:
        """Per-token prices for a model whose price is one flat set (no tiers, no time-of-day or dated prices), so
        each call is priced with four multiplications: the library's own calculation takes ~0.3 ms, on the event
        loop, per call. Other models go through the library every time."""
        from genai_prices.types import ModelPrice

        if not isinstance(calc.model.prices, ModelPrice):
            return None
        if any(value is not None and not isinstance(value, Decimal) for value in vars(calc.model_price).values()):
            return None
        million = 1_000_000
        probes = [
            TokenUsage(prompt_tokens=million),
            TokenUsage(prompt_tokens=million, cached_tokens=million),
            TokenUsage(completion_tokens=million),
            TokenUsage(completion_tokens=million, reasoning_tokens=million),
        ]
        prices = [self._calc(probe, model, provider) for probe in probes]
        if any(price is None for price in prices):
            return None
        return _Linear(*(price.total_price / million for price in prices if price is not None))

    def close(self) -> None:
        """Stop the price updater, if it runs."""
        self._updates.stop()

    def _calc(
        self, usage: TokenUsage, model: str, provider: str | None, *, batch: bool = False
    ) -> PriceCalculation | None:
        from genai_prices import Usage, calc_price

        prompt, completion = max(0, usage.prompt_tokens), max(0, usage.completion_tokens)  # a provider's nonsense
        table_usage = Usage(
            input_tokens=prompt,
            output_tokens=completion,
            cache_read_tokens=min(max(0, usage.cached_tokens), prompt) or None,
            output_reasoning_tokens=min(max(0, usage.reasoning_tokens), completion) or None,
        )
        try:
            context = {"processing": "batch"} if batch else None
            when = self._clock() if self._clock is not None else None
            return calc_price(
                table_usage, model, provider_id=provider, price_context=context, genai_request_timestamp=when
            )
        except LookupError:  # not in the table: the cost is unknown
            return None
        except Exception as exc:  # a table entry the library cannot apply: an unknown cost, never a failed call
            log.warning("price_lookup_failed", model=model, provider=provider, error=f"{type(exc).__name__}: {exc}")
            return None


def _fixed_over_time(calc: PriceCalculation) -> bool:
    """Whether the model's price is one set for all time (not by time of day, nor changing on a date)."""
    from genai_prices.types import ModelPrice

    return isinstance(calc.model.prices, ModelPrice)


def _sane(ai: AIConfig, cost: Cost) -> Cost:
    """An absurd figure (not finite, negative, over `MAX_CALL_USD`) is unknown, with a warning to say why."""
    if cost.usd is None or (math.isfinite(cost.usd) and 0 <= cost.usd <= MAX_CALL_USD):
        return cost
    log.warning("absurd_call_cost_ignored", ai=ai.name, usd=repr(cost.usd), source=cost.source, limit=MAX_CALL_USD)
    return Cost(usd=None, source="unknown")


@dataclass(frozen=True)
class _Linear:
    """USD per token of uncached input, cached input, output other than reasoning, and reasoning output."""

    uncached: Decimal
    cached: Decimal
    output: Decimal
    reasoning: Decimal

    def price(self, usage: TokenUsage) -> float:
        prompt, completion = max(0, usage.prompt_tokens), max(0, usage.completion_tokens)  # a provider's nonsense
        cached = min(max(0, usage.cached_tokens), prompt)
        reasoning = min(max(0, usage.reasoning_tokens), completion)
        return float(
            self.uncached * (prompt - cached)
            + self.cached * cached
            + self.output * (completion - reasoning)
            + self.reasoning * reasoning
        )


def _flat(usage: TokenUsage, rate: Rate) -> float:
    assert rate.input_per_million is not None and rate.output_per_million is not None
    prompt, completion = Decimal(max(0, usage.prompt_tokens)), Decimal(max(0, usage.completion_tokens))
    total = prompt * Decimal(str(rate.input_per_million)) + completion * Decimal(str(rate.output_per_million))
    return float(total / 1_000_000)


def _snapshot() -> Any:
    from genai_prices.data_snapshot import get_snapshot

    return get_snapshot()


class PriceUpdates:
    """genai-prices' background updater, started only when `settings.price_updates` is on (it fetches the
    maintained price list over the network every hour; the shipped table is used until the first fetch)."""

    def __init__(self, enabled: bool, url: str | None = None) -> None:
        self.enabled = enabled
        self.url = url
        self._updater: Any = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._updater is not None

    def start(self) -> None:
        with self._lock:
            if not self.enabled or self._updater is not None:
                return
            from genai_prices import UpdatePrices

            self._updater = UpdatePrices() if self.url is None else UpdatePrices(url=self.url)
            self._updater.start(wait=False)

    def stop(self) -> None:
        with self._lock:
            if self._updater is not None:
                self._updater.stop()
                self._updater = None
