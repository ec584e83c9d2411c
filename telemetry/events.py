"""Messages the platform itself emits about refused input: dead letters (case events: telemetry.cases)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from telemetry.envelope import WireModel
from telemetry.errors import Reason

EXCERPT_BYTES = 256


class DeadLetter(WireModel):
    """A refused message, kept with why (architecture: "Kept, not dropped"). Never carries
    identifiers: topic and
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
