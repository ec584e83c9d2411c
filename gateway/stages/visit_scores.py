"""Stage: a visit's frailty scores, recomputed from InfluxDB whenever one of its measurements arrives.

A visit is the participant's measurements with the same ``visit_id`` (a field) on the station's
local day, or — for messages without a visit id — all of that day's measurements; a questionnaire
filled in up to a day before joins it (:mod:`gateway.visit_calendar`). The stage reads them back
(one statement per input measurement over the day and the pre-visit window, one for the latest
profile, one for the participant's score points around the day),
:func:`processing.scoring.score_visit` scores them, and the ``frailty`` point is written at
:func:`gateway.visit_calendar.visit_time_ns` of the visit's day: each recomputation overwrites the
visit's one point, so the last message of a visit leaves the complete scores. When the frailty
category changes, the point filed under the old category tag is deleted first (the tag is part of
the series); so is the questionnaire-only point a pre-visit questionnaire made on its own day
before the visit's measurements arrived.

The point also carries what the case detector (the next stage) judges about the visit, so one
statement reads a participant's whole history: the measures (gait speed — walkway before IMU,
with the IMU analysis's ``uncertain`` flag —, best grip, 5× chair stand, TUG, feet-together
eyes-open sway and, with an eyes-closed trial, the Romberg ratio), the participant's sex, and
``visit_at``, the visit's newest input time.

The visit-result stage reads and scores the visit the same way (:func:`visit_input_statements`,
:func:`read_visit`), so the result a station gets holds the score point's scores.

Known limit: two replicas scoring two messages of one visit at the same instant may each miss the
other's input; the later write wins, and the visit's next message (or a redelivery) repairs it.
A measurement that arrives after a later one of its visit was scored is judged only for what it
changes at its own place in the order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeGuard

from gateway import influx_schema
from gateway.followup import Effects, FollowUp, Subject
from gateway.influx.influxql import equals, identifier
from gateway.influx.reader import Row
from gateway.point_table import Point
from gateway.visit_calendar import DAY_NS, VisitCalendar, visit_time_ns
from processing.scoring import VisitInputs, VisitScores, score_visit
from processing.scoring.tug import TUG_FALL_RISK_S
from telemetry.cases import CaseEvent
from telemetry.devices import Message
from telemetry.envelope import DeviceKind

#: Measurements that feed a score: a message of these kinds triggers a recomputation.
TRIGGERS = frozenset(
    {
        DeviceKind.GRIP,
        DeviceKind.GAIT,
        DeviceKind.BALANCE,
        DeviceKind.SIT_TO_STAND,
        DeviceKind.QUESTIONNAIRE,
        DeviceKind.BODY_COMPOSITION,
        DeviceKind.TUG,
    }
)
_STANCES = {"side_by_side": "side_by_side_s", "semi_tandem": "semi_tandem_s", "tandem": "tandem_s"}
_BODY = ("weight_kg", "height_cm", "bmi_kg_m2", "asmi_kg_m2")
_SWAY = ("sway_mean_velocity_mm_s", "sway_ellipse95_area_mm2")
SWAY_STANCE = "side_by_side"  # feet together: the stance whose sway is followed across visits
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
    out: dict[str, Any] = {k: float(best[k]) for k in keys if best.get(k) is not None}
    out["gait_uncertain"] = bool(best.get("uncertain"))
    return out


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


def _tug(rows: Sequence[Row]) -> dict[str, Any]:
    times = [float(r["tug_time_s"]) for r in rows if r.get("tug_time_s") is not None]
    return {"tug_time_s": times[-1]} if times else {}


def _sway(rows: Sequence[Row]) -> dict[str, Any]:
    """Sway of the feet-together stance (the one every protocol has): eyes open is the visit's sway;
    with an eyes-closed trial too, the Romberg ratio (eyes closed / eyes open velocity)."""
    trials = {
        str(r.get("eyes")): r
        for r in rows
        if r.get("stance") == SWAY_STANCE and r.get("sway_mean_velocity_mm_s") is not None
    }
    opened, closed = trials.get("open"), trials.get("closed")
    if opened is None:
        return {}
    out = {k: float(opened[k]) for k in _SWAY if opened.get(k) is not None}
    velocity = out.get("sway_mean_velocity_mm_s")
    if closed is not None and velocity:
        out["romberg_ratio"] = float(closed["sway_mean_velocity_mm_s"]) / velocity
    return out


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
    _Input("tug_features", ("tug_time_s",), _tug),
    _Input("balance_features", ("stance", "eyes", *_SWAY), _sway),
)
_QUESTIONNAIRE = next(i for i, spec in enumerate(_INPUTS) if spec.measurement == "questionnaire")
#: The visit's measures the case detector judges, kept on its score point beside the scores.
VISIT_MEASURES = (
    "gait_speed_mps",
    "gait_uncertain",
    "grip_max_kg",
    "chair_stand_5x_s",
    "tug_time_s",
    "sway_mean_velocity_mm_s",
    "sway_ellipse95_area_mm2",
    "romberg_ratio",
)


# --- the stage --------------------------------------------------------------------------------------


def scored(message: Subject) -> TypeGuard[Message]:
    """Whether ``message`` is a device message of a kind that feeds a score."""
    return not isinstance(message, CaseEvent) and message.device_kind in TRIGGERS


DEFAULT_CALENDAR = VisitCalendar()


def _window(message: Message, calendar: VisitCalendar) -> tuple[int, int]:
    """What may belong to the message's visit: from a pre-visit window before its day to the end
    of the next day (a questionnaire's visit may be tomorrow)."""
    day = calendar.day_start_ns(message.station_id, influx_schema.time_ns(message.measured_at))
    return day - calendar.pre_visit_ns, day + 2 * DAY_NS + 3 * 3600 * 10**9


def visit_input_statements(message: Message, calendar: VisitCalendar = DEFAULT_CALENDAR) -> list[str]:
    """The visit's inputs (one statement per :data:`_INPUTS` entry) and the profile: what
    :func:`read_visit` takes (the visit-result stage reads the same)."""
    who = equals(influx_schema.PARTICIPANT_TAG, message.participant)
    start, end = _window(message, calendar)
    window = f"time >= {start} AND time < {end}"
    statements = [
        f"SELECT {_columns((*i.columns, 'visit_id', 'message_id'))} FROM {identifier(i.measurement)} "
        f"WHERE {who} AND {window}"
        for i in _INPUTS
    ]
    statements.append(f'SELECT "sex", "birth_year" FROM "profile" WHERE {who} ORDER BY time DESC LIMIT 1')
    return statements


def visit_statements(message: Message, calendar: VisitCalendar = DEFAULT_CALENDAR) -> list[str]:
    """:func:`visit_input_statements`, then the participant's score points around the visit's day
    as they stand (its own, and a pre-visit questionnaire's of the day before)."""
    who = equals(influx_schema.PARTICIPANT_TAG, message.participant)
    existing = _columns(("inputs", "visit_id", influx_schema.FRAILTY_CATEGORY_TAG))
    start, end = _window(message, calendar)
    return [
        *visit_input_statements(message, calendar),
        f"SELECT {existing} FROM {identifier(influx_schema.FRAILTY.name)} "
        f"WHERE {who} AND time >= {start - DAY_NS} AND time < {end}",
    ]


@dataclass(frozen=True)
class VisitRead:
    """A visit as InfluxDB holds it: everything its rows say, the scoring inputs and scores."""

    given: dict[str, Any]  # scoring inputs and the measures kept on the score point
    inputs: VisitInputs
    scores: VisitScores
    count: int  # input rows
    newest_ns: int  # time of the newest input: when the visit was (last) measured
    day_start_ns: int  # the visit's local day
    at_ns: int  # its score point's time
    visit_date: date  # its local date
    stale_ns: tuple[int, ...] = ()  # score points of pre-visit questionnaires filed on their own day


def read_visit(
    message: Message,
    answers: Sequence[list[Row]],
    tug_fall_risk_s: float = TUG_FALL_RISK_S,
    calendar: VisitCalendar = DEFAULT_CALENDAR,
) -> VisitRead | None:
    """The visit of ``message`` from the answers to :func:`visit_input_statements`, scored with TUG
    fall risk at ``tug_fall_risk_s``; None when InfluxDB holds none of its inputs."""
    *inputs, profile = answers
    station = message.station_id
    mine = [[r for r in rows if r.get("visit_id") == message.visit_id] for rows in inputs]
    day = _visit_day(message, mine, calendar)
    end = calendar.next_day_ns(station, day)
    visit = [[r for r in rows if day <= int(r["time"]) < end] for rows in mine]
    early = [r for r in mine[_QUESTIONNAIRE] if day - calendar.pre_visit_ns <= int(r["time"]) < day]
    if early and (message.visit_id is not None or not visit[_QUESTIONNAIRE]):
        # A pre-visit questionnaire joins (without a visit id only when the day has none of its own).
        visit[_QUESTIONNAIRE] = sorted([*early, *visit[_QUESTIONNAIRE]], key=lambda r: int(r["time"]))
    if not any(visit):
        return None
    given = _gathered(_person(message, profile), visit)
    known = set(VisitInputs.model_fields)
    scoring = VisitInputs.model_validate({k: v for k, v in given.items() if k in known})
    return VisitRead(
        given=given,
        inputs=scoring,
        scores=score_visit(scoring, tug_fall_risk_s=tug_fall_risk_s),
        count=sum(len(rows) for rows in visit),
        newest_ns=max(int(r["time"]) for rows in visit for r in rows),
        day_start_ns=day,
        at_ns=visit_time_ns(day, message.visit_id),
        visit_date=calendar.local_date(station, day),
        stale_ns=tuple(
            sorted(
                {
                    visit_time_ns(calendar.day_start_ns(station, int(r["time"])), message.visit_id)
                    for r in visit[_QUESTIONNAIRE]
                    if int(r["time"]) < day
                }
            )
        ),
    )


def _visit_day(message: Message, mine: list[list[Row]], calendar: VisitCalendar) -> int:
    """The local day of the message's visit: its own — or, for a questionnaire filled in within
    the pre-visit window before the next day, the next day when that day has the visit's
    measurements."""
    station = message.station_id
    at = influx_schema.time_ns(message.measured_at)
    own = calendar.day_start_ns(station, at)
    if message.device_kind is not DeviceKind.QUESTIONNAIRE:
        return own
    following = calendar.next_day_ns(station, own)
    if at < following - calendar.pre_visit_ns:
        return own
    after = calendar.next_day_ns(station, following)
    measured = any(
        following <= int(r["time"]) < after
        for index, rows in enumerate(mine)
        if index != _QUESTIONNAIRE
        for r in rows
    )
    return following if measured else own


def _columns(names: tuple[str, ...]) -> str:
    return ", ".join(identifier(c) for c in names)


class VisitScoresStage:
    name = "visit scores"

    def __init__(
        self, tug_fall_risk_s: float = TUG_FALL_RISK_S, calendar: VisitCalendar = DEFAULT_CALENDAR
    ) -> None:
        self.tug_fall_risk_s = tug_fall_risk_s
        self.calendar = calendar

    def applies(self, message: Subject) -> bool:
        return scored(message)

    def statements(self, item: FollowUp[Subject]) -> list[str]:
        message = item.message
        return visit_statements(message, self.calendar) if scored(message) else []

    def run(self, item: FollowUp[Subject], answers: list[list[Row]]) -> Effects:
        message = item.message
        if not scored(message):
            return Effects()
        *inputs, existing = answers
        visit = read_visit(message, inputs, self.tug_fall_risk_s, self.calendar)
        if visit is None:
            return Effects()
        point = _frailty_point(message, visit)
        at = point[1]
        effects = Effects(points=[point])
        who = equals(influx_schema.PARTICIPANT_TAG, message.participant)
        # A point filed under another category (the tag is part of the series) goes first, and the
        # questionnaire-only point a pre-visit questionnaire left on its own day.
        category = point[2][influx_schema.FRAILTY_CATEGORY_TAG]
        here = [row for row in existing if int(row["time"]) == at]
        stale = [t for t in visit.stale_ns if any(int(row["time"]) == t for row in existing)]
        if any((row.get(influx_schema.FRAILTY_CATEGORY_TAG) or "") != category for row in here):
            stale.append(at)
        for t in stale:
            effects.before_write.append(
                f"DELETE FROM {identifier(influx_schema.FRAILTY.name)} "
                f"WHERE {who} AND time >= {t} AND time <= {t}"
            )
        return effects


def _person(message: Message, profile: list[Row]) -> dict[str, Any]:
    person: dict[str, Any] = {}
    for row in profile[:1]:
        if row.get("sex") in ("male", "female"):
            person["sex"] = row["sex"]
        if row.get("birth_year") is not None:
            person["age_years"] = message.measured_at.year - int(row["birth_year"])
    return person


def _gathered(person: dict[str, Any], visit: list[list[Row]]) -> dict[str, Any]:
    """Everything the visit's rows say: the scoring inputs and the measures kept on the point."""
    given = dict(person)
    for spec, rows in zip(_INPUTS, visit, strict=True):
        given.update(spec.inputs(rows))
    return given


def _frailty_point(message: Message, visit: VisitRead) -> Point:
    scores, given = visit.scores, visit.given
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
        "inputs": visit.count,
        "visit_at": visit.newest_ns // 1_000_000,
        "sex": given.get("sex"),
        **{name: given.get(name) for name in VISIT_MEASURES},
    }
    tags = {
        influx_schema.STATION_TAG: message.station_id,
        influx_schema.PARTICIPANT_TAG: message.participant,
        influx_schema.FRAILTY_CATEGORY_TAG: str(frail.category) if frail is not None else "",
    }
    return (influx_schema.FRAILTY.name, visit.at_ns, tags, fields)
