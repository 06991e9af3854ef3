"""`junior-ai serve --transport streamable-http`: the HTTP app with its guards.

- Authentication (`server.auth`): with `http_tokens` or `oauth` configured, every /mcp request needs a valid
  bearer token; without one it gets 401 + `WWW-Authenticate` from the SDK's middleware before any MCP work.
- Safe binding: a non-loopback bind without authentication is refused at start, unless `--insecure-no-auth`
  (for a container behind an authenticating proxy), which is then warned about at every start.
- DNS rebinding: Host and Origin are checked on every bind address (loopback names, the bind address, and
  `settings.allowed_hosts`).
- Sessions: capped in total and per principal, closed after `session_idle_timeout_s` without a request. With a
  shared state (`state_url`), HTTP is stateless: any replica answers any request.
- `/healthz`: no auth, no data; 200 while this replica (and its shared state) can serve, else 503.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthorizationContext, BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from mcp.server.auth.settings import AuthSettings
from mcp.server.streamable_http import StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from junior_ai.core.config import Settings
from junior_ai.core.errors import ConfigError
from junior_ai.core.log import get_logger
from junior_ai.core.principals import LOCAL
from junior_ai.core.state import StateStore, StateUnavailableError
from junior_ai.server.auth import JWTVerifier, StaticTokenVerifier
from junior_ai.server.http_guard import HostGuard
from junior_ai.server.principal import principal_of

log = get_logger(__name__)

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
HEALTH_TIMEOUT_S = 1.5
"""/healthz answers 503 when the shared state has not answered within this (load balancers probe with ~2-5 s)."""


class BindRefusedError(ConfigError):
    """Serving a non-loopback address without authentication."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ChainedVerifier:
    """Static tokens first (a dict lookup), then OAuth JWTs."""

    def __init__(self, verifiers: list[TokenVerifier]) -> None:
        self._verifiers = verifiers

    async def verify_token(self, token: str) -> AccessToken | None:
        for verifier in self._verifiers:
            found = await verifier.verify_token(token)
            if found is not None:
                return found
        return None


def token_verifier(settings: Settings) -> TokenVerifier | None:
    verifiers: list[TokenVerifier] = []
    if settings.http_tokens:
        scopes = settings.oauth.required_scopes if settings.oauth else []
        verifiers.append(StaticTokenVerifier(settings.http_tokens, scopes))
    if settings.oauth is not None:
        verifiers.append(JWTVerifier(settings.oauth))
    return ChainedVerifier(verifiers) if verifiers else None


def check_binding(host: str, settings: Settings, *, insecure_no_auth: bool) -> None:
    """Refuse a non-loopback bind without authentication (one line saying how to fix it)."""
    authenticated = bool(settings.http_tokens) or settings.oauth is not None
    if authenticated or is_loopback(host):
        return
    if insecure_no_auth:
        log.warning(
            "serving_without_authentication",
            host=host,
            detail="--insecure-no-auth: anyone who reaches this port spends your provider keys; only run it "
            "behind a proxy that authenticates every request",
        )
        return
    raise BindRefusedError(
        f"refusing to serve {host} without authentication: add tokens (`junior-ai token new NAME`, then paste the "
        "line into settings.http_tokens) or settings.oauth, bind 127.0.0.1, or pass --insecure-no-auth behind an "
        "authenticating proxy."
    )


def transport_security(host: str, port: int, settings: Settings) -> TransportSecuritySettings:
    """Host/Origin allow-lists for DNS-rebinding protection, on for every bind address."""
    names = [*LOOPBACK_NAMES]
    if not is_loopback(host) and host not in ("0.0.0.0", "::"):  # noqa: S104 (a name, not a bind)
        names.append(f"[{host}]" if ":" in host else host)
    if host in ("0.0.0.0", "::"):  # noqa: S104
        names.append(socket.gethostname())
    names.extend(settings.allowed_hosts)
    hosts: list[str] = []
    origins: list[str] = []
    for name in (name.lower() for name in names):  # the guard hands the SDK a lower-cased Host (e.g. a hostname)
        base = name if name.endswith(":*") or _has_port(name) else None
        for value in [base] if base else [name, f"{name}:*"]:
            hosts.append(value)
            origins.extend([f"http://{value}", f"https://{value}"])
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def _has_port(name: str) -> bool:
    tail = name.rsplit("]", 1)[-1]
    return ":" in tail and tail.rsplit(":", 1)[1].isdigit()


