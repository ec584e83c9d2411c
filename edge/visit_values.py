"""What the station page can show of a device message at once, before any central scoring.

:func:`local_values` turns one contract message into the plain numbers it carries (units in the
names, the same names the scoring and the VisitResult use where they exist) and the analyses that
only the gateway can do (a raw recording: gait, sway, chair-stand or TUG features). Nothing is
computed here that the gateway would compute differently: a walk's speed is distance / time, as the
gateway's walkway path takes it, and a grip is the best trial, as AWGS 2019 asks.
"""

from __future__ import annotations

from typing import Any

from telemetry.devices import QUESTIONNAIRE_ANSWERS, Message
from telemetry.envelope import DeviceKind

Value = float | bool | str


def local_values(message: Message) -> tuple[dict[str, Value], list[str]]:
    """(values, pending analyses) of one device message."""
    payload: Any = message.payload
    kind = message.device_kind
    values: dict[str, Value | None] = {}
    pending: list[str] = []
    if kind is DeviceKind.PROFILE:
        values = {"sex": payload.sex.value, "birth_year": payload.birth_year, "height_cm": payload.height_cm}
    elif kind is DeviceKind.VITALS:
        values = {
            name: getattr(payload, name)
            for name in (
                "systolic_mmhg",
                "diastolic_mmhg",
                "heart_rate_bpm",
                "spo2_pct",
                "body_temperature_c",
            )
        }
    elif kind is DeviceKind.BODY_COMPOSITION:
        values = {
            name: getattr(payload, name)
            for name in ("weight_kg", "height_cm", "bmi_kg_m2", "asmi_kg_m2", "fat_pct", "phase_angle_deg")
        }
    elif kind is DeviceKind.GRIP:
        values = {"grip_max_kg": payload.max_kg}
    elif kind is DeviceKind.GAIT:
        speed = payload.gait_speed_mps
        if speed is None and payload.walk_time_s is not None:
            speed = round(payload.walk_distance_m / payload.walk_time_s, 3)
        values = {"walk_distance_m": payload.walk_distance_m, "walk_time_s": payload.walk_time_s}
        values["gait_speed_mps"] = speed
        if payload.recording is not None:
            pending.append("gait_analysis")
    elif kind is DeviceKind.BALANCE:
        stance = payload.stance.value
        suffix = "" if payload.eyes.value == "open" else "_eyes_closed"
        values = {f"{stance}{suffix}_s": payload.hold_time_s}
        if payload.recording is not None:
            pending.append("sway_analysis")
    elif kind is DeviceKind.SIT_TO_STAND:
        values = {"chair_stand_5x_s": payload.five_rep_time_s, "chair_stand_30s_count": payload.count_30s}
        if payload.unable:
            values["chair_stand_unable"] = True
        if payload.recording is not None and payload.five_rep_time_s is None:
            pending.append("chair_stand_analysis")
    elif kind is DeviceKind.TUG:
        values = {"tug_time_s": payload.total_time_s}
        if payload.recording is not None and payload.total_time_s is None:
            pending.append("tug_analysis")
    elif kind is DeviceKind.COGNITION:
        values = {
            "cognition_score": payload.score,
            "cognition_max_score": payload.max_score,
            "reaction_time_ms": payload.reaction_time_ms,
        }
    elif kind is DeviceKind.HRV:
        values = {"rr_intervals": len(payload.rr_intervals_ms)}
        pending.append("hrv_analysis")
    elif kind is DeviceKind.QUESTIONNAIRE:
        values = {name: getattr(payload, name) for name in QUESTIONNAIRE_ANSWERS}
    elif kind is DeviceKind.HEALTH_SCREENING:
        values = {"screening_date": payload.screening_date.isoformat()}
        for name in ("systolic_mmhg", "diastolic_mmhg", "fasting_glucose_mg_dl", "total_cholesterol_mg_dl"):
            values[name] = getattr(payload, name)
    return {k: v for k, v in values.items() if v is not None}, pending
