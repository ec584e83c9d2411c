"""One valid example message per device kind: documentation, contract tests and fuzzing seeds."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import numpy as np

from telemetry import devices as d
from telemetry.envelope import DeviceKind, Envelope
from telemetry.recording import COP_CHANNELS, COP_UNITS, IMU_CHANNELS, IMU_UNITS, Recording

EXAMPLE_STATION = "gj-01"
EXAMPLE_PSEUDONYM = "3f2a9c0d1b7e4a5f8c6d2e1f0a9b8c7d"
EXAMPLE_TIME = datetime(2026, 5, 12, 1, 30, tzinfo=UTC)


def _imu(seconds: float = 4.0, fs_hz: float = 100.0) -> Recording:
    t = np.arange(int(seconds * fs_hz)) / fs_hz
    step = 2 * math.pi * 1.8 * t
    samples = np.column_stack(
        [
            0.3 * np.sin(step),
            9.81 + 1.5 * np.sin(step),
            0.8 * np.cos(step),
            5 * np.sin(step / 2),
            3 * np.cos(step),
            2 * np.sin(step),
        ]
    )
    return Recording.from_array(samples, fs_hz, IMU_CHANNELS, IMU_UNITS)


def _cop(seconds: float = 10.0, fs_hz: float = 100.0) -> Recording:
    t = np.arange(int(seconds * fs_hz)) / fs_hz
    samples = np.column_stack([3 * np.sin(2 * math.pi * 0.3 * t), 5 * np.cos(2 * math.pi * 0.2 * t)])
    return Recording.from_array(samples, fs_hz, COP_CHANNELS, COP_UNITS)


def _envelope(kind: DeviceKind, n: int) -> dict[str, object]:
    return {
        "message_id": f"example-{kind.value}-{n:04d}",
        "station_id": EXAMPLE_STATION,
        "device_id": f"{kind.value.replace('_', '-')}-1",
        "participant": EXAMPLE_PSEUDONYM,
        "measured_at": EXAMPLE_TIME,
        "visit_id": "visit-2026-05-12-0001",
    }


def example_payloads() -> dict[DeviceKind, object]:
    return {
        DeviceKind.PROFILE: d.ProfilePayload(sex=d.Sex.FEMALE, birth_year=1948, height_cm=152.0),
        DeviceKind.VITALS: d.VitalsPayload(
            systolic_mmhg=132, diastolic_mmhg=78, heart_rate_bpm=71, spo2_pct=97, body_temperature_c=36.5
        ),
        DeviceKind.BODY_COMPOSITION: d.BodyCompositionPayload(
            weight_kg=54.2, height_cm=152.0, bmi_kg_m2=23.5, asmi_kg_m2=5.9, fat_pct=31.0, phase_angle_deg=4.6
        ),
        DeviceKind.GRIP: d.GripPayload(
            trials=[
                d.GripTrial(hand=d.Hand.RIGHT, force_kg=19.5),
                d.GripTrial(hand=d.Hand.LEFT, force_kg=17.0),
            ]
        ),
        DeviceKind.GAIT: d.GaitPayload(
            walk_distance_m=4.0, walk_time_s=4.6, sensor_height_m=0.92, recording=_imu()
        ),
        DeviceKind.BALANCE: d.BalancePayload(
            stance=d.Stance.SEMI_TANDEM, eyes=d.Eyes.OPEN, hold_time_s=10.0, recording=_cop()
        ),
        DeviceKind.SIT_TO_STAND: d.SitToStandPayload(five_rep_time_s=11.8, recording=_imu(12.0)),
        DeviceKind.TUG: d.TugPayload(total_time_s=10.4),
        DeviceKind.COGNITION: d.CognitionPayload(
            instrument=d.CognitionInstrument.MMSE_DS, score=26, max_score=30, reaction_time_ms=540
        ),
        DeviceKind.HRV: d.HrvPayload(rr_intervals_ms=[820 + 15 * math.sin(i) for i in range(60)]),
        DeviceKind.QUESTIONNAIRE: d.QuestionnairePayload(
            fatigue=False,
            resistance=True,
            ambulation=False,
            illness_count=2,
            weight_loss_pct_year=1.5,
            exhaustion_days_per_week=1,
            activity_kcal_week=420,
        ),
        DeviceKind.HEALTH_SCREENING: d.HealthScreeningPayload(
            screening_date=date(2026, 3, 2),
            height_cm=152.3,
            weight_kg=55.0,
            systolic_mmhg=128,
            diastolic_mmhg=80,
            fasting_glucose_mg_dl=102,
            hemoglobin_g_dl=12.8,
        ),
    }


def example_messages() -> dict[DeviceKind, Envelope]:
    """A valid message of every device kind."""
    messages: dict[DeviceKind, Envelope] = {}
    for n, (kind, payload) in enumerate(example_payloads().items()):
        model = d.MESSAGE_TYPES[kind]
        messages[kind] = model.model_validate({**_envelope(kind, n), "payload": payload})
    return messages