class PrincipalSessionManager(StreamableHTTPSessionManager):
    """The SDK's session manager with a cap on the sessions one principal may hold open (so one client that
    opens sessions and walks away cannot lock the others out)."""

    def __init__(self, *args: Any, max_per_principal: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_per_principal = max_per_principal
        self._principal_of_session: dict[str, str] = {}

    @staticmethod
    def _principal(requestor: AuthorizationContext | None) -> str:
        if requestor is None:
            return LOCAL
        return principal_of(requestor["subject"], requestor["client_id"])  # the same name tool calls see

    def _admit_session(self, requestor: AuthorizationContext | None) -> StreamableHTTPServerTransport | None:
        principal = self._principal(requestor)
        held = sum(1 for owner in self._principal_of_session.values() if owner == principal)
        if held >= self.max_per_principal:
            log.warning("session_refused", principal=principal, open_sessions=held, limit=self.max_per_principal)
            return None
        transport = super()._admit_session(requestor)
        if transport is not None and transport.mcp_session_id is not None:
            self._principal_of_session[transport.mcp_session_id] = principal
        return transport

    async def _discard_session(self, session_id: str, transport: StreamableHTTPServerTransport) -> None:
        principal = self._principal_of_session.pop(session_id, None)
        if principal is not None:
            log.info("session_closed", session=session_id, principal=principal)
        await super()._discard_session(session_id, transport)


def build_http_app(
    lowlevel: Any,
    settings: Settings,
    state: StateStore,
    *,
    host: str,
    port: int,
) -> Starlette:
    """The Starlette app serving `lowlevel` (an MCP low-level server) at /mcp, plus /healthz. The caller has
    checked the binding (`check_binding`) before it listens."""
    security = transport_security(host, port, settings)
    manager = PrincipalSessionManager(
        app=lowlevel,
        stateless=state.shared,
        security_settings=security,
        session_idle_timeout=settings.session_idle_timeout_s,
        max_sessions=settings.max_sessions,
        max_per_principal=settings.max_sessions_per_principal,
    )
    mcp_app: Any = StreamableHTTPASGIApp(manager)
    routes: list[Route] = []
    verifier = token_verifier(settings)
    # Outermost: Host/Origin before routing (no slash redirect echoes a Host) and before auth.
    middleware = [Middleware(HostGuard, allowed_hosts=security.allowed_hosts, auth=verifier is not None)]
    if verifier is not None:
        oauth = settings.oauth
        # AuthSettings keeps the URLs exactly as written (an issuer is compared as a string, RFC 8414).
        urls = (
            AuthSettings(issuer_url=oauth.issuer, resource_server_url=oauth.resource, validate_token_resource=False)  # type: ignore[arg-type]
            if oauth
            else None
        )
        metadata_url = (
            build_resource_metadata_url(urls.resource_server_url) if urls and urls.resource_server_url else None
        )
        middleware += [
            Middleware(AuthenticationMiddleware, backend=BearerAuthBackend(verifier)),
            Middleware(AuthContextMiddleware),
        ]
        mcp_app = RequireAuthMiddleware(mcp_app, oauth.required_scopes if oauth else [], metadata_url)
        if oauth is not None and urls is not None and urls.resource_server_url is not None:
            routes.extend(
                create_protected_resource_routes(
                    resource_url=urls.resource_server_url,
                    authorization_servers=[urls.issuer_url],
                    scopes_supported=oauth.required_scopes or None,
                )
            )

    async def healthz(_request: Request) -> Response:
        # A hung Redis (paused, or a network path that drops packets) would hold this for the client's 10 s socket
        # timeout, past most load balancers' probe timeouts: a store that cannot answer in time is unhealthy.
        with anyio.move_on_after(HEALTH_TIMEOUT_S):
            try:
                await state.get("healthz")
            except StateUnavailableError:
                return PlainTextResponse("unavailable", status_code=503)
            return PlainTextResponse("ok")
        log.warning("healthz_state_timeout", timeout_s=HEALTH_TIMEOUT_S)
        return PlainTextResponse("unavailable", status_code=503)

    routes.append(Route("/mcp", endpoint=mcp_app))
    routes.append(Route("/healthz", endpoint=healthz, methods=["GET", "HEAD"]))

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            log.info(
                "http_serving",
                host=host,
                port=port,
                auth="tokens+oauth"
                if settings.http_tokens and settings.oauth
                else "oauth"
                if settings.oauth
                else "tokens"
                if settings.http_tokens
                else "none",
                stateless=state.shared,
                allowed_hosts=security.allowed_hosts,
            )
            yield

    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.router.redirect_slashes = False  # /mcp/ is a 404, never a 307 to http://<whatever Host was sent>/mcp
    return app
