"""Frailty scores of a visit, recomputed from InfluxDB whenever one of its measurements arrives.

A visit is the participant's measurements with the same ``visit_id`` (a field) on the UTC day of
the triggering message, or — for messages without a visit id — all of that day's measurements.
The inputs are read back with one InfluxQL request (after the triggering message's own points are
written), :func:`processing.scoring.score_visit` scores them, and the ``frailty`` point is written
at :func:`gateway.schema.visit_time_ns`: each recomputation overwrites the visit's one point, so
the last message of a visit leaves the complete scores. Stateless: any replica can do it.

Known limit: two replicas scoring two messages of one visit at the same instant may each miss the
other's input; the later write wins, and the visit's next message (or a redelivery) repairs it.
Within one replica, a participant's messages are scored in order on one thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway import schema
from gateway.decline import Value, is_history, quote
from gateway.points import Row
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
# statement key (a column only that statement returns) -> (measurement, columns)
_STATEMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "grip_max_kg": ("grip", ("grip_max_kg",)),
    "gait_speed_mps": ("gait_features", ("gait_speed_mps", "walk_distance_m", "walk_time_s", "source")),
    "weight_kg": ("body_composition", ("weight_kg", "height_cm", "bmi_kg_m2", "asmi_kg_m2")),
    "stance": ("balance", ("stance", "hold_time_s")),
    "chair_stand_5x_s": ("sts_features", ("chair_stand_5x_s", "unable")),
    "fatigue": (
        "questionnaire",
        (
            "fatigue",
            "resistance",
            "ambulation",
            "illness_count",
            "weight_loss_pct_year",
            "weight_loss_kg_year",
            "exhaustion_days_per_week",
            "activity_kcal_week",
        ),
    ),
}
_STANCES = {"side_by_side": "side_by_side_s", "semi_tandem": "semi_tandem_s", "tandem": "tandem_s"}
FRAILTY_METRICS = ("sppb_total", "kfrail_score", "frailty_level", "awgs_level")


@dataclass
class VisitState:
    """What InfluxDB holds for one visit, and the visit's existing score point."""

    inputs: dict[str, Any] = field(default_factory=dict)
    count: int = 0
    latest_ns: int = 0  # the newest input point's time: when the visit's current scores arose
    existing: dict[str, Any] | None = None


def _cols(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in (*columns, "visit_id"))


def visit_query(participant: str, day_start_ns: int, visit_time_ns: int) -> str:
    who = f'"{schema.PARTICIPANT_TAG}" = {quote(participant)}'
    window = f"time >= {day_start_ns} AND time < {day_start_ns + DAY_NS}"
    # GROUP BY the participant: each row carries its tag, so many visits can be read in one request.
    by = f'GROUP BY "{schema.PARTICIPANT_TAG}"'
    statements = [
        f'SELECT {_cols(columns)} FROM "{measurement}" WHERE {who} AND {window} {by}'
        for measurement, columns in _STATEMENTS.values()
    ]
    statements.append(
        f'SELECT "sex", "birth_year" FROM "profile" WHERE {who} {by} ORDER BY time DESC LIMIT 1'
    )
    existing = ", ".join(f'"{m}"' for m in (*FRAILTY_METRICS, "inputs", schema.FRAILTY_CATEGORY_TAG))
    statements.append(
        f'SELECT {existing} FROM "{schema.FRAILTY.name}" WHERE {who} AND time = {visit_time_ns} {by}'
    )
    return "; ".join(statements)


def query_for(message: Any) -> str:
    day = schema.day_start_ns(message.measured_at)
    return visit_query(message.participant, day, schema.visit_time_ns(message.measured_at, message.visit_id))


