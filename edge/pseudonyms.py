"""Station-local pseudonym → member id lookup, so staff can resolve an alert (`edge whois`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


class PseudonymStore:
    """SQLite table on the station box only; its contents never go uplink."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS pseudonym (pseudonym TEXT PRIMARY KEY, member_id TEXT NOT NULL)"
        )
        self._known: set[str] = set()

    def remember(self, pseudonym: str, member_id: str) -> None:
        if pseudonym in self._known:
            return
        self._db.execute("INSERT OR REPLACE INTO pseudonym VALUES (?, ?)", (pseudonym, member_id))
        self._known.add(pseudonym)

    def whois(self, pseudonym: str) -> str | None:
        row = self._db.execute("SELECT member_id FROM pseudonym WHERE pseudonym = ?", (pseudonym,)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        self._db.close()
