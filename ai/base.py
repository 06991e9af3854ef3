"""The one client interface both providers implement."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Protocol

from junior_ai.ai.types import AIResponse, BatchOutcome, BatchPoll, GenerateRequest, StreamEvent
from junior_ai.core.config import AIConfig


class AIClient(Protocol):
    """One configured AI with its own async and sync SDK clients.

    Contract:
    - `generate` / `stream` use the async SDK client; `generate_sync` the sync one (run it in a worker thread).
    - Every SDK exception is translated into `core.errors` at the call site, cause chained. An async failure
      that is not an answer from the API (not an HTTP status, timeout or network error) raises
      `AsyncPathBrokenError`, which tells `call_ai_async` to fall back to `generate_sync`.
    - `timeout_s` bounds the HTTP exchange itself, so a sync call in a thread ends on its own.
    - `stream` yields `StreamDelta`s then exactly one `StreamEnd`. Until the first chunk, only `timeout_s`
      applies (a model may think for a long time first); once chunks flow, a silence longer than
      `idle_timeout_s` raises `IdleTimeoutError`. Closing or cancelling the iterator closes the HTTP stream.
    - `aclose` closes both SDK clients; calling it again does nothing.
    """

    @property
    def config(self) -> AIConfig: ...

    @property
    def async_ready(self) -> bool:
        """False when the async client could not be built; calls then go straight to the sync client."""
        ...

    async def generate(self, request: GenerateRequest, *, timeout_s: float) -> AIResponse: ...

    def stream(
        self, request: GenerateRequest, *, timeout_s: float, idle_timeout_s: float
    ) -> AsyncGenerator[StreamEvent, None]: ...

    def generate_sync(self, request: GenerateRequest, *, timeout_s: float) -> AIResponse: ...

    async def list_models(self) -> list[str]:
        """The provider's own model listing (ids as the API accepts them). Raises `ProviderError`."""
        ...

    async def submit_batch(self, requests: list[tuple[str, GenerateRequest]]) -> str:
        """Hand `(key, request)` pairs to the provider's own batch engine; returns its job id."""
        ...

    async def poll_batch(self, job_id: str) -> BatchPoll: ...

    async def batch_results(self, job_id: str) -> list[BatchOutcome]:
        """The answers of a finished job, each under the key it was submitted with."""
        ...

    async def aclose(self) -> None: ...
