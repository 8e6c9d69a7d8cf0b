"""Authentication (design.md "Security model"): the UI password, API tokens, login throttling.

The password hash is a setting row (hidden from the settings API); tokens are stored as
SHA-256 hashes (they are 256-bit random, so a slow hash adds nothing); the cookie-signing
secret lives in `<data-dir>/cookie-secret`, mode 0600.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .db.models import ApiToken, Setting, utcnow
from .db.writer import DbWriter

log = logging.getLogger(__name__)
T = TypeVar("T")

PASSWORD_SETTING = "_ui_password"  # hidden: names starting with "_" never leave the server
INITIAL_PASSWORD_FILE = "initial-password"
COOKIE_SECRET_FILE = "cookie-secret"
MIN_PASSWORD_LENGTH = 8
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str, salt: bytes | None = None) -> dict[str, Any]:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return {"scheme": "scrypt", "salt": salt.hex(), "hash": digest.hex(), "generation": 0}


def password_matches(password: str, stored: dict[str, Any]) -> bool:
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(stored["salt"]), dklen=32, **_SCRYPT)
    return hmac.compare_digest(digest.hex(), stored["hash"])


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _write_private(path: Path, text: str) -> None:
    """Create `path` readable by its owner only, never briefly world-readable."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def cookie_secret(data_dir: Path) -> str:
    path = Path(data_dir) / COOKIE_SECRET_FILE
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


@dataclass(frozen=True)
class Principal:
    """Who is making a request: the UI session or a named API token."""

    kind: str  # "session" or "token"
    name: str
    token_id: int | None = None  # a token's row id
    generation: int | None = None  # a session's password generation


@dataclass
class _KnownToken:
    id: int
    principal: Principal
    last_used_at: Any


class LoginThrottle:
    """Slows repeated failed logins per client: after 3 failures each answer waits longer."""

    FREE_FAILURES = 3
    MAX_DELAY_S = 30.0
    FORGET_AFTER_S = 900.0

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, tuple[int, float]] = {}

    def delay_s(self, client: str) -> float:
        count, last = self._failures.get(client, (0, 0.0))
        if count and self._clock() - last > self.FORGET_AFTER_S:
            self._failures.pop(client, None)
            return 0.0
        excess = count - self.FREE_FAILURES
        return 0.0 if excess < 0 else min(self.MAX_DELAY_S, 0.5 * 2**excess)

    def attempt(self, client: str) -> float:
        """Count an attempt as failed until it succeeds; return how long to wait before
        answering. Counting first means concurrent guesses each wait longer, too."""
        delay = self.delay_s(client)
        count, _ = self._failures.get(client, (0, 0.0))
        if len(self._failures) > 10_000:  # bound memory under a spray of addresses
            self._failures.clear()
        self._failures[client] = (count + 1, self._clock())
        return delay

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)


