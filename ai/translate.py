"""Shared pieces of SDK-error translation: the HTTP status → error class rule and the actionable texts.

Each SDK module catches its own exception types and calls these, so both providers word the same failure
the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from junior_ai.ai.retry import parse_retry_after
from junior_ai.core.config import AIConfig
from junior_ai.core.errors import (
    AuthError,
    BadRequestError,
    ContentBlockedError,
    IdleTimeoutError,
    MalformedResponseError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    UnavailableError,
)
from junior_ai.core.redact import redact

_MAX_DETAIL = 300


def detail(text: object) -> str:
    """The provider's own words, redacted and cut short enough for a tool result."""
    cleaned = redact(" ".join(str(text).split()))
    return cleaned if len(cleaned) <= _MAX_DETAIL else cleaned[: _MAX_DETAIL - 1] + "…"


def error_from_status(
    config: AIConfig,
    status: int,
    provider_message: object,
    headers: Mapping[str, str] | None,
    attachments: Sequence[str] = (),
) -> ProviderError:
    """Map an HTTP error answer to our error tree, with a fix the reader can act on. `attachments` are the
    images and PDFs the request carried: a 4xx about them names them."""
    name = config.name
    said = detail(provider_message)
    if attachments and status in (400, 413, 415, 422) and _about_attachments(said):
        return BadRequestError(
            f"{name} did not accept {', '.join(attachments)} (HTTP {status}: {said}). Fix: ask an AI whose model "
            "reads images and PDFs (list_ais), or leave the file out; the other AIs were asked as usual.",
            ai=name,
            http_status=status,
        )
    if status in (401, 403):
        where = "credentials.json" if config.key_source == "file" else config.key_source
        return AuthError(
            f"{name} rejected the request (HTTP {status}: {said}). Fix: check the API key for '{name}' "
            f"(from {where}) and that it has access to model '{config.model}'.",
            ai=name,
            http_status=status,
        )
    if status == 429:
        retry_after = parse_retry_after(headers)
        when = f"; retry after {retry_after:.0f} s" if retry_after is not None else ""
        return RateLimitedError(
            f"rate limited by {name} (HTTP 429: {said}){when}.",
            ai=name,
            retry_after_s=retry_after,
        )
    if status == 408 or status >= 500:
        return UnavailableError(
            f"{name} is unavailable (HTTP {status}: {said}). It may recover shortly; try again or ask another AI.",
            ai=name,
            http_status=status,
        )
    if status == 404:
        return BadRequestError(
            f'{name} does not know this model or endpoint (HTTP 404: {said}). Fix: check "model" '
            f"('{config.model}') and \"base_url\" for '{name}'.",
            ai=name,
            http_status=status,
        )
    return BadRequestError(
        f"{name} rejected the request (HTTP {status}: {said}). Fix: check the arguments "
        "(temperature, max_tokens, json_schema) and the model name.",
        ai=name,
        http_status=status,
    )


_ATTACHMENT_WORDS = ("image", "file", "pdf", "content type", "multimodal", "vision", "mime", "modality", "inline")


def _about_attachments(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in _ATTACHMENT_WORDS)


def connection_error(config: AIConfig, cause: BaseException) -> UnavailableError:
    return UnavailableError(
        f"could not reach {config.name} at {redact(config.base_url or 'its default endpoint')} "
        f"({type(cause).__name__}: {detail(cause) or 'connection failed'}). Fix: check the network and "
        f'"base_url"; for a local server (Ollama, LM Studio, vLLM) make sure it is running.',
        ai=config.name,
    )


def timeout_error(config: AIConfig, timeout_s: float) -> ProviderTimeoutError:
    return ProviderTimeoutError(
        f"{config.name} did not answer within {timeout_s:.1f} s. Fix: raise timeout_s, shorten the prompt, "
        "or ask a faster model.",
        ai=config.name,
    )


def idle_error(config: AIConfig, idle_timeout_s: float) -> IdleTimeoutError:
    return IdleTimeoutError(
        f"{config.name} stopped sending for {idle_timeout_s:.1f} s mid-answer (stalled stream).", ai=config.name
    )


def blocked_error(config: AIConfig, reason: str) -> ContentBlockedError:
    return ContentBlockedError(
        f"{config.name} withheld its answer ({reason}). Rephrase the prompt or ask another AI.", ai=config.name
    )


def silence_error(config: AIConfig, first: bool, timeout_s: float, idle_timeout_s: float) -> ProviderError:
    """A stream that produced nothing in time: before its first chunk that is the call's timeout, after it a stall."""
    return timeout_error(config, timeout_s) if first else idle_error(config, idle_timeout_s)


def incomplete_stream_error(config: AIConfig) -> MalformedResponseError:
    return MalformedResponseError(
        f"{config.name}'s stream ended before the answer was complete (no finish reason).", ai=config.name
    )
