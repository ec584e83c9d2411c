"""Stage: a visit's frailty scores, recomputed from InfluxDB whenever one of its measurements arrives.

A visit is the participant's measurements with the same ``visit_id`` (a field) on the UTC day of
the message, or — for messages without a visit id — all of that day's measurements. The stage
reads them back (one statement per input measurement, one for the latest profile, one for the
visit's score point as it stands), :func:`processing.scoring.score_visit` scores them, and the
``frailty`` point is written at :func:`gateway.schema.visit_time_ns`: each recomputation
overwrites the visit's one point, so the last message of a visit leaves the complete scores. When
the frailty category changes, the point filed under the old category tag is deleted first (the
tag is part of the series).

For decline detection (the next stage) the stage leaves on the item the scores *this message*
changed: the visit scored on its inputs up to and including this message, in measurement order,
against the visit scored on the inputs before it. Both come from what InfluxDB holds, not from
what was scored before, so a redelivered message changes the same scores again (and its events
are stamped at its own time, overwriting themselves).

Known limit: two replicas scoring two messages of one visit at the same instant may each miss the
other's input; the later write wins, and the visit's next message (or a redelivery) repairs it.
A measurement that arrives after a later one of its visit was scored is judged only for what it
changes at its own place in the order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway import schema
from gateway.followup import Effects, FollowUp, Value
from gateway.influx.reader import Row, literal
from gateway.point_table import Point
from gateway.readings import message_time_ns
from processing.scoring import VisitInputs, VisitScores, score_visit
from telemetry.devices import Message
from telemetry.envelope import DeviceKind

DAY_NS = 86_400 * 10**9

#: Measurements that feed a score: a message of these kinds triggers a recomputation.
TRIGGERS = frozenset(
    {
        DeviceKind.GRIP,
        DeviceKind.GAIT,
        DeviceKind.BALANCE,
        DeviceKind.SIT_TO_STAND,
        DeviceKind.QUESTIONNAIRE,
        DeviceKind.BODY_COMPOSITION,
    }
)
FRAILTY_METRICS = ("sppb_total", "kfrail_score", "frailty_level", "awgs_level")
_STANCES = {"side_by_side": "side_by_side_s", "semi_tandem": "semi_tandem_s", "tandem": "tandem_s"}
_BODY = ("weight_kg", "height_cm", "bmi_kg_m2", "asmi_kg_m2")
_QUESTIONS = (
    "fatigue",
    "resistance",
    "ambulation",
    "illness_count",
    "weight_loss_pct_year",
    "weight_loss_kg_year",
    "exhaustion_days_per_week",
    "activity_kcal_week",
)


# --- each input measurement's contribution to VisitInputs (rows oldest first) ----------------------


def _grip(rows: Sequence[Row]) -> dict[str, Any]:
    kg = [float(r["grip_max_kg"]) for r in rows if r.get("grip_max_kg") is not None]
    return {"grip_max_kg": max(kg)} if kg else {}


def _gait(rows: Sequence[Row]) -> dict[str, Any]:
    timed = [r for r in rows if r.get("gait_speed_mps") is not None]
    if not timed:
        return {}
    # The walkway's speed before the IMU's, then the latest.
    best = max(timed, key=lambda r: (r.get("source") == "walkway", int(r["time"])))
    keys = ("gait_speed_mps", "walk_distance_m", "walk_time_s")
    return {k: float(best[k]) for k in keys if best.get(k) is not None}


def _body(rows: Sequence[Row]) -> dict[str, Any]:
    return {k: float(r[k]) for r in rows for k in _BODY if r.get(k) is not None}


def _balance(rows: Sequence[Row]) -> dict[str, Any]:
    held: dict[str, Any] = {}
    for r in rows:
        key = _STANCES.get(str(r.get("stance")))
        if key is not None and r.get("hold_time_s") is not None:
            held[key] = max(float(r["hold_time_s"]), held.get(key, 0.0))
    return held


def _chair(rows: Sequence[Row]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in rows:
        if r.get("unable"):
            out["chair_stand_unable"] = True
        elif r.get("chair_stand_5x_s") is not None:
            out["chair_stand_5x_s"] = float(r["chair_stand_5x_s"])
    return out


def _questionnaire(rows: Sequence[Row]) -> dict[str, Any]:
    return {k: r[k] for r in rows for k in _QUESTIONS if r.get(k) is not None}


@dataclass(frozen=True)
class _Input:
    measurement: str
    columns: tuple[str, ...]
    inputs: Callable[[Sequence[Row]], dict[str, Any]]


_INPUTS = (
    _Input("grip", ("grip_max_kg",), _grip),
    _Input("gait_features", ("gait_speed_mps", "walk_distance_m", "walk_time_s", "source"), _gait),
    _Input("body_composition", _BODY, _body),
    _Input("balance", ("stance", "hold_time_s"), _balance),
    _Input("sts_features", ("chair_stand_5x_s", "unable"), _chair),
    _Input("questionnaire", _QUESTIONS, _questionnaire),
)


# --- the stage --------------------------------------------------------------------------------------


def visit_statements(message: Message) -> list[str]:
    """The visit's inputs (one statement per :data:`_INPUTS` entry), the profile, the score point."""
    who = f'"{schema.PARTICIPANT_TAG}" = {literal(message.participant)}'
    day = schema.day_start_ns(message.measured_at)
    window = f"time >= {day} AND time < {day + DAY_NS}"
    statements = [
        f'SELECT {_columns((*i.columns, "visit_id", "message_id"))} FROM "{i.measurement}" '
        f"WHERE {who} AND {window}"
        for i in _INPUTS
    ]
    statements.append(f'SELECT "sex", "birth_year" FROM "profile" WHERE {who} ORDER BY time DESC LIMIT 1')
    existing = _columns((*FRAILTY_METRICS, "inputs", schema.FRAILTY_CATEGORY_TAG))
    at = schema.visit_time_ns(message.measured_at, message.visit_id)
    statements.append(f'SELECT {existing} FROM "{schema.FRAILTY.name}" WHERE {who} AND time = {at}')
    return statements


