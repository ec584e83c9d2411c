"""Payload models for every device kind, and the discriminated :data:`Message` union.

Units are in the field names. Ranges are physiological plausibility limits, wide enough for frail
older adults and narrow enough that a unit mix-up or a broken sensor is caught (a systolic pressure
of 900 mmHg or a gait speed of 50 m/s is refused with the field and the limit).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from telemetry.envelope import DeviceKind, Envelope, WireModel
from telemetry.recording import COP_CHANNELS, Recording


def _range(lo: float, hi: float, unit: str, what: str) -> object:
    return Field(ge=lo, le=hi, description=f"{what}, {unit} (accepted {lo}–{hi})")


def _invalid(detail: str) -> PydanticCustomError:
    return PydanticCustomError("invalid", detail)


def _require_any(model: WireModel, fields: tuple[str, ...]) -> None:
    values = model.__dict__  # cheaper than getattr on a model, on every message
    if all(values[name] is None for name in fields):
        raise _invalid(f"at least one of {', '.join(fields)} is required")


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


# --- readings ---------------------------------------------------------------------------------


class ProfilePayload(WireModel):
    """Registration facts the scores need (sex- and height-specific cut-offs); nothing identifying."""

    kind: Literal["profile"] = "profile"
    sex: Sex
    birth_year: Annotated[int, Field(ge=1900, le=2030, description="year of birth")]
    height_cm: Annotated[float | None, _range(100, 220, "cm", "standing height")] = None


class VitalsPayload(WireModel):
    kind: Literal["vitals"] = "vitals"
    systolic_mmhg: Annotated[float | None, _range(50, 260, "mmHg", "systolic pressure")] = None
    diastolic_mmhg: Annotated[float | None, _range(25, 160, "mmHg", "diastolic pressure")] = None
    heart_rate_bpm: Annotated[float | None, _range(25, 230, "beats/min", "heart rate")] = None
    spo2_pct: Annotated[float | None, _range(50, 100, "%", "oxygen saturation")] = None
    body_temperature_c: Annotated[float | None, _range(32, 43, "°C", "body temperature")] = None

    @model_validator(mode="after")
    def _check(self) -> VitalsPayload:
        _require_any(
            self,
            ("systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_pct", "body_temperature_c"),
        )
        if (
            self.systolic_mmhg is not None
            and self.diastolic_mmhg is not None
            and self.diastolic_mmhg >= self.systolic_mmhg
        ):
            raise _invalid("diastolic_mmhg must be below systolic_mmhg")
        return self


class BodyCompositionPayload(WireModel):
    """Bioelectrical impedance analysis (BIA)."""

    kind: Literal["body_composition"] = "body_composition"
    weight_kg: Annotated[float, _range(20, 250, "kg", "body weight")]
    height_cm: Annotated[float, _range(100, 220, "cm", "standing height")]
    bmi_kg_m2: Annotated[float | None, _range(10, 70, "kg/m²", "body-mass index")] = None
    asmi_kg_m2: Annotated[float | None, _range(2, 15, "kg/m²", "appendicular skeletal muscle index")] = None
    skeletal_muscle_kg: Annotated[float | None, _range(5, 80, "kg", "skeletal muscle mass")] = None
    fat_pct: Annotated[float | None, _range(2, 75, "%", "body fat")] = None
    phase_angle_deg: Annotated[float | None, _range(1, 15, "degrees", "phase angle at 50 kHz")] = None

    @model_validator(mode="after")
    def _check(self) -> BodyCompositionPayload:
        if self.bmi_kg_m2 is not None:
            computed = self.weight_kg / (self.height_cm / 100) ** 2
            if abs(computed - self.bmi_kg_m2) > 1.0:
                raise _invalid(f"bmi_kg_m2 {self.bmi_kg_m2} disagrees with weight/height² = {computed:.1f}")
        return self


class Hand(StrEnum):
    LEFT = "left"
    RIGHT = "right"


class GripTrial(WireModel):
    hand: Hand
    force_kg: Annotated[float, _range(0, 100, "kg", "grip force")]


class GripPayload(WireModel):
    """Hand-grip dynamometer; AWGS 2019 uses the maximum over trials of either hand."""

    kind: Literal["grip"] = "grip"
    trials: Annotated[list[GripTrial], Field(min_length=1, max_length=12)]
    position: Literal["sitting", "standing"] = "sitting"

    @property
    def max_kg(self) -> float:
        return max(trial.force_kg for trial in self.trials)


# --- performance tests with optional raw recordings --------------------------------------------


class GaitProtocol(StrEnum):
    USUAL_PACE = "usual_pace"
    FAST_PACE = "fast_pace"


class GaitPayload(WireModel):
    """A timed walk (walkway/photocells), optionally with a lower-back IMU recording.

    The walk distance is stored with every test: SPPB bands differ for 3 m and 4 m walks.
    """

    kind: Literal["gait"] = "gait"
    protocol: GaitProtocol = GaitProtocol.USUAL_PACE
    walk_distance_m: Annotated[float, _range(2, 1000, "m", "walk distance")]
    walk_time_s: Annotated[float | None, _range(0.5, 1200, "s", "walk time")] = None
    gait_speed_mps: Annotated[
        float | None, _range(0.05, 3.0, "m/s", "gait speed reported by a walkway system")
    ] = None
    walking_aid: bool = False
    sensor_height_m: Annotated[float | None, _range(0.5, 1.4, "m", "IMU height above ground")] = None
    recording: Recording | None = Field(default=None, description="lower-back IMU")

    @model_validator(mode="after")
    def _check(self) -> GaitPayload:
        _require_any(self, ("walk_time_s", "gait_speed_mps", "recording"))
        if self.walk_time_s is not None:
            speed = self.walk_distance_m / self.walk_time_s
            if speed > 3.0:
                raise PydanticCustomError(
                    "out_of_range",
                    "walk_distance_m / walk_time_s = {speed} m/s exceeds 3 m/s",
                    {"speed": round(speed, 2)},
                )
        if self.recording is not None and not self.recording.has_channels(("acc_x", "acc_y", "acc_z")):
            raise PydanticCustomError("bad_recording", "gait recording needs acc_x, acc_y, acc_z")
        return self


class Stance(StrEnum):
    SIDE_BY_SIDE = "side_by_side"
    SEMI_TANDEM = "semi_tandem"
    TANDEM = "tandem"
    ONE_LEG = "one_leg"


class Eyes(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class BalancePayload(WireModel):
    """A standing-balance trial: how long the stance was held, optionally the centre of pressure."""

    kind: Literal["balance"] = "balance"
    stance: Stance
    eyes: Eyes = Eyes.OPEN
    hold_time_s: Annotated[float, _range(0, 120, "s", "time the stance was held")]
    target_time_s: Annotated[float, _range(5, 120, "s", "time the protocol asks for")] = 10.0
    recording: Recording | None = Field(default=None, description="centre of pressure, mm")

    @model_validator(mode="after")
    def _check(self) -> BalancePayload:
        if self.recording is not None and not self.recording.has_channels(COP_CHANNELS):
            raise PydanticCustomError("bad_recording", "balance recording needs cop_x, cop_y")
        return self


class SitToStandPayload(WireModel):
    """Chair stands: five-times time and/or 30-second count, optionally a lower-back IMU."""

    kind: Literal["sit_to_stand"] = "sit_to_stand"
    five_rep_time_s: Annotated[float | None, _range(2, 120, "s", "five chair stands")] = None
    count_30s: Annotated[int | None, Field(ge=0, le=60, description="stands in 30 s")] = None
    unable: bool = Field(default=False, description="could not complete without using arms")
    recording: Recording | None = Field(default=None, description="lower-back IMU")

    @model_validator(mode="after")
    def _check(self) -> SitToStandPayload:
        if not self.unable:
            _require_any(self, ("five_rep_time_s", "count_30s", "recording"))
        return self


class TugPayload(WireModel):
    """Timed up-and-go (3 m), stopwatch time and/or a lower-back IMU."""

    kind: Literal["tug"] = "tug"
    total_time_s: Annotated[float | None, _range(3, 300, "s", "timed up-and-go")] = None
    walking_aid: bool = False
    recording: Recording | None = Field(default=None, description="lower-back IMU")

    @model_validator(mode="after")
    def _check(self) -> TugPayload:
        _require_any(self, ("total_time_s", "recording"))
        return self


# --- cognition, HRV, questionnaire, screening ---------------------------------------------------


class CognitionInstrument(StrEnum):
    MMSE_DS = "mmse_ds"  # Korean MMSE for dementia screening (0–30)
    MOCA_K = "moca_k"  # Korean MoCA (0–30)
    SNSB_C = "snsb_c"
    REACTION = "reaction"  # device reaction-time task only


class CognitionPayload(WireModel):
    kind: Literal["cognition"] = "cognition"
    instrument: CognitionInstrument
    score: Annotated[float | None, Field(ge=0, le=100)] = None
    max_score: Annotated[float | None, Field(gt=0, le=100)] = None
    reaction_time_ms: Annotated[float | None, _range(100, 5000, "ms", "mean reaction time")] = None
    recall_correct: Annotated[int | None, Field(ge=0, le=50)] = None

    @model_validator(mode="after")
    def _check(self) -> CognitionPayload:
        _require_any(self, ("score", "reaction_time_ms", "recall_correct"))
        if self.score is not None and self.max_score is not None and self.score > self.max_score:
            raise _invalid(f"score {self.score} exceeds max_score {self.max_score}")
        return self


class HrvPayload(WireModel):
    """Stress/HRV from PPG: beat-to-beat intervals."""

    kind: Literal["hrv"] = "hrv"
    rr_intervals_ms: Annotated[
        list[Annotated[float, Field(ge=250, le=2500)]], Field(min_length=10, max_length=20_000)
    ]


class QuestionnairePayload(WireModel):
    """K-FRAIL items and the self-reported Fried items (Morley 2012; Fried 2001)."""

    kind: Literal["questionnaire"] = "questionnaire"
    fatigue: bool | None = Field(default=None, description="tired most or all of the time (4 wk)")
    resistance: bool | None = Field(default=None, description="difficulty climbing 10 stairs")
    ambulation: bool | None = Field(default=None, description="difficulty walking 300 m")
    illness_count: Annotated[int | None, Field(ge=0, le=30, description="of 11 illnesses")] = None
    weight_loss_pct_year: Annotated[
        float | None, _range(-50, 50, "%", "weight lost over the past year (gain negative)")
    ] = None
    weight_loss_kg_year: Annotated[
        float | None, _range(-50, 50, "kg", "weight lost over the past year (gain negative)")
    ] = None
    exhaustion_days_per_week: Annotated[
        int | None, Field(ge=0, le=7, description="CES-D effort/could-not-get-going days per week")
    ] = None
    activity_kcal_week: Annotated[
        float | None, _range(0, 20000, "kcal/week", "leisure-time energy expenditure")
    ] = None


class HealthScreeningPayload(WireModel):
    """National health-screening import (NHIS), entered at the station."""

    kind: Literal["health_screening"] = "health_screening"
    screening_date: date
    height_cm: Annotated[float | None, _range(100, 220, "cm", "height")] = None
    weight_kg: Annotated[float | None, _range(20, 250, "kg", "weight")] = None
    waist_cm: Annotated[float | None, _range(40, 200, "cm", "waist circumference")] = None
    systolic_mmhg: Annotated[float | None, _range(50, 260, "mmHg", "systolic pressure")] = None
    diastolic_mmhg: Annotated[float | None, _range(25, 160, "mmHg", "diastolic pressure")] = None
    fasting_glucose_mg_dl: Annotated[float | None, _range(20, 1000, "mg/dL", "glucose")] = None
    total_cholesterol_mg_dl: Annotated[float | None, _range(50, 1000, "mg/dL", "cholesterol")] = None
    hemoglobin_g_dl: Annotated[float | None, _range(3, 25, "g/dL", "haemoglobin")] = None
    egfr_ml_min: Annotated[float | None, _range(1, 200, "mL/min/1.73m²", "eGFR")] = None


# --- messages ----------------------------------------------------------------------------------


class ProfileMessage(Envelope):
    device_kind: Literal[DeviceKind.PROFILE] = DeviceKind.PROFILE
    payload: ProfilePayload


class VitalsMessage(Envelope):
    device_kind: Literal[DeviceKind.VITALS] = DeviceKind.VITALS
    payload: VitalsPayload


class BodyCompositionMessage(Envelope):
    device_kind: Literal[DeviceKind.BODY_COMPOSITION] = DeviceKind.BODY_COMPOSITION
    payload: BodyCompositionPayload


class GripMessage(Envelope):
    device_kind: Literal[DeviceKind.GRIP] = DeviceKind.GRIP
    payload: GripPayload


class GaitMessage(Envelope):
    device_kind: Literal[DeviceKind.GAIT] = DeviceKind.GAIT
    payload: GaitPayload


class BalanceMessage(Envelope):
    device_kind: Literal[DeviceKind.BALANCE] = DeviceKind.BALANCE
    payload: BalancePayload


class SitToStandMessage(Envelope):
    device_kind: Literal[DeviceKind.SIT_TO_STAND] = DeviceKind.SIT_TO_STAND
    payload: SitToStandPayload


class TugMessage(Envelope):
    device_kind: Literal[DeviceKind.TUG] = DeviceKind.TUG
    payload: TugPayload


class CognitionMessage(Envelope):
    device_kind: Literal[DeviceKind.COGNITION] = DeviceKind.COGNITION
    payload: CognitionPayload


class HrvMessage(Envelope):
    device_kind: Literal[DeviceKind.HRV] = DeviceKind.HRV
    payload: HrvPayload


class QuestionnaireMessage(Envelope):
    device_kind: Literal[DeviceKind.QUESTIONNAIRE] = DeviceKind.QUESTIONNAIRE
    payload: QuestionnairePayload


class HealthScreeningMessage(Envelope):
    device_kind: Literal[DeviceKind.HEALTH_SCREENING] = DeviceKind.HEALTH_SCREENING
    payload: HealthScreeningPayload


MESSAGE_TYPES: dict[DeviceKind, type[Envelope]] = {
    DeviceKind.PROFILE: ProfileMessage,
    DeviceKind.VITALS: VitalsMessage,
    DeviceKind.BODY_COMPOSITION: BodyCompositionMessage,
    DeviceKind.GRIP: GripMessage,
    DeviceKind.GAIT: GaitMessage,
    DeviceKind.BALANCE: BalanceMessage,
    DeviceKind.SIT_TO_STAND: SitToStandMessage,
    DeviceKind.TUG: TugMessage,
    DeviceKind.COGNITION: CognitionMessage,
    DeviceKind.HRV: HrvMessage,
    DeviceKind.QUESTIONNAIRE: QuestionnaireMessage,
    DeviceKind.HEALTH_SCREENING: HealthScreeningMessage,
}

Message = Annotated[
    ProfileMessage
    | VitalsMessage
    | BodyCompositionMessage
    | GripMessage
    | GaitMessage
    | BalanceMessage
    | SitToStandMessage
    | TugMessage
    | CognitionMessage
    | HrvMessage
    | QuestionnaireMessage
    | HealthScreeningMessage,
    Field(discriminator="device_kind"),
]
"""Any device message; ``device_kind`` selects the payload model."""
