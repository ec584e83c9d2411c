"""What a demo run produced, as one pydantic model: printed for people, written as summary.json.

Everything here is aggregate or pseudonymous: participants appear only as their HMAC pseudonyms.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field

from telemetry.envelope import Pseudonym, StationId


class Visit(BaseModel):
    """One participant's key results at one visit (None where the visit lacked the test)."""

    at: AwareDatetime
    station_id: StationId
    gait_speed_mps: float | None = None
    sppb_total: float | None = None
    grip_max_kg: float | None = None


class Alert(BaseModel):
    """A decline event as the gateway stored it."""

    at: AwareDatetime
    participant: Pseudonym
    station_id: StationId
    metric: str
    rule: str
    severity: str
    baseline: float | None = None
    current: float | None = None
    change: float | None = None


class ParticipantTrend(BaseModel):
    """Visits and alerts of one alerted participant: the material of a trend chart."""

    participant: Pseudonym
    sex: str | None = Field(default=None, description="'male'/'female' from the profile, for grip cut-offs")
    visits: list[Visit]
    alerts: list[Alert]


class StationCounts(BaseModel):
    station_id: StationId
    visits: int = 0
    device_messages: int = Field(default=0, description="published by the station's devices")
    measurements_written: int = Field(default=0, description="reading points in InfluxDB")
    alerts: int = 0
    dead_letters: int = 0


class UplinkOutage(BaseModel):
    """The one deliberate interruption of the uplink and how the spool drained afterwards."""

    started_at: AwareDatetime
    duration_s: float
    peak_spool_depth: int = Field(description="largest spool backlog over all stations during the outage")
    drained_after_s: float | None = Field(description="seconds from reconnect to empty spools (None: never)")


class DemoSummary(BaseModel):
    started_at: AwareDatetime
    finished_at: AwareDatetime
    duration_s: float
    stations: int
    participants: int
    days: int
    visits: int
    device_messages: int = Field(description="messages the simulated devices published")
    measurements_written: int = Field(description="reading points the gateway wrote to InfluxDB")
    points_by_measurement: dict[str, int]
    dead_letters_by_reason: dict[str, int]
    alerts: list[Alert]
    per_station: list[StationCounts]
    uplink_outage: UplinkOutage | None
    charts: list[str] = Field(default_factory=list, description="PNG files, relative to the output dir")

    @property
    def alerted_participants(self) -> list[str]:
        return sorted({alert.participant for alert in self.alerts})


def utc(dt: datetime) -> datetime:
    from datetime import UTC

    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
