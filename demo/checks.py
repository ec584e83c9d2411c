"""The demo checks its own claims: every accepted reading written to InfluxDB exactly once, the
dead letters and case events it reports are the ones stored, and no raw identifier got anywhere.

A demo that lost data or leaked an identifier must not print a cheerful summary and exit 0: these
results go into the summary and a failed check makes ``frailwatch demo`` exit 1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from demo.roles import qualified
from demo.stack import DATABASE, DemoStack
from demo.summary import Consistency, PrivacyScan
from gateway.influx import influxql

# Identifier characters: a member id followed by another digit is another member id, not a leak.
_EDGE = "0-9A-Za-z"


class IdentifierScanner:
    """Finds any of a set of raw identifiers in text, as written or JSON-escaped (``\\uXXXX``)."""

    def __init__(self, identifiers: Iterable[str]) -> None:
        forms: set[str] = set()
        for identifier in identifiers:
            if identifier:
                forms.add(identifier)
                forms.add(json.dumps(identifier)[1:-1])  # how json.dumps writes a Hangul name
        self.count = len({i for i in identifiers if i})
        alternatives = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
        self._pattern = re.compile(f"(?<![{_EDGE}])(?:{alternatives})(?![{_EDGE}])") if forms else None

    def hits(self, text: str) -> list[str]:
        return [] if self._pattern is None else self._pattern.findall(text)


def consistency(
    stack: DemoStack,
    genuine_messages: int,
    faults_injected: int,
    reading_measurements: Iterable[str],
    dead_letters_seen: int,
    case_events_seen: int,
) -> Consistency:
    """Compare what the devices sent with what InfluxDB holds (message ids make it exact)."""
    assert stack.influxdb is not None
    present = {row["name"] for row in stack.influxdb.rows("SHOW MEASUREMENTS", DATABASE)}
    written = distinct = 0
    for measurement in sorted(set(reading_measurements) & present):
        rows = stack.influxdb.rows(
            'SELECT count("message_id"), count(distinct("message_id")) '
            f"FROM {influxql.identifier(measurement)}",
            DATABASE,
        )
        for row in rows:
            written += int(row.get("count") or 0)
            distinct += int(row.get("count_1") or 0)
    stored_letters = _count(stack, "dead_letter") if "dead_letter" in present else 0
    stored_events = _distinct_events(stack) if "case_event" in present else 0
    return Consistency(
        genuine_messages=genuine_messages,
        readings_written=written,
        distinct_message_ids=distinct,
        duplicates=written - distinct,
        missing=max(0, genuine_messages - distinct),
        faults_injected=faults_injected,
        dead_letters_seen=dead_letters_seen,
        dead_letters_stored=stored_letters,
        case_events_seen=case_events_seen,
        case_events_stored=stored_events,
    )


def _distinct_events(stack: DemoStack) -> int:
    """Case events by event id (two replicas racing may store one event twice; it counts once)."""
    assert stack.influxdb is not None
    rows = stack.influxdb.rows('SELECT count(distinct("event_id")) FROM "case_event"', DATABASE)
    return int(rows[0].get("count") or 0) if rows else 0


def _count(stack: DemoStack, measurement: str) -> int:
    assert stack.influxdb is not None
    rows = stack.influxdb.rows(f"SELECT count(*) FROM {qualified(measurement)}", DATABASE)
    return max((int(v) for r in rows for k, v in r.items() if k.startswith("count_") and v), default=0)


def scan_influxdb(stack: DemoStack, scanner: IdentifierScanner) -> tuple[int, int]:
    """(hits, bytes scanned) over every point of every measurement in every retention policy,
    tags and fields alike."""
    assert stack.influxdb is not None
    hits = size = 0
    for target in stack.influxdb.everywhere(DATABASE):
        result = stack.influxdb.query(f"SELECT * FROM {target}", DATABASE)
        text = json.dumps(result, ensure_ascii=False)
        hits += len(scanner.hits(text))
        size += len(text)
    return hits, size


def scan_files(paths: Iterable[Path], scanner: IdentifierScanner) -> tuple[int, int]:
    hits = size = 0
    for path in paths:
        text = path.read_text("utf-8", "replace")
        hits += len(scanner.hits(text))
        size += len(text)
    return hits, size


def privacy(
    scanner: IdentifierScanner,
    influxdb: tuple[int, int],
    logs: tuple[int, int],
    outputs: tuple[int, int],
) -> PrivacyScan:
    places = {"InfluxDB": influxdb, "logs": logs, "summary": outputs}
    return PrivacyScan(
        identifiers=scanner.count,
        hits={place: hits for place, (hits, _) in places.items()},
        bytes_scanned={place: size for place, (_, size) in places.items()},
    )
