"""Whose request this is, from the request's authenticated user: light enough for the stdio path.

Kept apart from `server.auth` (token and JWT verification, PyJWT) so that serving over stdio, where every
request is "local", never loads the HTTP authentication code.
"""

from __future__ import annotations

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

from junior_ai.core.principals import LOCAL, OAUTH_PREFIX

OAUTH_LOCAL = OAUTH_PREFIX + LOCAL
"""An OAuth subject named "local": someone else than the stdio and unauthenticated loopback callers."""


def oauth_principal(subject: str) -> str:
    """The principal of a verified JWT's `sub` (the JWT verifier names its tokens with it)."""
    return OAUTH_PREFIX + subject


def principal_of(subject: str | None, client_id: str | None) -> str:
    """The one mapping from a verified token's identity to a principal, for tool calls and for the session cap:
    the verifier already named it (a token's name, or `oauth:<sub>`); no identity at all is "local"."""
    return subject or client_id or LOCAL


def principal_of_user(user: object) -> str:
    """The principal of an authenticated request (`scope["user"]`), or "local" when there is none."""
    if isinstance(user, AuthenticatedUser):
        return principal_of(user.access_token.subject, user.access_token.client_id)
    return LOCAL
