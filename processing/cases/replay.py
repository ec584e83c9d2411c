"""Replay visits through the case detector: the core of ``frailwatch cases replay``.

:func:`parse_visits` reads one visit per line (JSON, :class:`~processing.cases.model.VisitMeasures`
fields: participant, station_id, visit_id, at with its time zone, sex, measures, optionally
uncertain), refusing the first bad line with its number (:class:`VisitLineError`). Blank lines are
skipped. :func:`replay` runs :func:`~processing.cases.detect.assess` — the function the gateway
calls — once per participant on that participant's whole history with an empty log, which makes
the same decisions as a gateway judging every visit as it arrives in measured order (tested), and
stamps each event's ``processed_at`` with its triggering visit's time, as if processed on arrival.
Lines may come in any order: the output does not depend on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from pydantic import ValidationError

from processing.cases.detect import DOMAIN_METRICS, DetectorSettings, assess
from processing.cases.model import VisitMeasures
from telemetry.cases import CaseEvent, CaseEventKind

_KIND_ORDER = {kind: n for n, kind in enumerate(CaseEventKind)}
_DOMAIN_ORDER = {domain: n for n, domain in enumerate(DOMAIN_METRICS)}


class VisitLineError(ValueError):
    """A line that is not a valid visit; ``line`` is its 1-based number."""

    def __init__(self, line: int, detail: str) -> None:
        self.line = line
        self.detail = detail
        super().__init__(f"line {line}: {detail}")


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def parse_visits(lines: Iterable[str]) -> list[VisitMeasures]:
    """Every visit of ``lines``; raises :class:`VisitLineError` at the first bad one."""
    visits = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as exc:
            raise VisitLineError(number, f"not JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(document, dict):
            raise VisitLineError(number, "not a JSON object")
        try:
            visits.append(VisitMeasures.model_validate(document))
        except ValidationError as exc:
            raise VisitLineError(number, _first_error(exc)) from None
    return visits


def replay(
    visits: Iterable[VisitMeasures],
    settings: DetectorSettings | None = None,
    *,
    close_suggestions: bool = False,
) -> list[CaseEvent]:
    """The case events the visits raise, in time order (then participant, domain, kind).

    ``close_suggested`` events are left out unless ``close_suggestions`` (the replay's interface
    lists opened, updated, escalated and resolved; a replay has no counsellor, so never resolved).
    """
    by_participant: dict[str, list[VisitMeasures]] = {}
    for v in visits:
        by_participant.setdefault(v.participant, []).append(v)
    events: list[CaseEvent] = []
    for history in by_participant.values():
        start = min(v.at for v in history)
        for event in assess(history, [], start, settings):
            if event.event is CaseEventKind.CLOSE_SUGGESTED and not close_suggestions:
                continue
            events.append(event.model_copy(update={"processed_at": event.at}))
    events.sort(
        key=lambda e: (e.at, e.participant, _DOMAIN_ORDER[e.domain], _KIND_ORDER[e.event], e.event_id)
    )
    return events