class Auth:
    """The password, the tokens and who is still logged in. Every write goes through the
    database writer and scrypt runs on its own thread, so neither stalls the IOLoop."""

    def __init__(self, sessions: sessionmaker[Session], data_dir: Path, writer: DbWriter) -> None:
        self._sessions = sessions
        self._writer = writer
        self.data_dir = Path(data_dir)
        self.throttle = LoginThrottle()
        self._generation: int | None = None
        self._tokens: dict[str, _KnownToken] = {}
        # scrypt costs ~50-100 ms of CPU and 16 MiB: one at a time, never on the loop's thread
        self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scrypt")
        self._ended_listeners: list[Callable[[str], None]] = []

    def close(self) -> None:
        self._hasher.shutdown(wait=False, cancel_futures=True)

    def ensure_password(self) -> None:
        """On first start, create a random password and write it where the owner can read it."""
        with self._sessions.begin() as session:
            if session.scalar(select(Setting).where(Setting.name == PASSWORD_SETTING)) is not None:
                return
            password = secrets.token_urlsafe(12)
            session.add(Setting(name=PASSWORD_SETTING, value=hash_password(password)))
            path = self.data_dir / INITIAL_PASSWORD_FILE
            _write_private(path, password + "\n")
        log.warning("first start: the initial UI password is in %s (readable by this user only)", path)

    @staticmethod
    def _stored_password(session: Session) -> Setting:
        row = session.scalar(select(Setting).where(Setting.name == PASSWORD_SETTING))
        if row is None:
            raise RuntimeError("no password set; ensure_password() runs at start")
        return row

    def _read_stored_password(self) -> dict[str, Any]:
        with self._sessions() as session:
            return dict(self._stored_password(session).value)

    async def _hashing(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._hasher, function, *args)

    def generation(self) -> int:
        """Changes with every password change, so older session cookies stop working."""
        if self._generation is None:
            self._generation = int(self._read_stored_password().get("generation", 0))
        return self._generation

    def session_principal(self) -> Principal:
        """The UI session of a cookie of the current password generation."""
        return Principal("session", "ui", generation=self.generation())

    async def check_password(self, password: str) -> bool:
        return await self._hashing(password_matches, password, self._read_stored_password())

    async def change_password(self, old: str, new: str) -> bool:
        """Set a new password if `old` is the current one; ends every session of the old one."""
        stored = self._read_stored_password()
        if not await self._hashing(password_matches, old, stored):
            return False
        fresh = await self._hashing(hash_password, new)
        fresh["generation"] = int(stored.get("generation", 0)) + 1

        def store(session: Session) -> bool:
            row = self._stored_password(session)
            if row.value != stored:  # another change landed while we hashed: `old` is stale
                return False
            row.value = fresh
            return True

        if not await self._writer.submit("password", store):
            return False
        self._generation = fresh["generation"]
        initial = self.data_dir / INITIAL_PASSWORD_FILE
        initial.unlink(missing_ok=True)  # it no longer says the truth
        self._ended("password changed")
        return True

    async def issue_token(self, name: str) -> tuple[int, str]:
        """Create a token named `name` (IntegrityError if the name is taken); the token
        itself is returned this once and only its hash is kept."""
        token = secrets.token_urlsafe(32)
        digest = hash_token(token)
        created_at = utcnow()

        def store(session: Session) -> int:
            row = ApiToken(name=name, hash=digest, created_at=created_at)
            session.add(row)
            session.flush()
            return row.id

        token_id = await self._writer.submit("tokens", store)
        self._tokens[digest] = _KnownToken(token_id, Principal("token", name, token_id=token_id), None)
        return token_id, token

    async def revoke_token(self, token_id: int) -> bool:
        """Delete a token; the connections it authenticated are told to end (`on_ended`)."""

        def delete(session: Session) -> bool:
            row = session.get(ApiToken, token_id)
            if row is None:
                return False
            session.delete(row)
            return True

        if not await self._writer.submit("tokens", delete):
            return False
        self._tokens = {digest: known for digest, known in self._tokens.items() if known.id != token_id}
        self._ended(f"API token {token_id} revoked")
        return True

    def load_tokens(self) -> None:
        """Cache the token hashes: checking a token must not cost a query per publish.
        Called at start; issue_token and revoke_token keep the cache in step."""
        with self._sessions() as session:
            self._tokens = {
                row.hash: _KnownToken(row.id, Principal("token", row.name, token_id=row.id), row.last_used_at)
                for row in session.scalars(select(ApiToken))
            }

    def principal_for_token(self, token: str) -> Principal | None:
        known = self._tokens.get(hash_token(token))
        if known is None:
            return None
        now = utcnow()
        # Record use at most once a minute: a script posting every second should not turn
        # each request into a database write. Nobody waits for this one.
        if known.last_used_at is None or (now - known.last_used_at).total_seconds() > 60:
            known.last_used_at = now
            token_id = known.id

            def record_use(session: Session) -> None:
                row = session.get(ApiToken, token_id)
                if row is not None:  # revoked meanwhile
                    row.last_used_at = now

            self._writer.enqueue("tokens", record_use)
        return known.principal

    def is_current(self, principal: Principal) -> bool:
        """False once the token was revoked, or the password changed since the session began."""
        if principal.kind == "token":
            return any(known.id == principal.token_id for known in self._tokens.values())
        return principal.generation == self.generation()

    def on_ended(self, listener: Callable[[str], None]) -> None:
        """Call `listener(reason)` after a revocation or password change, on the loop's
        thread; it ends what `is_current` no longer accepts (open WebSockets)."""
        self._ended_listeners.append(listener)

    def _ended(self, reason: str) -> None:
        log.info("credentials ended: %s", reason)
        for listener in self._ended_listeners:
            listener(reason)
