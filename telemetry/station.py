"""Station-level messages: retained online/offline status and periodic heartbeats."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from telemetry.envelope import DeviceId, StationId, WireModel


class StationStatus(WireModel):
    """Retained on ``fw/v1/<station>/status``; the agent's Last Will says ``offline``."""

    message_type: Literal["station_status"] = "station_status"
    schema_version: Literal[1] = 1
    station_id: StationId
    state: Literal["online", "offline"]
    at: AwareDatetime | None = Field(default=None, description="absent in the Last Will")
    agent_version: Annotated[str, Field(max_length=32)] | None = None


class DeviceSeen(WireModel):
    device_id: DeviceId
    device_kind: Annotated[str, Field(max_length=32)]
    last_message_at: AwareDatetime
    messages: Annotated[int, Field(ge=0)]


class Heartbeat(WireModel):
    """Every N seconds from each edge agent: the fleet dashboard's raw material."""

    message_type: Literal["heartbeat"] = "heartbeat"
    schema_version: Literal[1] = 1
    station_id: StationId
    at: AwareDatetime
    agent_version: Annotated[str, Field(max_length=32)]
    uptime_s: Annotated[float, Field(ge=0)]
    spool_depth: Annotated[int, Field(ge=0, description="messages waiting to go uplink")]
    spool_bytes: Annotated[int, Field(ge=0)]
    oldest_spooled_age_s: Annotated[float, Field(ge=0)]
    accepted_total: Annotated[int, Field(ge=0)] = 0
    forwarded_total: Annotated[int, Field(ge=0)] = 0
    refused_spool_full_total: Annotated[int, Field(ge=0)] = 0
    dead_letters_total: Annotated[int, Field(ge=0)] = 0
    uplink_connected: bool = True
    uplink_refused_total: Annotated[
        int, Field(ge=0, description="uplink publishes the central broker answered with a non-success PUBACK")
    ] = 0
    uplink_refusals: Annotated[
        dict[Annotated[str, Field(max_length=64)], Annotated[int, Field(ge=0)]],
        Field(max_length=32, description="those refusals by reason, e.g. no_matching_subscribers"),
    ] = Field(default_factory=dict)
    devices: Annotated[list[DeviceSeen], Field(max_length=256)] = Field(default_factory=list)
    # Follow-up as the station page counts it (edge.page.followup): the station knows its cases and
    # who came back; InfluxQL cannot compare a follow-up date with later visits. None: not counted.
    cases_opened: Annotated[int, Field(ge=0, description="cases this station knows of")] | None = None
    cases_linked: Annotated[int, Field(ge=0, description="of those, with a social prescription")] | None = (
        None
    )
    cases_followed_up: (
        Annotated[
            int, Field(ge=0, description="of the linked, resolved or visited on/after the follow-up date")
        ]
        | None
    ) = None
    overdue_follow_ups: (
        Annotated[int, Field(ge=0, description="open cases past their follow-up date without that visit")]
        | None
    ) = None


def utc_now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)
