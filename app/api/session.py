"""Login, logout and password change for the UI (signed session cookie + XSRF token)."""

from __future__ import annotations

import asyncio

from ..web.errors import ApiError
from ..web.handler import JsonHandler
from ..web.principal import SESSION_COOKIE, set_session_cookie
from .crud import parse_model
from .schemas import LoginIn, PasswordIn


class LoginHandler(JsonHandler):
    open_to_all = True

    async def post(self) -> None:
        login = parse_model(LoginIn, self.json_body())
        auth = self.maelstrom.auth
        client = self.request.remote_ip or "?"
        delay = auth.throttle.attempt(client)
        if delay:
            await asyncio.sleep(delay)  # repeated failures answer ever more slowly
        if not await auth.check_password(login.password):  # scrypt, off the loop
            raise ApiError(401, "unauthorized", "wrong password", "password")
        auth.throttle.succeeded(client)
        set_session_cookie(self)
        # the XSRF token goes back in the body too; changes must echo it as X-XSRFToken
        self.send_json({"ok": True, "xsrf": self.xsrf_token.decode()})


class LogoutHandler(JsonHandler):
    open_to_all = True

    def post(self) -> None:
        self.clear_cookie(SESSION_COOKIE)
        self.send_json({"ok": True})


class PasswordHandler(JsonHandler):
    async def post(self) -> None:
        change = parse_model(PasswordIn, self.json_body())
        auth = self.maelstrom.auth
        client = self.request.remote_ip or "?"
        delay = auth.throttle.attempt(client)
        if delay:
            await asyncio.sleep(delay)
        if not await auth.change_password(change.old, change.new):
            raise ApiError(403, "forbidden", "the old password is wrong", "old")
        auth.throttle.succeeded(client)
        set_session_cookie(self)  # this session stays logged in; every other cookie is now void
        self.send_json({"ok": True})