def _columns(names: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in names)


class VisitScoresStage:
    name = "visit scores"

    def applies(self, message: Message) -> bool:
        return message.device_kind in TRIGGERS

    def statements(self, item: FollowUp) -> list[str]:
        return visit_statements(item.message) if self.applies(item.message) else []

    def run(self, item: FollowUp, answers: list[list[Row]]) -> Effects:
        item.scores = []
        if not self.applies(item.message):
            return Effects()
        message = item.message
        *inputs, profile, existing = answers
        visit = [
            [r for r in rows if message.visit_id is None or r.get("visit_id") == message.visit_id]
            for rows in inputs
        ]
        if not any(visit):
            return Effects()
        person = _person(message, profile)
        scores = _score(person, visit)
        point = _frailty_point(message, scores, sum(len(rows) for rows in visit))
        # What this message changed, at its place in the measurement order.
        mine = (message_time_ns(message), message.message_id)
        upto = _score(person, [[r for r in rows if _order(r) <= mine] for rows in visit])
        before = _score(person, [[r for r in rows if _order(r) < mine] for rows in visit])
        now, then = _judged(upto), _judged(before)
        at = point[1]
        item.scores = [
            Value(metric, float(value), at, event_ns=mine[0])
            for metric, value in now.items()
            if value is not None and then[metric] != value
        ]
        effects = Effects(points=[point])
        # A point filed under another category (the tag is part of the series) goes first.
        category = point[2][schema.FRAILTY_CATEGORY_TAG]
        if any((row.get(schema.FRAILTY_CATEGORY_TAG) or "") != category for row in existing):
            who = f'"{schema.PARTICIPANT_TAG}" = {literal(message.participant)}'
            effects.before_write.append(
                f'DELETE FROM "{schema.FRAILTY.name}" WHERE {who} AND time >= {at} AND time <= {at}'
            )
        return effects


def _order(row: Row) -> tuple[int, str]:
    return int(row["time"]), str(row.get("message_id") or "")


def _person(message: Message, profile: list[Row]) -> dict[str, Any]:
    person: dict[str, Any] = {}
    for row in profile[:1]:
        if row.get("sex") in ("male", "female"):
            person["sex"] = row["sex"]
        if row.get("birth_year") is not None:
            person["age_years"] = message.measured_at.year - int(row["birth_year"])
    return person


def _score(person: dict[str, Any], visit: list[list[Row]]) -> VisitScores:
    given = dict(person)
    for spec, rows in zip(_INPUTS, visit, strict=True):
        given.update(spec.inputs(rows))
    known = set(VisitInputs.model_fields)
    return score_visit(VisitInputs.model_validate({k: v for k, v in given.items() if k in known}))


def _judged(scores: VisitScores) -> dict[str, float | None]:
    """The scores decline detection judges."""
    frail = scores.kfrail if scores.kfrail is not None else scores.fried
    awgs = scores.awgs
    return {
        "sppb_total": scores.sppb.total if scores.sppb else None,
        "kfrail_score": scores.kfrail.score if scores.kfrail else None,
        "frailty_level": frail.level if frail else None,
        # An incomplete AWGS may still rise as the visit's other measurements arrive.
        "awgs_level": awgs.level if awgs is not None and awgs.complete else None,
    }


def _frailty_point(message: Message, scores: VisitScores, count: int) -> Point:
    kfrail, fried, sppb, awgs = scores.kfrail, scores.fried, scores.sppb, scores.awgs
    frail = kfrail if kfrail is not None else fried
    fields: dict[str, Any] = {
        "sppb_total": sppb.total if sppb else None,
        "sppb_balance": sppb.balance if sppb else None,
        "sppb_gait": sppb.gait if sppb else None,
        "sppb_chair": sppb.chair if sppb else None,
        "kfrail_score": kfrail.score if kfrail else None,
        "frailty_level": frail.level if frail else None,
        "fried_count": fried.count if fried else None,
        "awgs_level": awgs.level if awgs else None,
        "awgs_status": awgs.status if awgs else None,
        "visit_id": message.visit_id,
        "inputs": count,
    }
    tags = {
        schema.STATION_TAG: message.station_id,
        schema.PARTICIPANT_TAG: message.participant,
        schema.FRAILTY_CATEGORY_TAG: str(frail.category) if frail is not None else "",
    }
    return (schema.FRAILTY.name, schema.visit_time_ns(message.measured_at, message.visit_id), tags, fields)
