"""The envelope every device message carries: who measured what, where and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from telemetry.identifiers import find_identifier, find_identifier_in_id
from telemetry.pseudonym import PSEUDONYM_PATTERN
from telemetry.topics import DEVICE_ID_PATTERN, STATION_ID_PATTERN

SCHEMA_VERSION: Literal[1] = 1
EARLIEST_MEASUREMENT = datetime(2000, 1, 1, tzinfo=UTC)
# Station clocks drift; a reading more than this far ahead of the receiver's clock is refused.
MAX_CLOCK_AHEAD = timedelta(hours=24)


class DeviceKind(StrEnum):
    """The kinds of station device (docs/architecture.md)."""

    PROFILE = "profile"
    VITALS = "vitals"
    BODY_COMPOSITION = "body_composition"
    GRIP = "grip"
    GAIT = "gait"
    BALANCE = "balance"
    SIT_TO_STAND = "sit_to_stand"
    TUG = "tug"
    COGNITION = "cognition"
    HRV = "hrv"
    QUESTIONNAIRE = "questionnaire"
    HEALTH_SCREENING = "health_screening"


def _utc_in_bounds(value: datetime) -> datetime:
    value = value.astimezone(UTC)
    if value < EARLIEST_MEASUREMENT:
        raise PydanticCustomError(
            "bad_timestamp",
            "measured_at {value} is before 2000-01-01",
            {"value": value.isoformat()},
        )
    if value > datetime.now(UTC) + MAX_CLOCK_AHEAD:
        raise PydanticCustomError(
            "bad_timestamp",
            "measured_at {value} is more than 24 h in the future",
            {"value": value.isoformat()},
        )
    return value


def _no_identifier(text: str) -> str:
    kind = find_identifier(text)
    if kind is not None:
        raise PydanticCustomError(
            "identifier_in_text", "free text looks like it contains a {kind}", {"kind": kind}
        )
    return text


def _no_identifier_in_id(text: str) -> str:
    kind = find_identifier_in_id(text)
    if kind is not None:
        raise PydanticCustomError(
            "identifier_in_text", "an id looks like it contains a {kind}", {"kind": kind}
        )
    return text


MeasuredAt = Annotated[AwareDatetime, AfterValidator(_utc_in_bounds)]
# Ids travel to MQTT topics and InfluxDB tags, so an id built from a resident or phone number
# would leak it as surely as a note would: the same identifier check applies.
MessageId = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{7,63}$"), AfterValidator(_no_identifier_in_id)
]
StationId = Annotated[str, Field(pattern=STATION_ID_PATTERN), AfterValidator(_no_identifier_in_id)]
DeviceId = Annotated[str, Field(pattern=DEVICE_ID_PATTERN), AfterValidator(_no_identifier_in_id)]
Pseudonym = Annotated[str, Field(pattern=PSEUDONYM_PATTERN)]
FreeText = Annotated[str, Field(max_length=280), AfterValidator(_no_identifier)]


class WireModel(BaseModel):
    """Base of every wire model: strict about unknown fields and non-finite numbers."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Envelope(WireModel):
    """Fields common to every device message. Concrete messages add ``device_kind`` and ``payload``."""

    schema_version: Literal[1] = SCHEMA_VERSION
    message_id: MessageId = Field(description="stable id: a re-sent message keeps it")
    station_id: StationId
    device_id: DeviceId
    participant: Pseudonym = Field(description="HMAC pseudonym of the participant, never a raw id")
    measured_at: MeasuredAt = Field(description="when the measurement was taken, UTC")
    visit_id: MessageId | None = Field(
        default=None, description="groups one participant's measurements in one visit"
    )
    note: FreeText | None = Field(default=None, description="operator note; identifiers refused")
