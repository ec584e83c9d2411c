"""Stateless decline detection (DESIGN invariant 4): history comes from InfluxDB, never from memory.

When a frailty-relevant value arrives for a pseudonym, the participant's earlier values of that
metric are read back (all stations, one InfluxQL request for all metrics of the message),
:func:`processing.decline.detect_decline` judges the new value, and each event becomes a
``decline_event`` point (stamped with the value's own timestamp — for a visit score, the latest
input of the visit — so a redelivery overwrites it)
and a :class:`telemetry.DeclineAlert` for ``fw/v1/alerts/decline/<station>``.

Any replica can do this for any message. The caller runs it only after the value itself is
written, so a participant's consecutive visits see each other — and the value's own stored point
tells under which condition it was measured: a metric of a measurement with condition tags
(:data:`gateway.schema.CONDITION_TAGS`: balance stance and eyes) is compared only with earlier
values of the same condition, so an eyes-closed trial is never judged against eyes-open history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway import schema
from gateway.points import Row
from telemetry.events import DeclineAlert

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Value:
    """One frailty-relevant value to judge."""

    metric: str
    value: float
    time_ns: int  # the point's timestamp (measured_at + id hash, or the visit's)
    source: str | None = None  # gait_features source tag the value came from
    # The decline_event's timestamp when it differs from the value's point: a visit score's point
    # sits at the start of the visit's UTC day, but its event is stamped at the latest input that
    # produced it, so a visit happening now raises an event "now" (alert rules look back minutes).
    event_ns: int | None = None

    @property
    def event_time_ns(self) -> int:
        return self.time_ns if self.event_ns is None else self.event_ns


def at_of(time_ns: int) -> datetime:
    """A point time as the Observation time. Sub-microsecond id hashes are dropped, so the value's
    own point (already written) has exactly the new observation's time and is ignored by the rules."""
    return _EPOCH + timedelta(microseconds=time_ns // 1000)


def quote(value: str) -> str:
    """An InfluxQL string literal (pseudonyms are hex by contract; quote anyway)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


PREFIX = "h_"  # history columns are aliased h_<metric>, so they never clash with other statements


def history_query(participant: str, values: list[Value]) -> str:
    """One statement per metric; each row carries ``h_<metric>`` as its value column."""
    statements = []
    for v in values:
        measurement, field = schema.DECLINE_METRICS[v.metric]
        where = f'"{schema.PARTICIPANT_TAG}" = {quote(participant)}'
        if v.source is not None and measurement == schema.GAIT_FEATURES.name:
            where += f' AND "source" = {quote(v.source)}'
        conditions = "".join(f', "{tag}"' for tag in schema.CONDITION_TAGS.get(measurement, ()))
        columns = f'"{field}" AS "{PREFIX}{v.metric}", "{schema.STATION_TAG}"{conditions}'
        # GROUP BY the participant: rows carry its tag (many participants' reads in one request).
        statements.append(
            f'SELECT {columns} FROM "{measurement}" WHERE {where} GROUP BY "{schema.PARTICIPANT_TAG}"'
        )
    return "; ".join(statements)


def _condition_tags(metric: str) -> tuple[str, ...]:
    return schema.CONDITION_TAGS.get(schema.DECLINE_METRICS[metric][0], ())


def judged(values: list[Value]) -> list[Value]:
    """The values processing.decline has a rule for."""
    from processing.decline import DECLINE_RULES

    return [v for v in values if v.metric in DECLINE_RULES and v.metric in schema.DECLINE_METRICS]


def is_history(row: dict[str, Any]) -> bool:
    return any(key.startswith(PREFIX) for key in row)


def detect(
    transport: Any,
    participant: str,
    station_id: str,
    values: list[Value],
    message_id: str | None,
    rows: list[dict[str, Any]] | None = None,
) -> tuple[list[Row], list[DeclineAlert]]:
    """Events for ``values`` of one participant: rows to write and alerts to publish. ``rows``: the
    history already read (by a combined request), else it is read here."""
    from processing.decline import Observation, detect_decline

    values = judged(values)
    if not values:
        return [], []
    # metric -> (time ns, condition tag values, observation) of every stored value
    history: dict[str, list[tuple[int, tuple[str, ...], Observation]]] = {v.metric: [] for v in values}
    if rows is None:
        rows = transport.query(history_query(participant, values))
    for row in rows:
        for metric, observations in history.items():
            value = row.get(PREFIX + metric)
            if value is not None:
                station = str(row.get(schema.STATION_TAG) or "unknown")
                condition = tuple(str(row.get(tag)) for tag in _condition_tags(metric))
                at = int(row["time"])
                observations.append(
                    (at, condition, Observation(at=at_of(at), station_id=station, value=float(value)))
                )
    out: list[Row] = []
    alerts: list[DeclineAlert] = []
    for v in values:
        new = Observation(at=at_of(v.time_ns), station_id=station_id, value=v.value)
        stored = history[v.metric]
        own = [condition for at, condition, _ in stored if at == v.time_ns]
        comparable = [o for _, condition, o in stored if not own or condition == own[0]]
        for event in detect_decline(v.metric, comparable, new):
            tags = {
                schema.STATION_TAG: station_id,
                schema.PARTICIPANT_TAG: participant,
                "metric": event.metric,
                "rule": event.rule,
                "severity": event.severity,
            }
            fields = {
                "baseline": event.baseline,
                "current": event.current,
                "change": event.change,
                "detail": event.detail[:512],
                "message_id": message_id,
            }
            out.append((schema.DECLINE_EVENT.name, v.event_time_ns, tags, fields))
            alerts.append(
                DeclineAlert(
                    at=at_of(v.event_time_ns),
                    participant=participant,
                    station_id=station_id,
                    metric=event.metric,
                    rule=event.rule,
                    severity=event.severity,
                    baseline=event.baseline,
                    current=event.current,
                    change=event.change,
                    message_id=message_id,
                    detail=event.detail[:512],
                )
            )
    return out, alerts
