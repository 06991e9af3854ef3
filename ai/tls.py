"""One TLS context for every SDK client in the process.

Each SDK client otherwise builds its own `ssl.SSLContext`, and building one loads the CA store: 10-30 ms of
CPU (more on a busy machine), two to four times per AI (openai's sync and async clients; google-genai's HTTP
and websocket contexts). An `SSLContext` is meant to be shared by many connections, so every client gets this
one. It is made exactly as httpx2 makes its default for `verify=True` (`SSL_CERT_FILE` / `SSL_CERT_DIR`
honoured), so what is trusted does not change.
"""

from __future__ import annotations

import ssl
import threading

_lock = threading.Lock()
_context: ssl.SSLContext | None = None


def shared_ssl_context() -> ssl.SSLContext:
    """The process's TLS context, built on first use (in a client-build thread, never on the event loop)."""
    global _context  # noqa: PLW0603 - one context per process is the point
    with _lock:
        if _context is None:
            import httpx2

            _context = httpx2.create_ssl_context()
        return _context
