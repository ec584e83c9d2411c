"""Raw recordings → feature points, through the processing packages' batch APIs.

Recordings of one kind from many MQTT messages are analysed together: ``analyze_*_batch`` runs
the nogil Numba kernels on a thread pool. For each kind an :class:`Analysis` says how a message
becomes the analysis's input model (:class:`processing.gait.GaitInput`, ...), how its result
model (:class:`processing.gait.GaitResult`, ...) becomes a feature point (gait with its quality
result), and what is kept when the analysis fails: the values the device reported
(:func:`gateway.readings.reported_features`). A recording that does not fit its input model
(a missing channel, ...) fails alone, like one the kernels refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from gateway import influx_schema
from gateway.point_table import Point
from gateway.readings import (
    balance_tags,
    envelope_fields,
    message_time_ns,
    participant_tags,
    reported_features,
)
from processing import balance, gait, sts, tug
from processing.errors import SignalError
from telemetry.devices import BalanceMessage, GaitMessage, Message, SitToStandMessage, TugMessage
from telemetry.envelope import DeviceKind
from telemetry.recording import Recording

ACC = ("acc_x", "acc_y", "acc_z")
GYR = ("gyr_x", "gyr_y", "gyr_z")

M = TypeVar("M", bound=Message)  # the message model
I = TypeVar("I")  # noqa: E741 — the analysis's input model
R = TypeVar("R")  # its result model


@dataclass(frozen=True)
class Outcome:
    """What one recording gave: feature points, or why it could not."""

    points: list[Point]
    error: SignalError | None = None


def _imu(recording: Recording) -> tuple[np.ndarray, np.ndarray | None]:
    data = recording.as_array().astype(np.float64)
    acc = data[:, [recording.channels.index(c) for c in ACC]]
    gyr = data[:, [recording.channels.index(c) for c in GYR]] if recording.has_channels(GYR) else None
    return acc, gyr


def _finite(value: float | None) -> float | None:
    return value if value is not None and np.isfinite(value) else None


def _recording(message: GaitMessage | BalanceMessage | SitToStandMessage | TugMessage) -> Recording:
    recording = message.payload.recording
    if recording is None:
        raise ValueError("no recording")
    return recording


def _reported(message: Message) -> Outcome:
    at = message_time_ns(message)
    return Outcome(reported_features(message, at, participant_tags(message), envelope_fields(message)))


# --- gait -------------------------------------------------------------------------------------------


def _gait_input(message: GaitMessage) -> gait.GaitInput:
    recording = _recording(message)
    acc, gyr = _imu(recording)
    return gait.GaitInput(
        acc=acc, fs_hz=recording.fs_hz, gyr=gyr, sensor_height_m=message.payload.sensor_height_m
    )


def _gait_outcome(message: GaitMessage, result: gait.GaitResult) -> Outcome:
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
        "straight_walking_speed_mps": result.straight_walking_speed_mps,
        "walking_share": result.walking_share,
        "turning_share": result.turning_share,
        "step_time_cv_pct": result.step_time_cv_pct,
        "period_agreement": result.period_agreement,
        "uncertain": result.uncertain,
        "uncertain_reason": result.uncertain_reason,
        **envelope_fields(message),
    }
    at = message_time_ns(message)
    point: Point = (
        influx_schema.GAIT_FEATURES.name,
        at,
        {**participant_tags(message), "source": "imu"},
        fields,
    )
    return Outcome([point])


def _no_features(message: GaitMessage) -> Outcome:
    return Outcome([])  # the walkway's speed, if any, is written with the reading


# --- balance ----------------------------------------------------------------------------------------


def _balance_input(message: BalanceMessage) -> balance.BalanceInput:
    recording = _recording(message)
    columns = [recording.channels.index("cop_x"), recording.channels.index("cop_y")]
    cop = recording.as_array().astype(np.float64)[:, columns]
    condition = "eyes_closed" if message.payload.eyes.value == "closed" else "eyes_open"
    return balance.BalanceInput(cop_mm=cop, fs_hz=recording.fs_hz, condition=condition)


def _balance_outcome(message: BalanceMessage, result: balance.BalanceResult) -> Outcome:
    fields = {
        "hold_time_s": message.payload.hold_time_s,
        "sway_ellipse95_area_mm2": result.ellipse95_area_mm2,
        "sway_mean_velocity_mm_s": result.mean_velocity_mm_s,
        "sway_path_length_mm": result.path_length_mm,
        "sway_rms_mm": result.rms_mm,
        "sway_mean_frequency_hz": result.mean_freq_hz,
        **envelope_fields(message),
    }
    at = message_time_ns(message)
    point: Point = (influx_schema.BALANCE_FEATURES.name, at, balance_tags(message), fields)
    return Outcome([point])


# --- sit-to-stand and TUG (IMU) ---------------------------------------------------------------------


def _sts_input(message: SitToStandMessage) -> sts.StsInput:
    recording = _recording(message)
    acc, gyr = _imu(recording)
    return sts.StsInput(acc=acc, fs_hz=recording.fs_hz, gyr=gyr)


def _sts_outcome(message: SitToStandMessage, result: sts.StsResult) -> Outcome:
    payload = message.payload
    five = payload.five_rep_time_s or _finite(result.five_rep_time_s)
    fields = {
        "chair_stand_5x_s": five,
        "count_30s": payload.count_30s if payload.count_30s is not None else result.count_30s,
        "unable": payload.unable,
        "repetitions": result.n_reps,
        **envelope_fields(message),
    }
    at = message_time_ns(message)
    point: Point = (influx_schema.STS_FEATURES.name, at, participant_tags(message), fields)
    return Outcome([point])


def _tug_input(message: TugMessage) -> tug.TugInput:
    recording = _recording(message)
    acc, gyr = _imu(recording)
    return tug.TugInput(acc=acc, fs_hz=recording.fs_hz, gyr=gyr)


def _tug_outcome(message: TugMessage, result: tug.TugResult) -> Outcome:
    total = message.payload.total_time_s or _finite(result.total_time_s)
    fields = {
        "tug_time_s": total,
        "walking_aid": message.payload.walking_aid,
        "sit_to_stand_s": _finite(result.sit_to_stand_s),
        "walk_out_s": _finite(result.walk_out_s),
        "turn_s": _finite(result.turn_s),
        "walk_back_s": _finite(result.walk_back_s),
        "turn_to_sit_s": _finite(result.turn_to_sit_s),
        "stand_to_sit_s": _finite(result.stand_to_sit_s),
        **envelope_fields(message),
    }
    at = message_time_ns(message)
    point: Point = (influx_schema.TUG_FEATURES.name, at, participant_tags(message), fields)
    return Outcome([point])


# --- one batch --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Analysis(Generic[M, I, R]):
    """How the recordings of one kind of message are analysed."""

    message: type[M]
    input: Callable[[M], I]
    batch: Callable[[list[I], int | None], Sequence[R | SignalError]]  # analyze_*_batch
    outcome: Callable[[M, R], Outcome]
    failed: Callable[[M], Outcome]  # what is kept when the analysis fails

    def run(self, messages: Sequence[Message], workers: int | None) -> list[Outcome]:
        """One outcome per message, in order; a recording that fails has its SignalError."""
        typed = [m for m in messages if isinstance(m, self.message)]
        if len(typed) != len(messages):
            raise TypeError(f"only {self.message.__name__}s go to this analysis")
        inputs: list[I | SignalError] = []
        for message in typed:
            try:
                inputs.append(self.input(message))
            except (ValueError, KeyError, SignalError) as exc:
                bad = exc if isinstance(exc, SignalError) else SignalError("bad_recording", str(exc)[:300])
                inputs.append(bad)
        fitting = [i for i in inputs if not isinstance(i, SignalError)]
        results = iter(self.batch(fitting, workers) if fitting else [])
        out = []
        for message, given in zip(typed, inputs, strict=True):
            result = given if isinstance(given, SignalError) else next(results)
            if isinstance(result, SignalError):
                kept = self.failed(message)
                out.append(Outcome(kept.points, result))
            else:
                out.append(self.outcome(message, result))
        return out


# The processing packages import their kernels on first use: these keep that out of gateway startup.
def _gait_batch(inputs: list[gait.GaitInput], workers: int | None) -> list[gait.GaitResult | SignalError]:
    return gait.analyze_gait_batch(inputs, max_workers=workers)


def _balance_batch(
    inputs: list[balance.BalanceInput], workers: int | None
) -> list[balance.BalanceResult | SignalError]:
    return balance.analyze_balance_batch(inputs, max_workers=workers)


def _sts_batch(inputs: list[sts.StsInput], workers: int | None) -> list[sts.StsResult | SignalError]:
    return sts.analyze_sts_batch(inputs, max_workers=workers)


def _tug_batch(inputs: list[tug.TugInput], workers: int | None) -> list[tug.TugResult | SignalError]:
    return tug.analyze_tug_batch(inputs, max_workers=workers)


ANALYSES: dict[DeviceKind, Analysis[Any, Any, Any]] = {
    DeviceKind.GAIT: Analysis(GaitMessage, _gait_input, _gait_batch, _gait_outcome, _no_features),
    DeviceKind.BALANCE: Analysis(BalanceMessage, _balance_input, _balance_batch, _balance_outcome, _reported),
    DeviceKind.SIT_TO_STAND: Analysis(SitToStandMessage, _sts_input, _sts_batch, _sts_outcome, _reported),
    DeviceKind.TUG: Analysis(TugMessage, _tug_input, _tug_batch, _tug_outcome, _reported),
}


def analyse(kind: DeviceKind, messages: Sequence[Message], workers: int | None = None) -> list[Outcome]:
    """One outcome per message of ``kind``, in order."""
    return ANALYSES[kind].run(messages, workers)
