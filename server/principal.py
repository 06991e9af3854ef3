"""Whose request this is, from the request's authenticated user: light enough for the stdio path.

Kept apart from `server.auth` (token and JWT verification, PyJWT) so that serving over stdio, where every
request is "local", never loads the HTTP authentication code.
"""

from __future__ import annotations

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

from junior_ai.core.principals import LOCAL

OAUTH_LOCAL = "oauth:local"
"""An OAuth subject named "local": someone else than the stdio and unauthenticated loopback callers, whose threads
and usage "local" holds (no token name can contain ":", so this one is nobody else's either)."""


def principal_of_user(user: object) -> str:
    """The principal of an authenticated request (`scope["user"]`), or "local" when there is none."""
    if isinstance(user, AuthenticatedUser):
        token = user.access_token
        name = token.subject or token.client_id
        return OAUTH_LOCAL if name == LOCAL else name
    return LOCAL
