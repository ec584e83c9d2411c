"""A batch of small readings sent as one MQTT message (the edge batches to cut per-message cost)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from telemetry.devices import Message
from telemetry.envelope import StationId, WireModel

MAX_BATCH = 1000


class MessageBatch(WireModel):
    """Many device messages from one station. Each keeps its own ``message_id``."""

    message_type: Literal["batch"] = "batch"
    schema_version: Literal[1] = 1
    station_id: StationId
    messages: Annotated[list[Message], Field(min_length=1, max_length=MAX_BATCH)]
