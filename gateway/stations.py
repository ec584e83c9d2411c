"""Station messages → InfluxDB points: heartbeats (the station and each device it saw) and status."""

from __future__ import annotations

from datetime import datetime

from gateway import influx_schema
from gateway.point_table import Point
from telemetry.station import Heartbeat, StationStatus


def heartbeat_points(beat: Heartbeat) -> list[Point]:
    at = influx_schema.time_ns(beat.at)
    station = {influx_schema.STATION_TAG: beat.station_id}
    fields = {f.name: getattr(beat, f.name) for f in influx_schema.STATION_HEARTBEAT.fields}
    points: list[Point] = [(influx_schema.STATION_HEARTBEAT.name, at, station, fields)]
    for device in beat.devices:
        age = max(0.0, (beat.at - device.last_message_at).total_seconds())
        tags = {**station, "device_id": device.device_id, "device_kind": device.device_kind}
        points.append(
            (
                influx_schema.STATION_DEVICE.name,
                at,
                tags,
                {"messages": device.messages, "last_message_age_s": age},
            )
        )
    return points


def status_point(status: StationStatus, received_at: datetime, retained: bool = False) -> Point:
    """A station_status point. Live messages are stamped with their ``at`` (so every replica, each
    on its own ordinary subscription, writes the same point), else — the Last Will has no ``at`` —
    at receipt. A *retained* delivery (on (re)subscribe) is the station's state as of now, so it is
    stamped at receipt: otherwise an offline Last Will queued in the session while the gateway was
    down (stamped at receipt) would outrank the online status the station published after it.
    Receipt stamps differ between replicas and reconnects, giving a few extra points that all
    repeat the same state; the dashboards and the offline rule read ``last("online")``, which
    they do not change."""
    at = received_at if retained or status.at is None else status.at
    fields = {"online": 1 if status.state == "online" else 0, "agent_version": status.agent_version}
    return (
        influx_schema.STATION_STATUS.name,
        influx_schema.time_ns(at),
        {influx_schema.STATION_TAG: status.station_id},
        fields,
    )
