"""Receipts: a gateway's word that what a station sent is durable in InfluxDB.

The edge keeps every spooled message until a receipt names it, not merely until the central
broker's PUBACK: a broker answers 0x00 for a message it then drops (Mosquitto forgets shared
subscriptions across a restart, and a client subscribed to the data topics — even one whose read
the ACL denies — still counts as a receiver), so only the consumer can say a message arrived.

A receipt names messages two ways, and the edge matches either: the contract ``message_id`` of
every reading of a batch, and the :func:`digest` of the bytes of a message sent alone (a reading,
a dead letter, a case action) — so a message the gateway refused, whose id it cannot trust, is
confirmed as kept (it is in the dead-letter store) by its bytes.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from telemetry.envelope import MessageId, StationId, WireModel

DIGEST_PATTERN = r"^[0-9a-f]{32}$"
MAX_NAMED = 5000  # per list, per receipt (a receipt stays far below the broker's packet limit)


def digest(payload: bytes) -> str:
    """The name of a message by its bytes: SHA-256, first 128 bits, hex."""
    return hashlib.sha256(payload).hexdigest()[:32]


class Receipt(WireModel):
    """On ``fw/v1/<station>/receipts``: these messages of the station are durable centrally."""

    message_type: Literal["receipt"] = "receipt"
    schema_version: Literal[1] = 1
    station_id: StationId
    at: AwareDatetime
    gateway: Annotated[str, Field(max_length=64)]
    message_ids: Annotated[list[MessageId], Field(max_length=MAX_NAMED)] = Field(default_factory=list)
    digests: Annotated[list[Annotated[str, Field(pattern=DIGEST_PATTERN)]], Field(max_length=MAX_NAMED)] = (
        Field(default_factory=list)
    )
