"""The outermost HTTP layer: strict Host/Origin checks and unambiguous credentials, before routing or auth.

Why our own layer in front of the SDK's checks: the SDK matches `host:*` by prefix (so `127.0.0.1:1.evil.example`
passed) and compares names case-sensitively, and Starlette's slash redirects (`/mcp/` → 307 to `http://<Host>/mcp`)
ran before any check and echoed an attacker's Host. Here a Host is parsed into a name and a numeric port, names
compare case-insensitively, and the normalised (lower-case) Host/Origin is what the layers below see.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from junior_ai.core.hosts import parse_host

_ORIGIN = re.compile(r"^(https?)://(.+)$")


class HostRules:
    """The allowed Host values from `transport_security`'s list (`name`, `name:*`, `name:PORT`)."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self._exact: set[tuple[str, int | None]] = set()
        self._any_port: set[str] = set()
        for written in allowed:
            entry = written.lower()
            if entry.endswith(":*"):
                self._any_port.add(entry[:-2])
                continue
            parsed = parse_host(entry)
            if parsed is not None:
                self._exact.add(parsed)

    def allows(self, host: str) -> bool:
        parsed = parse_host(host)
        if parsed is None:
            return False
        name, port = parsed
        return parsed in self._exact or (port is not None and name in self._any_port)

    def allows_origin(self, origin: str) -> bool:
        match = _ORIGIN.match(origin.strip().lower())
        return match is not None and self.allows(match.group(2))


async def _plain(send: Send, status: int, body: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body.encode()})


class HostGuard:
    """Refuses a bad Host (421) or Origin (403) and a request with two Authorization headers (401), and makes a
    401 to a request that sent no credentials say just `Bearer` (RFC 6750 §3.1: no error code without a token)."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str], *, auth: bool) -> None:
        self._app = app
        self._rules = HostRules(allowed_hosts)
        self._auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if scope.get("path") == "/healthz":  # a load balancer polls by address; it carries no data
            await self._app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope["headers"])
        hosts = [v.decode("latin-1") for k, v in headers if k == b"host"]
        origins = [v.decode("latin-1") for k, v in headers if k == b"origin"]
        authorizations = [v for k, v in headers if k == b"authorization"]
        if len(hosts) != 1 or not self._rules.allows(hosts[0]):
            await _plain(send, 421, "Misdirected request: this Host is not served here.")
            return
        if len(origins) > 1 or (origins and not self._rules.allows_origin(origins[0])):
            await _plain(send, 403, "Forbidden: this Origin is not allowed.")
            return
        if self._auth and len(authorizations) > 1:
            challenge = b'Bearer error="invalid_request", error_description="more than one Authorization header"'
            await _plain(
                send, 401, "Unauthorized: send exactly one Authorization header.", [(b"www-authenticate", challenge)]
            )
            return
        normalised = [
            (k, v.lower()) if k in (b"host", b"origin") else (k, v) for k, v in headers
        ]  # the SDK's own (case-sensitive) check then agrees with ours
        scope = dict(scope, headers=normalised)
        if not self._auth or authorizations:
            await self._app(scope, receive, send)
            return

        async def plain_challenge(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                message = dict(message, headers=[_without_error(k, v) for k, v in message.get("headers", [])])
            await send(message)

        await self._app(scope, receive, plain_challenge)


def _without_error(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    """`Bearer error=..., resource_metadata="..."` → `Bearer resource_metadata="..."` (or just `Bearer`)."""
    if name.lower() != b"www-authenticate":
        return name, value
    kept = [p.strip() for p in value.decode("latin-1").removeprefix("Bearer").split(",") if "resource_metadata=" in p]
    return name, ("Bearer " + ", ".join(kept) if kept else "Bearer").encode("latin-1")
