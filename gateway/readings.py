"""Device messages → InfluxDB points.

:func:`reading_points` gives the reading as reported (its kind's measurement, with the grip and
HRV summaries) and the feature points its reported values make (:func:`reported_features`:
walkway gait speed, balance hold time, stopwatch sit-to-stand and TUG times) — for balance,
sit-to-stand and TUG only without a recording, whose analysis (:mod:`gateway.signal_features`) gives
those features, falling back on the same reported values when it fails. Every point of a message is
stamped with :func:`message_time_ns` and tagged by :func:`participant_tags`, so a redelivered
message overwrites its own points.

This runs for every reading, so it reads the payload model's ``__dict__`` (a pydantic model's
``getattr`` of a name it lacks costs microseconds) and takes the point time once per message.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel

from gateway import influx_schema
from gateway.point_table import Point
from telemetry.devices import (
    MESSAGE_TYPES,
    BalanceMessage,
    GaitMessage,
    GripMessage,
    GripPayload,
    Hand,
    HrvMessage,
    Message,
    SitToStandMessage,
    TugMessage,
)
from telemetry.envelope import DeviceKind, Envelope


def participant_tags(message: Envelope) -> dict[str, str]:
    return {influx_schema.STATION_TAG: message.station_id, influx_schema.PARTICIPANT_TAG: message.participant}


def balance_tags(message: BalanceMessage) -> dict[str, str]:
    return {
        **participant_tags(message),
        "stance": message.payload.stance.value,
        "eyes": message.payload.eyes.value,
    }


def envelope_fields(message: Envelope) -> dict[str, Any]:
    return {"message_id": message.message_id, "device_id": message.device_id, "visit_id": message.visit_id}


def message_time_ns(message: Envelope) -> int:
    return influx_schema.point_time_ns(message.measured_at, message.message_id)


def has_recording(message: Message) -> bool:
    return message.payload.__dict__.get("recording") is not None


# Per kind: its measurement, and the payload fields that are fields of it (in payload order).
def _reading_spec(kind: DeviceKind) -> tuple[influx_schema.Measurement, tuple[str, ...]]:
    spec = influx_schema.READINGS[kind]
    payload = MESSAGE_TYPES[kind].model_fields["payload"].annotation
    assert isinstance(payload, type) and issubclass(payload, BaseModel)
    return spec, tuple(name for name in payload.model_fields if name in spec.field_names)


_READINGS = {kind: _reading_spec(kind) for kind in DeviceKind}


def reading_points(message: Message, at: int | None = None) -> list[Point]:
    """The reading as reported (its kind's measurement) and the features that need no kernel.

    ``at``: the message's point time (:func:`message_time_ns`) when the caller has it already.
    """
    spec, names = _READINGS[message.device_kind]
    tags = participant_tags(message)
    if at is None:
        at = message_time_ns(message)
    env = envelope_fields(message)
    data = message.payload.__dict__
    values = {name: data[name] for name in names if data[name] is not None}
    if "has_recording" in spec.field_names:
        values["has_recording"] = data.get("recording") is not None
    if isinstance(message, GripMessage):
        values.update(grip_values(message.payload))
    elif isinstance(message, HrvMessage):
        values.update(hrv_values(message.payload.rr_intervals_ms))
    return [(spec.name, at, tags, {**values, **env}), *simple_features(message, at, tags, env)]


def grip_values(payload: GripPayload) -> dict[str, Any]:
    right = [t.force_kg for t in payload.trials if t.hand == Hand.RIGHT]
    left = [t.force_kg for t in payload.trials if t.hand == Hand.LEFT]
    return {
        "grip_max_kg": payload.max_kg,
        "grip_right_max_kg": max(right) if right else None,
        "grip_left_max_kg": max(left) if left else None,
        "trials": len(payload.trials),
    }


def hrv_values(rr_ms: list[float]) -> dict[str, Any]:
    rr = np.asarray(rr_ms, dtype=np.float64)
    diffs = np.diff(rr)
    return {
        "beats": int(rr.size),
        "mean_rr_ms": float(rr.mean()),
        "sdnn_ms": float(rr.std(ddof=1)) if rr.size > 1 else None,
        "rmssd_ms": float(np.sqrt(np.mean(diffs**2))) if diffs.size else None,
    }


def walkway_speed(message: GaitMessage) -> float | None:
    """Distance / time when the walkway timed it, else the speed the device reported."""
    payload = message.payload
    if payload.walk_time_s is not None:
        return payload.walk_distance_m / payload.walk_time_s
    return payload.gait_speed_mps


def _analysed(message: Message) -> bool:
    """Whether a recording's analysis gives this message's features (gait's walkway speed is its
    own ``source``, written either way)."""
    return has_recording(message) and not isinstance(message, GaitMessage)


def simple_features(message: Message, at: int, tags: dict[str, str], env: dict[str, Any]) -> list[Point]:
    """Feature points of a message without a recording to analyse: its reported values."""
    return [] if _analysed(message) else reported_features(message, at, tags, env)


def reported_features(message: Message, at: int, tags: dict[str, str], env: dict[str, Any]) -> list[Point]:
    """Feature points straight from reported values (walkway times, stopwatch times, hold times)."""
    if isinstance(message, GaitMessage):
        speed = walkway_speed(message)
        if speed is None:
            return []
        values = {
            "gait_speed_mps": speed,
            "walk_distance_m": message.payload.walk_distance_m,
            "walk_time_s": message.payload.walk_time_s,
        }
        return [(influx_schema.GAIT_FEATURES.name, at, {**tags, "source": "walkway"}, {**values, **env})]
    if isinstance(message, BalanceMessage):
        fields = {"hold_time_s": message.payload.hold_time_s, **env}
        return [(influx_schema.BALANCE_FEATURES.name, at, balance_tags(message), fields)]
    if isinstance(message, SitToStandMessage):
        payload = message.payload
        values = {"chair_stand_5x_s": payload.five_rep_time_s, "count_30s": payload.count_30s}
        return [(influx_schema.STS_FEATURES.name, at, tags, {**values, "unable": payload.unable, **env})]
    if isinstance(message, TugMessage):
        values = {"tug_time_s": message.payload.total_time_s, "walking_aid": message.payload.walking_aid}
        return [(influx_schema.TUG_FEATURES.name, at, tags, {**values, **env})]
    return []
