"""The station's own record for its page: roster, measurements seen, visit results, cases, actions.

One SQLite file (``station.sqlite3`` beside the spool, WAL, ``synchronous=FULL``) on the station
box; nothing in it goes uplink except what the spool sends. In order:

- **roster**: member id → name, from the station's CSV (``frailwatch edge roster import``) or
  from the name a registration device sent with a reading (dropped from the reading itself);
- **measurements**: every device message the agent accepted, as the plain values the page shows
  at once (:mod:`edge.visit_values`), keyed by message id (a re-sent reading is stored once);
- **results**: the latest :class:`~telemetry.results.VisitResult` per participant and visit
  (a result older than the one stored is ignored, so redelivery and reordering are harmless);
- **case snapshots**: each case as the newest result described it, and when a newer result no
  longer listed it (closed elsewhere);
- **case actions**: the CaseEvents made here (the same event id counts once).

Every write is one transaction, committed before the caller acknowledges anything.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.case_actions import LocalCase, fold, from_snapshot
from edge.visit_values import Value
from telemetry import codec
from telemetry.cases import CaseEvent
from telemetry.devices import Message
from telemetry.results import OpenCase, VisitResult, visit_ref

MAX_NAME_CHARS = 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS roster (member_id TEXT PRIMARY KEY, name TEXT NOT NULL, source TEXT NOT NULL,
    updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS measurement (message_id TEXT PRIMARY KEY, participant TEXT NOT NULL,
    visit_ref TEXT NOT NULL, device_kind TEXT NOT NULL, measured_ts REAL NOT NULL, values_json TEXT NOT NULL,
    pending_json TEXT NOT NULL, received_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS measurement_visit ON measurement (participant, visit_ref);
CREATE INDEX IF NOT EXISTS measurement_time ON measurement (measured_ts);
CREATE TABLE IF NOT EXISTS result (participant TEXT NOT NULL, visit_ref TEXT NOT NULL,
    processed_ts REAL NOT NULL, at_ts REAL NOT NULL, payload BLOB NOT NULL, received_at REAL NOT NULL,
    PRIMARY KEY (participant, visit_ref));
CREATE TABLE IF NOT EXISTS case_snapshot (case_id TEXT PRIMARY KEY, participant TEXT NOT NULL,
    snapshot_json TEXT NOT NULL, seen_ts REAL NOT NULL, closed_ts REAL);
CREATE INDEX IF NOT EXISTS case_participant ON case_snapshot (participant);
CREATE TABLE IF NOT EXISTS case_action (event_id TEXT PRIMARY KEY, case_id TEXT NOT NULL,
    participant TEXT NOT NULL, event_json TEXT NOT NULL, processed_ts REAL NOT NULL);
CREATE INDEX IF NOT EXISTS action_case ON case_action (case_id);
"""


@dataclass(frozen=True, slots=True)
class Measurement:
    message_id: str
    device_kind: str
    measured_at: dt.datetime
    values: dict[str, Value]
    pending: list[str]


@dataclass(frozen=True, slots=True)
class VisitRow:
    """One visit seen at this station: who, which visit, when, and whether its result is in."""

    participant: str
    visit_ref: str
    first_at: dt.datetime
    last_at: dt.datetime
    kinds: tuple[str, ...]
    has_result: bool


def _ts(value: dt.datetime) -> float:
    return value.timestamp()


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


class StationStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.changes = 0  # transactions that changed rows: readers cache what they derive by it
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            before = self._db.total_changes
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            if self._db.total_changes != before:
                self.changes += 1

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    # --- roster ------------------------------------------------------------------------------
    def set_name(self, member_id: str, name: str, source: str) -> None:
        name = " ".join(name.split())[:MAX_NAME_CHARS]
        if not name:
            return
        with self._tx() as db:
            db.execute(
                "INSERT INTO roster VALUES (?, ?, ?, ?) ON CONFLICT (member_id) DO UPDATE SET"
                " name = excluded.name, source = excluded.source, updated_at = excluded.updated_at"
                " WHERE roster.name != excluded.name",
                (member_id, name, source, time.time()),
            )

    def import_roster(self, rows: Iterable[tuple[str, str]], source: str = "csv") -> int:
        count = 0
        now = time.time()
        with self._tx() as db:
            for member_id, name in rows:
                clean = " ".join(name.split())[:MAX_NAME_CHARS]
                if member_id and clean:
                    db.execute(
                        "INSERT OR REPLACE INTO roster VALUES (?, ?, ?, ?)", (member_id, clean, source, now)
                    )
                    count += 1
        return count

    def name_of(self, member_id: str) -> str | None:
        rows = self._rows("SELECT name FROM roster WHERE member_id = ?", (member_id,))
        return str(rows[0][0]) if rows else None

    # --- measurements ------------------------------------------------------------------------
    def record_measurement(self, message: Message, values: dict[str, Value], pending: list[str]) -> None:
        ref = visit_ref(message.visit_id, message.measured_at.astimezone(dt.UTC).date())
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO measurement VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    message.message_id,
                    message.participant,
                    ref,
                    message.device_kind.value,
                    _ts(message.measured_at),
                    json.dumps(values, ensure_ascii=False),
                    json.dumps(pending),
                    time.time(),
                ),
            )

    def visits_between(self, start: dt.datetime, end: dt.datetime) -> list[VisitRow]:
        """Visits with a measurement in [start, end), or with a result whose visit falls there."""
        rows = self._rows(
            "SELECT m.participant, m.visit_ref, MIN(m.measured_ts), MAX(m.measured_ts),"
            " GROUP_CONCAT(DISTINCT m.device_kind), r.participant IS NOT NULL"
            " FROM measurement m LEFT JOIN result r"
            " ON r.participant = m.participant AND r.visit_ref = m.visit_ref"
            " GROUP BY m.participant, m.visit_ref HAVING MAX(m.measured_ts) >= ? AND MIN(m.measured_ts) < ?"
            " ORDER BY MIN(m.measured_ts)",
            (_ts(start), _ts(end)),
        )
        seen = {(r[0], r[1]) for r in rows}
        visits = [
            VisitRow(str(p), str(v), _utc(a), _utc(b), tuple(sorted(str(k).split(","))), bool(h))
            for p, v, a, b, k, h in rows
        ]
        # Results for visits whose readings this store never saw (e.g. a restored box).
        for p, v, at in self._rows(
            "SELECT participant, visit_ref, at_ts FROM result WHERE at_ts >= ? AND at_ts < ?",
            (_ts(start), _ts(end)),
        ):
            if (p, v) not in seen:
                visits.append(VisitRow(str(p), str(v), _utc(at), _utc(at), (), True))
        return sorted(visits, key=lambda row: row.first_at)

    def last_visit_day(self, before: dt.datetime) -> dt.datetime | None:
        rows = self._rows("SELECT MAX(measured_ts) FROM measurement WHERE measured_ts < ?", (_ts(before),))
        return None if rows[0][0] is None else _utc(float(rows[0][0]))

    def measurements(self, participant: str, ref: str) -> list[Measurement]:
        rows = self._rows(
            "SELECT message_id, device_kind, measured_ts, values_json, pending_json FROM measurement"
            " WHERE participant = ? AND visit_ref = ? ORDER BY measured_ts, message_id",
            (participant, ref),
        )
        return [Measurement(str(i), str(k), _utc(t), json.loads(v), json.loads(p)) for i, k, t, v, p in rows]

    def last_visit_at(self, participant: str) -> dt.datetime | None:
        """The participant's latest visit this station knows of: its own readings, and the visits
        at any station that the results' histories list."""
        rows = self._rows("SELECT MAX(measured_ts) FROM measurement WHERE participant = ?", (participant,))
        latest = None if rows[0][0] is None else _utc(float(rows[0][0]))
        for result in self.results_for(participant):
            for visit in result.history:
                if latest is None or visit.at > latest:
                    latest = visit.at
        return latest

    # --- results -----------------------------------------------------------------------------
    def put_result(self, result: VisitResult) -> bool:
        """Store ``result`` unless a newer one for the visit is stored; update the case snapshots.
        True when stored."""
        processed = _ts(result.processed_at)
        with self._tx() as db:
            row = db.execute(
                "SELECT processed_ts FROM result WHERE participant = ? AND visit_ref = ?",
                (result.participant, result.visit_ref),
            ).fetchone()
            if row is not None and float(row[0]) >= processed:
                return False
            db.execute(
                "INSERT OR REPLACE INTO result VALUES (?, ?, ?, ?, ?, ?)",
                (
                    result.participant,
                    result.visit_ref,
                    processed,
                    _ts(result.at),
                    codec.encode(result),
                    time.time(),
                ),
            )
            listed = set()
            for case in result.open_cases:
                listed.add(case.case_id)
                db.execute(
                    "INSERT INTO case_snapshot VALUES (?, ?, ?, ?, NULL) ON CONFLICT (case_id) DO UPDATE SET"
                    " snapshot_json = excluded.snapshot_json, seen_ts = excluded.seen_ts, closed_ts = NULL"
                    " WHERE case_snapshot.seen_ts < excluded.seen_ts",
                    (case.case_id, result.participant, case.model_dump_json(), processed),
                )
            for (case_id,) in db.execute(
                "SELECT case_id FROM case_snapshot"
                " WHERE participant = ? AND closed_ts IS NULL AND seen_ts < ?",
                (result.participant, processed),
            ).fetchall():
                if case_id not in listed:
                    db.execute(
                        "UPDATE case_snapshot SET closed_ts = ? WHERE case_id = ?", (processed, case_id)
                    )
        return True

    def result(self, participant: str, ref: str) -> VisitResult | None:
        rows = self._rows(
            "SELECT payload FROM result WHERE participant = ? AND visit_ref = ?", (participant, ref)
        )
        return VisitResult.model_validate_json(rows[0][0]) if rows else None

    def results_for(self, participant: str) -> list[VisitResult]:
        rows = self._rows("SELECT payload FROM result WHERE participant = ? ORDER BY at_ts", (participant,))
        return [VisitResult.model_validate_json(payload) for (payload,) in rows]

    def result_count(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM result")[0][0])

    # --- cases -------------------------------------------------------------------------------
    def add_action(self, event: CaseEvent) -> bool:
        """Record an action made here; False when this event id is already recorded."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO case_action VALUES (?, ?, ?, ?, ?)",
                (
                    event.event_id,
                    event.case_id,
                    event.participant,
                    codec.encode(event).decode(),
                    _ts(event.processed_at),
                ),
            )
            return cursor.rowcount == 1

    def has_action(self, event_id: str) -> bool:
        return bool(self._rows("SELECT 1 FROM case_action WHERE event_id = ?", (event_id,)))

    def _case(self, case_id: str, participant: str, snapshot: str, closed: float | None) -> LocalCase:
        actions = [
            CaseEvent.model_validate_json(e)
            for (e,) in self._rows("SELECT event_json FROM case_action WHERE case_id = ?", (case_id,))
        ]
        base = from_snapshot(participant, OpenCase.model_validate_json(snapshot))
        return fold(base, actions, None if closed is None else _utc(closed))

    def case(self, case_id: str) -> LocalCase | None:
        rows = self._rows(
            "SELECT case_id, participant, snapshot_json, closed_ts FROM case_snapshot WHERE case_id = ?",
            (case_id,),
        )
        return self._case(*rows[0]) if rows else None

    def cases_for(self, participant: str) -> list[LocalCase]:
        rows = self._rows(
            "SELECT case_id, participant, snapshot_json, closed_ts FROM case_snapshot WHERE participant = ?"
            " ORDER BY case_id",
            (participant,),
        )
        return [self._case(*row) for row in rows]

    def all_cases(self) -> list[LocalCase]:
        rows = self._rows(
            "SELECT case_id, participant, snapshot_json, closed_ts FROM case_snapshot ORDER BY case_id"
        )
        return [self._case(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
