"""Raw recordings → feature points, through the processing packages' batch entry points.

Recordings from many MQTT messages are analysed together (``analyze_*_batch`` runs the nogil
Numba kernels on a thread pool). Each kind has an adapter: message → the analysis's input model,
result → feature fields. A kind whose analysis is not installed in this build keeps its reported
values only (the reading and stopwatch features are written anyway) and says so once in the log.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gateway import schema
from gateway.points import Row, balance_tags, envelope_fields, message_time_ns, participant_tags
from processing.errors import SignalError
from telemetry.envelope import DeviceKind

log = logging.getLogger("frailwatch.gateway")
ACC = ("acc_x", "acc_y", "acc_z")
GYR = ("gyr_x", "gyr_y", "gyr_z")
_warned: set[str] = set()


@dataclass(frozen=True)
class Outcome:
    """What one recording gave: feature rows, decline-relevant values, or why it could not."""

    rows: list[Row]
    metrics: dict[str, float]
    error: SignalError | None = None


def _imu(recording: Any) -> tuple[np.ndarray, np.ndarray | None]:
    data = recording.as_array().astype(np.float64)
    acc = data[:, [recording.channels.index(c) for c in ACC]]
    gyr = None
    if recording.has_channels(GYR):
        gyr = data[:, [recording.channels.index(c) for c in GYR]]
    return acc, gyr


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if np.isfinite(number) else None


# --- gait -------------------------------------------------------------------------------------------


def _gait_inputs(messages: Sequence[Any]) -> list[Any]:
    from processing.gait import GaitInput

    out = []
    for m in messages:
        acc, gyr = _imu(m.payload.recording)
        out.append(
            GaitInput(
                acc=acc, fs_hz=m.payload.recording.fs_hz, gyr=gyr, sensor_height_m=m.payload.sensor_height_m
            )
        )
    return out


def _gait_outcome(message: Any, result: Any) -> Outcome:
    fields = {
        "gait_speed_mps": result.walking_speed_mps,
        "cadence_spm": result.cadence_spm,
        "step_length_m": result.step_length_m,
        "stride_length_m": result.stride_length_m,
        "step_time_s": result.step_time_s,
        "stride_time_s": result.stride_time_s,
        "stride_time_cv_pct": result.stride_time_cv_pct,
        "step_regularity": result.step_regularity,
        "stride_regularity": result.stride_regularity,
        "step_symmetry": result.step_symmetry,
        "n_steps": result.n_steps,
        "n_turns": result.n_turns,
        "duration_s": result.duration_s,
        **envelope_fields(message),
    }
    tags = {**participant_tags(message), "source": "imu"}
    row: Row = (schema.GAIT_FEATURES.name, message_time_ns(message), tags, fields)
    metrics = {}
    speed = _finite(result.walking_speed_mps)
    # The walkway time is the clinical measure; the IMU's speed counts only when there is none.
    if speed is not None and message.payload.walk_time_s is None and message.payload.gait_speed_mps is None:
        metrics["gait_speed_mps"] = speed
    return Outcome([row], metrics)


# --- balance ----------------------------------------------------------------------------------------


def _balance_inputs(messages: Sequence[Any]) -> list[Any]:
    from processing.balance import BalanceInput

    out = []
    for m in messages:
        rec = m.payload.recording
        cop = rec.as_array().astype(np.float64)[:, [rec.channels.index("cop_x"), rec.channels.index("cop_y")]]
        condition = "eyes_closed" if m.payload.eyes.value == "closed" else "eyes_open"
        out.append(BalanceInput(cop_mm=cop, fs_hz=rec.fs_hz, condition=condition))
    return out


def _balance_outcome(message: Any, result: Any) -> Outcome:
    fields = {
        "hold_time_s": message.payload.hold_time_s,
        "sway_ellipse95_area_mm2": result.ellipse95_area_mm2,
        "sway_mean_velocity_mm_s": result.mean_velocity_mm_s,
        "sway_path_length_mm": result.path_length_mm,
        "sway_rms_mm": result.rms_mm,
        "sway_mean_frequency_hz": result.mean_freq_hz,
        **envelope_fields(message),
    }
    row: Row = (schema.BALANCE_FEATURES.name, message_time_ns(message), balance_tags(message), fields)
    metrics = {}
    area = _finite(result.ellipse95_area_mm2)
    if area is not None:
        metrics["sway_ellipse95_area_mm2"] = area
    return Outcome([row], metrics)


def _balance_fallback(message: Any) -> Outcome:
    fields = {"hold_time_s": message.payload.hold_time_s, **envelope_fields(message)}
    return Outcome(
        [(schema.BALANCE_FEATURES.name, message_time_ns(message), balance_tags(message), fields)], {}
    )


# --- sit-to-stand and TUG (IMU) ---------------------------------------------------------------------


def _imu_inputs(module: str, input_name: str) -> Callable[[Sequence[Any]], list[Any]]:
    def build(messages: Sequence[Any]) -> list[Any]:
        model = getattr(importlib.import_module(module), input_name)
        out = []
        for m in messages:
            acc, gyr = _imu(m.payload.recording)
            out.append(model(acc=acc, fs_hz=m.payload.recording.fs_hz, gyr=gyr))
        return out

    return build


def _first(result: Any, *names: str) -> float | None:
    for name in names:
        value = _finite(getattr(result, name, None))
        if value is not None:
            return value
    return None


def _sts_outcome(message: Any, result: Any) -> Outcome:
    payload = message.payload
    five = payload.five_rep_time_s or _first(result, "five_rep_time_s", "chair_stand_5x_s", "duration_5x_s")
    fields = {
        "chair_stand_5x_s": five,
        "count_30s": payload.count_30s
        if payload.count_30s is not None
        else getattr(result, "count_30s", None),
        "unable": payload.unable,
        "repetitions": getattr(result, "n_reps", None),
        **envelope_fields(message),
    }
    row: Row = (schema.STS_FEATURES.name, message_time_ns(message), participant_tags(message), fields)
    return Outcome([row], {"chair_stand_5x_s": five} if five is not None and not payload.unable else {})


def _sts_fallback(message: Any) -> Outcome:
    payload = message.payload
    fields = {
        "chair_stand_5x_s": payload.five_rep_time_s,
        "count_30s": payload.count_30s,
        "unable": payload.unable,
        **envelope_fields(message),
    }
    metrics = (
        {"chair_stand_5x_s": payload.five_rep_time_s}
        if payload.five_rep_time_s and not payload.unable
        else {}
    )
    return Outcome(
        [(schema.STS_FEATURES.name, message_time_ns(message), participant_tags(message), fields)], metrics
    )


def _tug_outcome(message: Any, result: Any) -> Outcome:
    total = message.payload.total_time_s or _first(result, "total_time_s", "tug_time_s", "duration_s")
    fields = {"tug_time_s": total, "walking_aid": message.payload.walking_aid, **envelope_fields(message)}
    row: Row = (schema.TUG_FEATURES.name, message_time_ns(message), participant_tags(message), fields)
    return Outcome([row], {"tug_time_s": total} if total is not None else {})


def _tug_fallback(message: Any) -> Outcome:
    total = message.payload.total_time_s
    fields = {"tug_time_s": total, "walking_aid": message.payload.walking_aid, **envelope_fields(message)}
    return Outcome(
        [(schema.TUG_FEATURES.name, message_time_ns(message), participant_tags(message), fields)],
        {"tug_time_s": total} if total is not None else {},
    )


@dataclass(frozen=True)
class _Analysis:
    module: str
    batch: str
    inputs: Callable[[Sequence[Any]], list[Any]]
    outcome: Callable[[Any, Any], Outcome]
    fallback: Callable[[Any], Outcome] | None  # features from reported values when it fails


ANALYSES: dict[DeviceKind, _Analysis] = {
    DeviceKind.GAIT: _Analysis("processing.gait", "analyze_gait_batch", _gait_inputs, _gait_outcome, None),
    DeviceKind.BALANCE: _Analysis(
        "processing.balance", "analyze_balance_batch", _balance_inputs, _balance_outcome, _balance_fallback
    ),
    DeviceKind.SIT_TO_STAND: _Analysis(
        "processing.sts",
        "analyze_sts_batch",
        _imu_inputs("processing.sts", "StsInput"),
        _sts_outcome,
        _sts_fallback,
    ),
    DeviceKind.TUG: _Analysis(
        "processing.tug",
        "analyze_tug_batch",
        _imu_inputs("processing.tug", "TugInput"),
        _tug_outcome,
        _tug_fallback,
    ),
}


def analyse(kind: DeviceKind, messages: Sequence[Any], workers: int | None = None) -> list[Outcome]:
    """One outcome per message, in order. Never raises: a failure is that message's SignalError."""
    spec = ANALYSES[kind]
    try:
        module = importlib.import_module(spec.module)
        run = getattr(module, spec.batch)
        inputs = spec.inputs(messages)
    except (ImportError, AttributeError) as exc:
        if kind.value not in _warned:
            _warned.add(kind.value)
            log.warning("no %s analysis in this build (%s): reported values only", kind.value, exc)
        return [_fallback(spec, m, None) for m in messages]
    except (ValueError, KeyError, SignalError) as exc:
        # One message's recording did not fit the analysis input: analyse one by one.
        if len(messages) > 1:
            return [o for m in messages for o in analyse(kind, [m], workers)]
        error = exc if isinstance(exc, SignalError) else SignalError("bad_recording", str(exc)[:300])
        return [_fallback(spec, messages[0], error)]
    results = run(inputs, max_workers=workers) if workers else run(inputs)
    out = []
    for message, result in zip(messages, results, strict=True):
        if isinstance(result, SignalError):
            out.append(_fallback(spec, message, result))
        else:
            out.append(spec.outcome(message, result))
    return out


def _fallback(spec: _Analysis, message: Any, error: SignalError | None) -> Outcome:
    """Reported values only; ``error`` None when the analysis is simply not in this build."""
    if spec.fallback is None:
        return Outcome([], {}, error)
    outcome = spec.fallback(message)
    return Outcome(outcome.rows, outcome.metrics, error)
