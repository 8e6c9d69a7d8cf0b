"""Who is asking: the UI session of a signed cookie, or the API token of a bearer header."""

from __future__ import annotations

import tornado.web

from ..auth import Principal
from .errors import ApiError

SESSION_COOKIE = "maelstrom_session"
SESSION_DAYS = 30


def session_principal(handler: tornado.web.RequestHandler) -> Principal | None:
    """The UI session of a signed cookie still valid for the current password."""
    value = handler.get_signed_cookie(SESSION_COOKIE, max_age_days=SESSION_DAYS)
    auth = handler.application.settings["maelstrom"].auth
    if value is None or value.decode() != str(auth.generation()):
        return None
    return auth.session_principal()


def set_session_cookie(handler: tornado.web.RequestHandler) -> None:
    """Log this client in: a signed cookie naming the current password generation."""
    auth = handler.application.settings["maelstrom"].auth
    handler.set_signed_cookie(
        SESSION_COOKIE, str(auth.generation()), expires_days=SESSION_DAYS, httponly=True, samesite="Strict"
    )


def request_principal(handler: tornado.web.RequestHandler) -> Principal | None:
    """The principal of an HTTP request: its bearer token (401 when it is malformed,
    unknown or revoked), else its session cookie, else None (anonymous)."""
    header = handler.request.headers.get("Authorization")
    if header is None:
        return session_principal(handler)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "Authorization must be 'Bearer <token>'")
    principal = handler.application.settings["maelstrom"].auth.principal_for_token(token.strip())
    if principal is None:
        raise ApiError(401, "unauthorized", "unknown or revoked API token")
    return principal
