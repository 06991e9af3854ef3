"""Shared pieces of SDK-error translation: the HTTP status → error class rule and the actionable texts.

Each SDK module catches its own exception types and calls these, so both providers word the same failure
the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import anyio

from junior_ai.ai.retry import parse_retry_after
from junior_ai.core.config import AIConfig
from junior_ai.core.errors import (
    AsyncPathBrokenError,
    AuthError,
    BadRequestError,
    ContentBlockedError,
    IdleTimeoutError,
    MalformedResponseError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    UnavailableError,
    UnexpectedClientError,
)
from junior_ai.core.log import get_logger
from junior_ai.core.redact import redact

log = get_logger(__name__)

_MAX_DETAIL = 300


def detail(text: object) -> str:
    """The provider's own words, redacted and cut short enough for a tool result."""
    cleaned = redact(" ".join(str(text).split()))
    return cleaned if len(cleaned) <= _MAX_DETAIL else cleaned[: _MAX_DETAIL - 1] + "…"


# What providers put in an error body's reason/code/type/status when the key itself is wrong. Gemini answers a
# wrong key with HTTP 400 INVALID_ARGUMENT + reason API_KEY_INVALID; OpenAI-compatible servers use 400, 401 or 403
# with codes such as invalid_api_key.
_KEY_REASONS = {
    "api_key_invalid",
    "api_key_expired",
    "api_key_not_found",
    "invalid_api_key",
    "incorrect_api_key",
    "authentication_error",
    "authenticationerror",
    "invalid_authentication",
    "unauthenticated",
    "unauthorized",
    "access_token_expired",
    "access_token_type_unsupported",
    "credentials_missing",
}
_KEY_WORDS = ("api key not valid", "invalid api key", "incorrect api key", "api key expired", "invalid x-api-key")
# ... and when the key is fine but may not use this model.
_ACCESS_REASONS = {"model_not_accessible", "no_model_access"}
_ACCESS_WORDS = ("do not have access to", "does not have access to", "not allowed to use", "no access to model")


def provider_reasons(body: object) -> set[str]:
    """Every reason/code/type/status string in a provider's error body, lower-cased (both protocols' shapes)."""
    found: set[str] = set()

    def walk(value: Any, depth: int) -> None:
        if depth > 4:
            return
        if isinstance(value, Mapping):
            for key in ("reason", "code", "type", "status"):
                item = value.get(key)
                if isinstance(item, str) and item:
                    found.add(item.strip().lower())
            for key in ("error", "details"):
                if key in value:
                    walk(value[key], depth + 1)
        elif isinstance(value, list):
            for item in value[:10]:
                walk(item, depth + 1)

    walk(body, 0)
    return found


def _key_source(config: AIConfig) -> str:
    return "credentials.json" if config.key_source == "file" else config.key_source


def error_from_status(
    config: AIConfig,
    status: int,
    provider_message: object,
    headers: Mapping[str, str] | None,
    attachments: Sequence[str] = (),
    body: object = None,
) -> ProviderError:
    """Map an HTTP error answer to our error tree, with a fix the reader can act on. `attachments` are the
    images and PDFs the request carried: a 4xx about them names them.

    The provider's own reason/code (from `body`) decides before the status does: a 400 that says the key is
    invalid is an auth error, not the caller's bad arguments.
    """
    name = config.name
    said = detail(provider_message)
    if attachments and status in (400, 413, 415, 422) and _about_attachments(said):
        return BadRequestError(
            f"{name} did not accept {', '.join(attachments)} (HTTP {status}: {said}). Fix: ask an AI whose model "
            "reads images and PDFs (list_ais), or leave the file out; the other AIs were asked as usual.",
            ai=name,
            http_status=status,
        )
    reasons = provider_reasons(body)
    lowered = str(provider_message).lower()
    key_by_reason = bool(reasons & _KEY_REASONS) or any(word in lowered for word in _KEY_WORDS)
    model_denied = (
        status in (400, 403, 404)
        and not key_by_reason
        and (bool(reasons & _ACCESS_REASONS) or any(word in lowered for word in _ACCESS_WORDS))
    )
    key_rejected = not model_denied and (status in (401, 403) or (status in (400, 404) and key_by_reason))
    if key_rejected:
        return AuthError(
            f"{name} rejected its API key (HTTP {status}: {said}). Fix: check the API key for '{name}' "
            f"(it comes from {_key_source(config)}): it may be missing, wrong, expired or revoked; and check that it "
            f"has access to model '{config.model}'.",
            ai=name,
            http_status=status,
            key_rejected=True,
        )
    if model_denied:
        return AuthError(
            f"{name}'s API key (from {_key_source(config)}) has no access to this model (HTTP {status}: {said}). "
            f"Fix: use a model the key may use (list_ais with models=true), or enable access for the key.",
            ai=name,
            http_status=status,
            key_rejected=False,
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


def _broken_transport(exc: BaseException) -> bool:
    """The known ways an async client's transport breaks without any answer from the API: the client (or its event
    loop) was closed under it. Only these make the sync client worth trying."""
    if isinstance(exc, anyio.ClosedResourceError | anyio.BrokenResourceError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        "client has been closed" in text or "Event loop is closed" in text or "attached to a different" in text
    )


def unexpected_error(config: AIConfig, exc: Exception, *, async_path: bool) -> ProviderError:
    """An exception no SDK-error rule matched: a broken async transport (served by the sync fallback), else a bug,
    logged with its traceback and reported as a non-retryable `error` that does not count against the AI."""
    if async_path and _broken_transport(exc):
        return AsyncPathBrokenError(
            f"{config.name}'s async client failed ({type(exc).__name__}: {detail(exc)})", ai=config.name
        )
    log.error("unexpected_client_error", ai=config.name, error=f"{type(exc).__name__}: {detail(exc)}", exc_info=exc)
    return UnexpectedClientError(
        f"{config.name}: the call failed inside Junior AI or its SDK ({type(exc).__name__}: {detail(exc)}). This is "
        "not the provider's answer; the details are in the server log (stderr). Try again or ask another AI.",
        ai=config.name,
    )


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
