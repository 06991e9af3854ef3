"""Every error Junior AI raises on purpose, in one tree.

    JuniorAIError                      base; `status` is the machine-readable outcome
    ├── ConfigError                    bad or missing configuration (names file, AI, field, fix)
    ├── InvalidInputError (ValueError) a caller's argument is wrong (unknown AI, empty prompt, bad schema)
    │   └── NoAIConfiguredError        no AI is configured/enabled at all
    └── ProviderError                  a provider call failed; carries `ai`, `attempts`, `retryable`
        ├── AuthError                  key missing/wrong (by status or the provider's    status auth_error
        │                              reason, e.g. Gemini's 400 API_KEY_INVALID) or no access to the model
        ├── RateLimitedError           429 (`retry_after_s` when the provider said)      status rate_limited
        │   ├── CoolingDownError       skipped: the AI's circuit breaker is open         status cooling_down
        │   └── BudgetExhaustedError   not sent: the caller's daily budget is used up    status budget_exceeded
        ├── ProviderTimeoutError       deadline or idle timeout (also a TimeoutError)    status timeout
        ├── UnavailableError           5xx, connection refused/reset                     status unavailable
        ├── BadRequestError            400/404/422: the request or model name is wrong   status bad_request
        ├── ContentBlockedError        safety filter / empty candidates                  status blocked
        ├── MalformedResponseError     unparseable body, truncated stream                status error
        ├── UnexpectedClientError      a bug or an SDK exception nothing expects         status error
        └── InvalidOutputError         json_schema asked for, the answer failed it twice status invalid_output

`InvalidInputError` is also a `ValueError` and `ProviderTimeoutError` also a `TimeoutError`, so code that knows
nothing of Junior AI still catches them the way it catches Python's own.

SDK exceptions are translated into this tree once, at the SDK call site (`ai/openai_compat.py`,
`ai/gemini.py`), always with `raise ... from exc` so the cause survives for logs and debugging.
Messages are written for the person (or model) reading a tool result: what happened and what to do.
"""

from __future__ import annotations

from typing import Literal

from junior_ai.core.usage import TokenUsage

CallStatus = Literal[
    "ok",
    "timeout",
    "rate_limited",
    "auth_error",
    "bad_request",
    "unavailable",
    "blocked",
    "error",
    "cancelled",
    "cooling_down",
    "running",  # jobs (issue 18): still working in the background when the call returned
    "invalid_output",
    "budget_exceeded",  # issue 14: not sent, the principal's daily budget (usd_per_day) is used up
]
"""The outcome of one AI call, as reported in every result."""


class JuniorAIError(Exception):
    """Base of every error Junior AI raises deliberately."""

    status: CallStatus = "error"


class ConfigError(JuniorAIError):
    """The configuration cannot be used. The message names the file, the AI, the field and the fix."""


class InvalidInputError(JuniorAIError, ValueError):
    """A caller-supplied argument is invalid; the message says what was wrong and what is valid."""

    status: CallStatus = "bad_request"


class NoAIConfiguredError(InvalidInputError):
    """No AI is configured or enabled, so no tool can do anything useful."""


class ProviderError(JuniorAIError):
    """A call to one AI failed.

    `retryable` tells the retry loop whether another attempt can help; `http_status` is the provider's
    HTTP status when there was one.
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        ai: str,
        http_status: int | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.ai = ai
        self.http_status = http_status
        self.attempts = attempts

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class AuthError(ProviderError):
    """The provider refused the credentials. `key_rejected`: the key itself is wrong (every call will fail until
    it is fixed); False: the key is fine but may not use this model (another model may work)."""

    status: CallStatus = "auth_error"

    def __init__(
        self,
        message: str,
        *,
        ai: str,
        http_status: int | None = None,
        attempts: int = 1,
        key_rejected: bool = True,
    ) -> None:
        super().__init__(message, ai=ai, http_status=http_status, attempts=attempts)
        self.key_rejected = key_rejected


class RateLimitedError(ProviderError):
    status: CallStatus = "rate_limited"
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        ai: str,
        http_status: int | None = 429,
        attempts: int = 1,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, ai=ai, http_status=http_status, attempts=attempts)
        self.retry_after_s = retry_after_s


class ProviderTimeoutError(ProviderError, TimeoutError):
    status: CallStatus = "timeout"


class IdleTimeoutError(ProviderTimeoutError):
    """A stream stopped delivering chunks; another attempt may well succeed."""

    retryable = True


class UnavailableError(ProviderError):
    status: CallStatus = "unavailable"
    retryable = True


class BadRequestError(ProviderError):
    status: CallStatus = "bad_request"


class ContentBlockedError(ProviderError):
    status: CallStatus = "blocked"


class MalformedResponseError(ProviderError):
    status: CallStatus = "error"
    retryable = True


class InvalidOutputError(ProviderError):
    """A structured answer (json_schema) that was not valid JSON for the schema, even after one corrective retry.

    `text` is the AI's raw last answer and `validation_errors` the first problems found (JSON paths and what was
    wrong), so a caller can log, repair or re-ask. Never retried by the transport retry loop: asking the same
    thing a third time rarely helps.
    """

    status: CallStatus = "invalid_output"

    def __init__(
        self,
        message: str,
        *,
        ai: str,
        text: str,
        validation_errors: list[str],
        attempts: int = 1,
        model: str | None = None,
    ) -> None:
        super().__init__(message, ai=ai, attempts=attempts)
        self.text = text
        self.validation_errors = validation_errors
        self.model = model
        self.usage: TokenUsage | None = None
        """Tokens spent on both answers (they were paid for, even though neither was usable)."""
        self.cost_usd: float | None = None
        self.latency_ms: float = 0.0


class CoolingDownError(RateLimitedError):
    """Not sent at all: the AI failed repeatedly and is skipped until its cooldown passes (`retry_after_s`)."""

    status: CallStatus = "cooling_down"
    retryable = False


class BudgetExhaustedError(RateLimitedError):
    """Not sent at all: the principal's daily budget is used up until `retry_after_s` (midnight UTC). Not the AI's
    fault, and no retry helps today."""

    status: CallStatus = "budget_exceeded"
    retryable = False


class UnexpectedClientError(ProviderError):
    """Neither the provider nor the network: an exception our code or an SDK raised that nothing expects (a bug,
    an SDK `TypeError`). Not retried, no fallback, and it says nothing about the AI's health; the traceback is
    logged on stderr for a bug report."""

    status: CallStatus = "error"
    retryable = False


class AsyncPathBrokenError(ProviderError):
    """The async client failed in a way that is not an answer from the API (e.g. a closed or broken client).

    Internal: `call_ai_async` reacts by serving the call from the sync client instead.
    """

    status: CallStatus = "error"
