"""`junior-ai doctor`: validate the configuration, make one tiny call to each AI, print a table with fixes."""

from __future__ import annotations

import sys
from typing import TextIO

from junior_ai.ai.fanout import call_multiple_ais
from junior_ai.ai.registry import cleanup_async_ai_clients, initialize_all_clients_async
from junior_ai.ai.types import CallResult, GenerateRequest
from junior_ai.core.config import AIConfig, load_config
from junior_ai.core.errors import ConfigError
from junior_ai.core.pricing import Rate, billed_by, settings_entry
from junior_ai.core.redact import redact

_FIXES = {
    "auth_error": "check the API key (file entry or the variable named above) and its access to the model",
    "rate_limited": "the key is rate limited or out of quota: wait, or check the provider's billing page",
    "timeout": "the AI did not answer in time: check base_url, the network, or raise timeout_s",
    "unavailable": "cannot reach the AI: check base_url and the network; start the local server if it is one",
    "bad_request": 'the model name or endpoint is wrong: check "model" and "base_url"',
    "blocked": "the provider's safety filter blocked the test prompt (the AI itself works)",
    "error": "unexpected answer: check that base_url points at an OpenAI-compatible /v1 endpoint",
}


def _say(text: str, *, file: TextIO | None = None) -> None:
    """Everything doctor prints goes through the redactor: config errors and provider errors echo URLs and keys."""
    print(redact(text), file=file)


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))


async def run_doctor(credentials: str | None, timeout_s: float) -> int:
    try:
        config = load_config(credentials)
    except ConfigError as error:
        _say(f"Configuration error:\n  {error}", file=sys.stderr)
        return 2
    _say(f"Configuration: {config.source or 'environment variables only (no credentials file found)'}")
    for warning in config.warnings:
        _say(f"warning: {warning}")
    if not config.ais:
        _say(
            "No AI configured. Copy credentials.example.json to credentials.json and fill in a key, or export "
            "a provider key such as OPENAI_API_KEY or GEMINI_API_KEY."
        )
        return 1

    registry = await initialize_all_clients_async(config)
    try:
        request = GenerateRequest.from_prompt("Reply with the single word OK.", max_tokens=16)
        ready = registry.ready_names()
        answered = (
            await call_multiple_ais(registry, request, ready, timeout_s=timeout_s, deadline_s=timeout_s + 5)
            if ready
            else []
        )
        by_name = {result.ai: result for result in answered}
        results = [
            by_name.get(entry.name)
            or CallResult(
                ai=entry.name,
                model=entry.config.model,
                status="error",
                error=f"could not be initialized: {entry.init_error}",
            )
            for entry in registry
        ]
        rates = {ai.name: await registry.prices.rate_async(ai, ai.model) for ai in config.ais}
    finally:
        await cleanup_async_ai_clients(registry)

    header = ["AI", "STATUS", "MODEL", "LATENCY", "KEY FROM", "PRICE /M IN/OUT"]
    rows = []
    for result in results:
        ai = config.get(result.ai)
        rows.append(
            [
                result.ai,
                result.status,
                redact(result.model),
                f"{result.latency_ms:.0f} ms",
                ai.key_source if ai else "-",
                _price(ai, rates[result.ai]) if ai else "-",
            ]
        )
    disabled = [ai for ai in config.ais if not ai.enabled]
    rows.extend(
        [ai.name, "disabled", redact(ai.model), "-", ai.key_source, _price(ai, rates[ai.name])] for ai in disabled
    )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    _say(_row(header, widths))
    for row in rows:
        _say(_row(row, widths))
    failures = [r for r in results if not r.ok]
    for result in failures:
        fix = _FIXES.get(result.status, "see the error above")
        _say(f"\n{result.ai}: {result.error}\n  fix: {fix}")
    for ai in config.ais:
        rate, model = rates[ai.name], redact(ai.model)  # a key pasted into "model" is not printed back
        if rate.source == "unknown":
            _say(
                f"\nwarning: {ai.name}: no price known for model {model!r}, so its calls show cost_usd null and "
                f"max_cost_usd refuses to run with it.\n  fix: add {settings_entry(ai.model)} to the configuration"
            )
        elif not rate.known:  # OpenRouter with a model the table lacks: known only if OpenRouter reports it
            print(
                f"\nwarning: {ai.name}: no price known in advance for model {model!r}: its calls are billed at the "
                "cost the provider reports, and show cost_usd null when it reports none; max_cost_usd refuses to "
                f"run with it.\n  fix: add {settings_entry(ai.model)} to the configuration"
            )
    return 1 if failures else 0


def _price(ai: AIConfig, rate: Rate) -> str:
    reported = billed_by(ai, rate) == "reported"
    if rate.input_per_million is None or rate.output_per_million is None:
        return "UNKNOWN" if rate.source == "unknown" else rate.source
    billed = ", billed as reported" if reported else ""
    return f"${rate.input_per_million:g}/${rate.output_per_million:g} ({rate.source}{billed})"
