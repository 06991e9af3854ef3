"""Whose request this is, from the request's authenticated user: light enough for the stdio path.

Kept apart from `server.auth` (token and JWT verification, PyJWT) so that serving over stdio, where every
request is "local", never loads the HTTP authentication code.
"""

from __future__ import annotations

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

from junior_ai.core.principals import LOCAL


def principal_of_user(user: object) -> str:
    """The principal of an authenticated request (`scope["user"]`), or "local" when there is none."""
    if isinstance(user, AuthenticatedUser):
        token = user.access_token
        return token.subject or token.client_id
    return LOCAL
