"""The on-disk queue between device intake and uplink (DESIGN invariant 1).

SQLite in WAL mode with synchronous=FULL: a row is durable when put() returns, so the device
message can be acknowledged; a row is deleted only after the central broker's PUBACK. Rows leave
in insertion order, which keeps per-device order. Bounded by bytes: put() refuses when full.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path


class SpoolFull(Exception):
    """The spool holds its configured maximum; the message is refused, never dropped silently."""


@dataclass(frozen=True, slots=True)
class Spooled:
    seq: int
    topic: str
    payload: bytes


class Spool:
    def __init__(self, path: Path, max_bytes: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,"
            " payload BLOB NOT NULL, spooled_at REAL NOT NULL)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS dead_letter (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL,"
            " topic TEXT, reason TEXT, detail TEXT)"
        )
        row = self._db.execute(
            "SELECT COALESCE(SUM(LENGTH(payload) + LENGTH(topic)), 0) FROM spool"
        ).fetchone()
        self._bytes = int(row[0])

    def put(self, topic: str, payload: bytes) -> int:
        size = len(payload) + len(topic)
        with self._lock:
            if self._bytes + size > self.max_bytes:
                raise SpoolFull(f"spool holds {self._bytes} bytes of {self.max_bytes}")
            cursor = self._db.execute(
                "INSERT INTO spool (topic, payload, spooled_at) VALUES (?, ?, ?)",
                (topic, payload, time.time()),
            )
            self._bytes += size
            return int(cursor.lastrowid or 0)

    def after(self, seq: int, limit: int) -> list[Spooled]:
        """Rows after ``seq`` in order (the uplink's read cursor)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, topic, payload FROM spool WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
            ).fetchall()
        return [Spooled(int(s), str(t), bytes(p)) for s, t, p in rows]

    def delete(self, seq: int) -> None:
        with self._lock:
            row = self._db.execute(
                "SELECT LENGTH(payload) + LENGTH(topic) FROM spool WHERE seq = ?", (seq,)
            ).fetchone()
            if row is None:
                return
            self._db.execute("DELETE FROM spool WHERE seq = ?", (seq,))
            self._bytes -= int(row[0])

    def dead_letter(self, topic: str, reason: str, detail: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO dead_letter (at, topic, reason, detail) VALUES (?, ?, ?, ?)",
                (time.time(), topic, reason, detail),
            )

    def dead_letters(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(str(r), str(d)) for r, d in self._db.execute("SELECT reason, detail FROM dead_letter")]

    def depth(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM spool").fetchone()[0])

    @property
    def bytes(self) -> int:
        return self._bytes

    def oldest_age_s(self) -> float:
        with self._lock:
            row = self._db.execute("SELECT MIN(spooled_at) FROM spool").fetchone()
        return 0.0 if row[0] is None else max(0.0, time.time() - float(row[0]))

    def close(self) -> None:
        self._db.close()
