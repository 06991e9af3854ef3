"""Building AI clients off the event loop: each provider's SDK is imported, and its clients built, in a daemon thread.

Why a thread of our own rather than `anyio.to_thread`: importing an SDK takes 0.4-0.6 s (longer on a busy
machine), cannot be interrupted, and anyio's worker threads are not daemon threads, so a process that is told
to stop while `import google.genai` runs would wait for the import before it could exit. A daemon thread is
simply left behind at exit.

Each provider gets one thread, started when the first of its AIs is asked for; it builds the queued AIs in
order and ends when its queue is empty. The first build pays for the SDK import, the others reuse it. Every
result is handed to the event loop through `deliver`, which runs on the loop and answers whether the client is
still wanted: when it is not (the registry was closed meanwhile, or the loop has ended), the thread closes the
client itself, so a client built during a shutdown is never left open.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import anyio
import anyio.from_thread
import anyio.lowlevel

from junior_ai.ai.base import AIClient
from junior_ai.ai.translate import detail
from junior_ai.core.config import AIConfig
from junior_ai.core.log import get_logger

log = get_logger(__name__)

ClientFactory = Callable[[AIConfig], AIClient]
"""Builds one AI's clients. Runs in a worker thread, so it may import its SDK (the first call pays for it)."""

Deliver = Callable[[AIClient | None, str | None], bool]
"""Called on the event loop with the built client (or None and the reason); returns False to refuse it."""

SDK_PACKAGES: Mapping[str, str] = {"gemini": "google-genai", "openai_compatible": "openai"}
"""The distribution each provider's SDK comes from, for the message when it cannot be imported."""


def build_gemini(config: AIConfig) -> AIClient:
    # Imported here, in the provider's build thread: the loop keeps answering while the SDK loads.
    from junior_ai.ai.gemini import GeminiClient

    return GeminiClient.build(config)


def build_openai_compatible(config: AIConfig) -> AIClient:
    from junior_ai.ai.openai_compat import OpenAICompatibleClient

    return OpenAICompatibleClient.build(config)


DEFAULT_FACTORIES: Mapping[str, ClientFactory] = {
    "gemini": build_gemini,
    "openai_compatible": build_openai_compatible,
}


def describe_build_failure(config: AIConfig, error: BaseException) -> str:
    """Why `config`'s clients could not be built, with the fix when it is a broken installation."""
    if isinstance(error, ImportError):
        package = SDK_PACKAGES.get(config.provider, "its SDK")
        return (
            f"the {package} package could not be imported ({type(error).__name__}: {detail(error)}). Fix: reinstall "
            f"it in the environment that runs junior-ai (pip install --force-reinstall '{package}'), then restart; "
            "the other AIs work meanwhile."
        )
    return f"{type(error).__name__}: {detail(error)}"


@dataclass
class _Job:
    config: AIConfig
    deliver: Deliver
    token: anyio.lowlevel.EventLoopToken


class ClientBuilder:
    """Builds clients in one daemon thread per provider, in the order they were asked for."""

    def __init__(self, factories: Mapping[str, ClientFactory] = DEFAULT_FACTORIES) -> None:
        self._factories = factories
        self._lock = threading.Lock()
        self._queues: dict[str, deque[_Job]] = {}
        self._running: set[str] = set()

    def build(self, config: AIConfig, deliver: Deliver) -> None:
        """Queue `config`'s clients; `deliver` receives them on the calling event loop. Never blocks."""
        job = _Job(config, deliver, anyio.lowlevel.current_token())
        provider = config.provider
        with self._lock:
            self._queues.setdefault(provider, deque()).append(job)
            if provider in self._running:
                return
            self._running.add(provider)
        thread = threading.Thread(target=self._run, args=(provider,), name=f"junior-ai build {provider}", daemon=True)
        thread.start()

    def _run(self, provider: str) -> None:
        while True:
            with self._lock:
                queue = self._queues[provider]
                if not queue:
                    self._running.discard(provider)
                    return
                job = queue.popleft()
            self._build_one(job)

    def _build_one(self, job: _Job) -> None:
        client: AIClient | None = None
        error: str | None = None
        factory = self._factories.get(job.config.provider)
        try:
            if factory is None:
                raise LookupError(f"no client factory for provider {job.config.provider!r}")
            client = factory(job.config)
        except BaseException as exc:  # any failure is this AI's alone (and this thread must deliver it)
            error = describe_build_failure(job.config, exc)
        try:
            accepted = anyio.from_thread.run_sync(job.deliver, client, error, token=job.token)
        except Exception:  # the event loop has ended: nobody will use or close this client but us
            accepted = False
        if not accepted and client is not None:
            _close_abandoned(client)


def _close_abandoned(client: AIClient) -> None:
    """Close a client nobody took, on a loop of its own (it never made a request, so nothing ties it to another)."""
    try:
        anyio.run(client.aclose)
    except Exception as exc:
        log.warning("abandoned_client_close_failed", ai=client.config.name, error=detail(exc))