def read_visit(message: Any, rows: list[dict[str, Any]]) -> VisitState:
    """The visit's inputs (VisitInputs field names) from the rows of :func:`query_for`."""
    state = VisitState()
    best_gait: tuple[int, int] | None = None  # (walkway first, time)
    for row in rows:
        if is_history(row):
            continue
        if "inputs" in row:
            state.existing = row
            continue
        if "sex" in row:
            if row.get("sex") in ("male", "female"):
                state.inputs["sex"] = row["sex"]
            if row.get("birth_year") is not None:
                state.inputs["age_years"] = message.measured_at.year - int(row["birth_year"])
            continue
        if message.visit_id is not None and row.get("visit_id") != message.visit_id:
            continue
        state.count += 1
        state.latest_ns = max(state.latest_ns, int(row["time"]))
        i = state.inputs
        if "grip_max_kg" in row and row["grip_max_kg"] is not None:
            i["grip_max_kg"] = max(float(row["grip_max_kg"]), i.get("grip_max_kg", 0.0))
        elif "gait_speed_mps" in row and row["gait_speed_mps"] is not None:
            rank = (1 if row.get("source") == "walkway" else 0, int(row["time"]))
            if best_gait is None or rank > best_gait:
                best_gait = rank
                i["gait_speed_mps"] = float(row["gait_speed_mps"])
                for key in ("walk_distance_m", "walk_time_s"):
                    if row.get(key) is not None:
                        i[key] = float(row[key])
                    else:
                        i.pop(key, None)
        elif "weight_kg" in row:
            for key in ("weight_kg", "height_cm", "bmi_kg_m2", "asmi_kg_m2"):
                if row.get(key) is not None:
                    i[key] = float(row[key])
        elif "stance" in row and row.get("stance") in _STANCES and row.get("hold_time_s") is not None:
            key = _STANCES[row["stance"]]
            i[key] = max(float(row["hold_time_s"]), i.get(key, 0.0))
        elif "chair_stand_5x_s" in row:
            if row.get("unable"):
                i["chair_stand_unable"] = True
            elif row.get("chair_stand_5x_s") is not None:
                i["chair_stand_5x_s"] = float(row["chair_stand_5x_s"])
        elif "fatigue" in row:
            for key in _STATEMENTS["fatigue"][1]:
                if row.get(key) is not None:
                    i[key] = row[key]
    return state


def score(message: Any, rows: list[dict[str, Any]]) -> tuple[list[Row], list[Value], bool]:
    """The visit's frailty row, the score values new or changed by it, and whether a stale point
    with another category tag must be deleted first (the tag is part of the series). ``rows``:
    the answer to :func:`query_for` (possibly with other statements' rows, which are ignored)."""
    from processing.scoring import VisitInputs, score_visit

    state = read_visit(message, rows)
    if state.count == 0:
        return [], [], False
    known = set(VisitInputs.model_fields)
    inputs = VisitInputs.model_validate({k: v for k, v in state.inputs.items() if k in known})
    scores = score_visit(inputs)
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
        "inputs": state.count,
    }
    category = str(frail.category) if frail is not None else ""
    tags = {
        schema.STATION_TAG: message.station_id,
        schema.PARTICIPANT_TAG: message.participant,
        schema.FRAILTY_CATEGORY_TAG: category,
    }
    at = schema.visit_time_ns(message.measured_at, message.visit_id)
    row: Row = (schema.FRAILTY.name, at, tags, fields)
    old = state.existing or {}
    judged = {
        "sppb_total": fields["sppb_total"],
        "kfrail_score": fields["kfrail_score"],
        "frailty_level": fields["frailty_level"],
        # An incomplete AWGS may still rise as the visit's other measurements arrive.
        "awgs_level": fields["awgs_level"] if awgs is not None and awgs.complete else None,
    }
    # The event is stamped at the visit's latest input (not the day-start score point): a visit
    # happening now raises an event now. Deterministic from what InfluxDB holds, so re-scoring the
    # same inputs (a redelivery, another replica) rewrites the same event point.
    values = [
        Value(metric, float(value), at, event_ns=state.latest_ns or at)
        for metric, value in judged.items()
        if value is not None and old.get(metric) != value
    ]
    stale = state.existing is not None and (state.existing.get(schema.FRAILTY_CATEGORY_TAG) or "") != category
    return [row], values, stale


def delete_stale(transport: Any, message: Any) -> None:
    """Remove the visit's score point filed under another category (InfluxQL DELETE: POST)."""
    at = schema.visit_time_ns(message.measured_at, message.visit_id)
    who = f'"{schema.PARTICIPANT_TAG}" = {quote(message.participant)}'
    statement = f'DELETE FROM "{schema.FRAILTY.name}" WHERE {who} AND time >= {at} AND time <= {at}'
    execute = getattr(transport, "execute", None) or transport.query
    execute(statement)
