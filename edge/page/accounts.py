"""Staff accounts and login sessions of the station page, in ``staff.sqlite3`` on the station box.

Passwords are stored as scrypt hashes (stdlib :func:`hashlib.scrypt`, n=2¹⁴, r=8, p=1, a random
16-byte salt each; RFC 7914 and OWASP's minimum), compared in constant time; an unknown user costs
the same hash so a login's timing does not reveal which names exist. Five failed logins in a row
lock the account for 15 minutes. A session is a random 256-bit token in an HttpOnly cookie; only
its SHA-256 is stored, with the session's CSRF token, language and expiry. Logging in replaces the
pre-login session (no fixation); logging out deletes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from telemetry.cases import STAFF_ID_PATTERN
from telemetry.identifiers import find_identifier

SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2**14, 8, 1, 32
MIN_PASSWORD_CHARS = 10
MAX_FAILURES = 5
LOCK_S = 15 * 60
ANONYMOUS_S = 3600
_DUMMY = (
    "scrypt$16384$8$1$" + base64.b64encode(b"0" * 16).decode() + "$" + base64.b64encode(b"0" * 32).decode()
)
_STAFF_RE = re.compile(STAFF_ID_PATTERN)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS staff (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL,
    display_name TEXT NOT NULL, created_at REAL NOT NULL, failures INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS session (token_hash TEXT PRIMARY KEY, username TEXT, csrf TEXT NOT NULL,
    lang TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL);
"""


class AccountError(ValueError):
    """A staff name or password that cannot be used; the message says why."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        dklen=SCRYPT_LEN,
        maxmem=64 * 1024 * 1024,
    )
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=64 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return scheme == "scrypt" and hmac.compare_digest(actual, expected)


def check_username(username: str) -> str:
    """Staff names become the ``actor`` of case events: the contract's pattern, no identifiers."""
    if not _STAFF_RE.fullmatch(username):
        raise AccountError(
            f"staff name must match {STAFF_ID_PATTERN} (letters, digits, _ . -; 2–32 characters)"
        )
    if find_identifier(username):
        raise AccountError("staff name looks like a phone or resident number")
    return username


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    username: str | None
    csrf: str
    lang: str
    display_name: str | None = None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(self, path: Path, session_s: float = 8 * 3600) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.session_s = session_s
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    # --- staff -------------------------------------------------------------------------------
    def add(self, username: str, password: str, display_name: str = "", replace: bool = False) -> None:
        check_username(username)
        if len(password) < MIN_PASSWORD_CHARS:
            raise AccountError(f"password needs at least {MIN_PASSWORD_CHARS} characters")
        record = (username, hash_password(password), display_name.strip()[:64] or username, time.time())
        with self._lock:
            exists = self._db.execute("SELECT 1 FROM staff WHERE username = ?", (username,)).fetchone()
            if exists and not replace:
                raise AccountError(f"staff account {username!r} exists (use --reset to set a new password)")
            self._db.execute("INSERT OR REPLACE INTO staff VALUES (?, ?, ?, ?, 0, 0)", record)
            if exists:
                self._db.execute("DELETE FROM session WHERE username = ?", (username,))

    def remove(self, username: str) -> bool:
        with self._lock:
            self._db.execute("DELETE FROM session WHERE username = ?", (username,))
            return self._db.execute("DELETE FROM staff WHERE username = ?", (username,)).rowcount == 1

    def usernames(self) -> list[tuple[str, str]]:
        with self._lock:
            return [
                (str(u), str(d))
                for u, d in self._db.execute("SELECT username, display_name FROM staff ORDER BY 1")
            ]

    def authenticate(self, username: str, password: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT password_hash, failures, locked_until FROM staff WHERE username = ?", (username,)
            ).fetchone()
        if row is None:
            verify_password(password, _DUMMY)  # same cost as a real check
            return False
        stored, failures, locked_until = str(row[0]), int(row[1]), float(row[2])
        ok = verify_password(password, stored)
        now = time.time()
        if now < locked_until:
            return False
        with self._lock:
            if ok:
                self._db.execute(
                    "UPDATE staff SET failures = 0, locked_until = 0 WHERE username = ?", (username,)
                )
            else:
                failures += 1
                lock = now + LOCK_S if failures >= MAX_FAILURES else 0
                self._db.execute(
                    "UPDATE staff SET failures = ?, locked_until = ? WHERE username = ?",
                    (0 if lock else failures, lock, username),
                )
        return ok

    # --- sessions ----------------------------------------------------------------------------
    def new_session(self, lang: str, username: str | None = None) -> Session:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = time.time()
        # A visitor who never logs in keeps a short session (it only carries the login form's token).
        ttl = self.session_s if username is not None else min(self.session_s, ANONYMOUS_S)
        with self._lock:
            self._db.execute("DELETE FROM session WHERE expires_at < ?", (now,))
            self._db.execute(
                "INSERT INTO session VALUES (?, ?, ?, ?, ?, ?)",
                (_token_hash(token), username, csrf, lang, now, now + ttl),
            )
        return self.session(token) or Session(token, username, csrf, lang)

    def session(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT s.username, s.csrf, s.lang, st.display_name FROM session s"
                " LEFT JOIN staff st ON st.username = s.username WHERE s.token_hash = ? AND s.expires_at > ?",
                (_token_hash(token), time.time()),
            ).fetchone()
        if row is None:
            return None
        username = None if row[0] is None or row[3] is None else str(row[0])  # a removed account logs out
        return Session(token, username, str(row[1]), str(row[2]), None if row[3] is None else str(row[3]))

    def set_lang(self, token: str, lang: str) -> None:
        with self._lock:
            self._db.execute("UPDATE session SET lang = ? WHERE token_hash = ?", (lang, _token_hash(token)))

    def end(self, token: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM session WHERE token_hash = ?", (_token_hash(token),))

    def close(self) -> None:
        with self._lock:
            self._db.close()
