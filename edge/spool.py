"""The on-disk queue between device intake and uplink (architecture: "No loss, no double").

SQLite in WAL mode with synchronous=FULL: a row is durable when put() returns, so the device
message can be acknowledged. A row leaves only when the central side has it: on a gateway's
receipt naming its message id or the digest of its bytes (:meth:`Spool.confirm`; the broker's
PUBACK only marks it :meth:`Spool.sent`), or — with receipts off — on the PUBACK itself
(:meth:`Spool.delete`). A sent row no receipt has named is due again after the receipt timeout,
doubling per attempt (:meth:`Spool.overdue`). Rows leave in insertion order, which keeps
per-device order. Bounded by bytes: put() refuses when full.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from telemetry.receipts import digest

MAX_BACKOFF_DOUBLINGS = 6  # a row unconfirmed for long is re-sent at most every 64 receipt timeouts


SPOOL_FILE = "spool.sqlite3"  # in the agent's spool_dir


def waiting_in(spool_dir: Path) -> int:
    """Messages waiting in the spool under ``spool_dir``, read from another process while the agent
    runs (read-only; SQLite's locking keeps it consistent). Raises ``sqlite3.Error`` if unreadable."""
    uri = f"file:{spool_dir / SPOOL_FILE}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=1)) as db:
        return int(db.execute("SELECT COUNT(*) FROM spool").fetchone()[0])


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
        self._add_receipt_columns()
        row = self._db.execute(
            "SELECT COALESCE(SUM(LENGTH(payload) + LENGTH(topic)), 0) FROM spool"
        ).fetchone()
        self._bytes = int(row[0])

    def _add_receipt_columns(self) -> None:
        """Spools written before receipts lack their columns: add them (a NULL digest is computed)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(spool)")}
        for name, kind in (("message_id", "TEXT"), ("digest", "TEXT"), ("sent_at", "REAL")):
            if name not in columns:
                self._db.execute(f"ALTER TABLE spool ADD COLUMN {name} {kind}")
        if "attempts" not in columns:
            self._db.execute("ALTER TABLE spool ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0")
        for seq, payload in self._db.execute(
            "SELECT seq, payload FROM spool WHERE digest IS NULL"
        ).fetchall():
            self._db.execute("UPDATE spool SET digest = ? WHERE seq = ?", (digest(bytes(payload)), seq))
        self._db.execute("CREATE INDEX IF NOT EXISTS spool_message_id ON spool (message_id)")
        self._db.execute("CREATE INDEX IF NOT EXISTS spool_digest ON spool (digest)")

    def put(self, topic: str, payload: bytes, message_id: str | None = None) -> int:
        """Spool one message; ``message_id`` is the reading's contract id (a receipt may name it)."""
        size = len(payload) + len(topic)
        with self._lock:
            if self._bytes + size > self.max_bytes:
                raise SpoolFull(f"spool holds {self._bytes} bytes of {self.max_bytes}")
            cursor = self._db.execute(
                "INSERT INTO spool (topic, payload, spooled_at, message_id, digest) VALUES (?, ?, ?, ?, ?)",
                (topic, payload, time.time(), message_id, digest(payload)),
            )
            self._bytes += size
            return int(cursor.lastrowid or 0)

    def sent(self, seqs: Iterable[int], at: float | None = None) -> None:
        """The broker took these rows (PUBACK 0x00): they wait for a receipt from here."""
        stamp = time.time() if at is None else at
        with self._lock:
            self._db.executemany(
                "UPDATE spool SET sent_at = ?, attempts = attempts + 1 WHERE seq = ?",
                [(stamp, s) for s in seqs],
            )

    def confirm(self, message_ids: Iterable[str], digests: Iterable[str]) -> list[str]:
        """Delete the rows a receipt names (by message id or by digest); returns their topics."""
        ids, sums = list(message_ids), list(digests)
        gone: dict[int, tuple[str, int]] = {}
        with self._lock:
            for column, names in (("message_id", ids), ("digest", sums)):
                for start in range(0, len(names), 500):  # SQLite's limit on bound parameters
                    chunk = names[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    query = (
                        "SELECT seq, topic, LENGTH(payload) + LENGTH(topic) FROM spool "
                        f"WHERE {column} IN ({marks})"
                    )
                    for seq, topic, size in self._db.execute(query, chunk):
                        gone[int(seq)] = (str(topic), int(size))
            if gone:
                self._db.executemany("DELETE FROM spool WHERE seq = ?", [(seq,) for seq in gone])
                self._bytes -= sum(size for _, size in gone.values())
        return [topic for topic, _ in gone.values()]

    def overdue(self, timeout_s: float, limit: int, now: float | None = None) -> list[Spooled]:
        """Sent rows no receipt has named within ``timeout_s`` × 2^(attempts − 1), oldest first."""
        stamp = time.time() if now is None else now
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, topic, payload FROM spool WHERE sent_at IS NOT NULL AND sent_at + ? * "
                f"(1 << MIN(MAX(attempts - 1, 0), {MAX_BACKOFF_DOUBLINGS})) < ? ORDER BY seq LIMIT ?",
                (timeout_s, stamp, limit),
            ).fetchall()
        return [Spooled(int(s), str(t), bytes(p)) for s, t, p in rows]

    def unconfirmed(self) -> int:
        """Rows the broker took that no receipt has named yet."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM spool WHERE sent_at IS NOT NULL").fetchone()[0])

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
