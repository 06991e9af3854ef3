"""Who may call over HTTP: static bearer tokens for small teams, or OAuth 2.1 JWTs for organisations.

Both are `TokenVerifier`s of the MCP SDK, so its middleware answers a request without a valid token with 401 and
a `WWW-Authenticate` header before any MCP processing. The principal of a request is the token's name (static
tokens) or `oauth:` and the JWT's subject (OAuth); `principal_of` reads it back inside a tool call.

Static tokens: only `sha256:<hex>` hashes live in the configuration; a presented token is hashed and compared
with every configured hash in constant time (no early exit, so timing tells nothing about which or how much
matched).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.request
from typing import Any

import anyio.to_thread
import jwt
from mcp.server.auth.provider import AccessToken

from junior_ai.core.config import OAuthSettings
from junior_ai.core.errors import ConfigError
from junior_ai.core.log import get_logger
from junior_ai.server.principal import oauth_principal

log = get_logger(__name__)

TOKEN_PREFIX = "jai_"  # noqa: S105 (a label, not a secret)


def new_token() -> str:
    """A fresh random bearer token (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


class StaticTokenVerifier:
    """Bearer tokens from `settings.http_tokens` (name -> sha256 hash)."""

    def __init__(self, hashes: dict[str, str], scopes: list[str] | None = None) -> None:
        self._hashes = [(name, bytes.fromhex(value.removeprefix("sha256:"))) for name, value in hashes.items()]
        self._scopes = list(scopes or [])  # a static token is fully trusted: it holds any scope OAuth requires

    async def verify_token(self, token: str) -> AccessToken | None:
        presented = hashlib.sha256(token.encode()).digest()
        found: str | None = None
        for name, expected in self._hashes:
            if hmac.compare_digest(presented, expected) and found is None:
                found = name
        if found is None:
            return None
        # The token itself is not kept: nothing downstream needs it, and what is not kept cannot leak.
        return AccessToken(token="", client_id=found, subject=found, scopes=self._scopes)


class JWTVerifier:
    """OAuth 2.1 access tokens: JWTs signed by `settings.oauth.issuer`'s keys (its JWKS), for this resource."""

    def __init__(self, settings: OAuthSettings) -> None:
        self._settings = settings
        self._jwks: jwt.PyJWKClient | None = None

    def _jwks_client(self) -> jwt.PyJWKClient:
        if self._jwks is None:
            url = self._settings.jwks_url or _discover_jwks(self._settings.issuer)
            self._jwks = jwt.PyJWKClient(url, lifespan=300, timeout=10)
        return self._jwks

    def _verify(self, token: str) -> AccessToken | None:
        settings = self._settings
        try:
            key = self._jwks_client().get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=settings.algorithms,
                audience=settings.audience or settings.resource,
                issuer=settings.issuer,
                options={"require": ["exp", "iss", "sub", "aud"]},
                leeway=30,
            )
        except (jwt.PyJWTError, ConfigError, OSError) as error:
            # PyJWT's reasons ("Signature has expired", "Invalid audience") name no part of the token.
            log.info("oauth_token_rejected", reason=f"{type(error).__name__}: {error}")
            return None
        subject = str(claims["sub"])
        if not subject.strip() or subject == "*":
            # "" would share one principal among every such token, "*" reads like the settings' wildcard.
            log.info("oauth_token_rejected", reason="unusable_subject")
            return None
        scopes = str(claims.get("scope", "")).split()
        missing = [scope for scope in settings.required_scopes if scope not in scopes]
        if missing:
            log.info("oauth_token_rejected", reason="missing_scopes", missing=missing)
            return None
        client = str(claims.get("client_id") or claims.get("azp") or subject)
        return AccessToken(
            token="",
            client_id=oauth_principal(client),
            subject=oauth_principal(subject),  # never a static token's name: see server.principal
            scopes=scopes,
            expires_at=int(claims["exp"]),
            claims={"iss": claims["iss"]},
        )

    async def verify_token(self, token: str) -> AccessToken | None:
        # PyJWKClient fetches keys with blocking urllib (cached for 5 minutes): off the event loop.
        return await anyio.to_thread.run_sync(self._verify, token)


def _discover_jwks(issuer: str) -> str:
    """The issuer's `jwks_uri`, from its OpenID or OAuth authorization-server metadata."""
    base = issuer.rstrip("/")
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        try:
            with urllib.request.urlopen(base + path, timeout=10) as response:  # noqa: S310 (the configured issuer)
                metadata = json.loads(response.read())
        except (OSError, ValueError):
            continue
        if isinstance(metadata, dict) and isinstance(metadata.get("jwks_uri"), str):
            return str(metadata["jwks_uri"])
    raise ConfigError(
        f"Could not find the JWKS of OAuth issuer {issuer}: neither {base}/.well-known/openid-configuration nor "
        "/.well-known/oauth-authorization-server names a jwks_uri. Set settings.oauth.jwks_url."
    )
