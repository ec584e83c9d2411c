"""Messages the platform itself emits: dead letters and decline alerts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from telemetry.envelope import Pseudonym, StationId, WireModel
from telemetry.errors import Reason

EXCERPT_BYTES = 256


class DeadLetter(WireModel):
    """A refused message, kept with why (DESIGN invariant 7). Never carries identifiers: topic and
    detail pass :func:`telemetry.redaction.redact` wherever a letter is made; the gateway adds a
    bounded, redacted excerpt, the edge none (a device's raw bytes carry the member id)."""

    message_type: Literal["dead_letter"] = "dead_letter"
    schema_version: Literal[1] = 1
    at: AwareDatetime
    source: Literal["edge", "gateway"]
    station_id: Annotated[str, Field(max_length=64)] = Field(
        description="station the message came from (as claimed by the topic), or 'unknown'"
    )
    topic: Annotated[str, Field(max_length=512)]
    reason: Reason
    detail: Annotated[str, Field(max_length=1024)]
    path: Annotated[str, Field(max_length=256)] = ""
    excerpt: Annotated[str, Field(max_length=4 * EXCERPT_BYTES)] = ""
    size_bytes: Annotated[int, Field(ge=0)] = 0
    message_id: Annotated[str, Field(max_length=64)] | None = None


class DeclineAlert(WireModel):
    """A decline event for one participant, published on ``fw/v1/alerts/decline/<station>``."""

    message_type: Literal["decline_alert"] = "decline_alert"
    schema_version: Literal[1] = 1
    at: AwareDatetime = Field(description="measured_at of the value that triggered the event")
    participant: Pseudonym
    station_id: StationId
    metric: Annotated[str, Field(max_length=64)]
    rule: Annotated[str, Field(max_length=64)]
    severity: Literal["info", "warning", "critical"]
    baseline: float | None = None
    current: float | None = None
    change: float | None = None
    message_id: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="message that triggered it"
    )
    detail: Annotated[str, Field(max_length=512)] = ""
