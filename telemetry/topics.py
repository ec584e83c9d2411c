"""MQTT topic scheme, version 1.

Central broker (edge agents publish, gateways consume)::

    fw/v1/<station>/data/<device_kind>/<device_id>   one Message (QoS 1)
    fw/v1/<station>/batch                            a MessageBatch of small readings (QoS 1)
    fw/v1/<station>/status                           retained "online"/"offline" StationStatus
    fw/v1/<station>/heartbeat                        Heartbeat every N seconds
    fw/v1/<station>/deadletter                       DeadLetter from the edge (no identifiers)
    fw/v1/gateway/deadletter                         DeadLetter from a gateway
    fw/v1/alerts/cases/<station>                     CaseEvent a gateway raised (opened, updated, ...)
    fw/v1/<station>/cases                            CaseEvent: a counsellor's action (station → gateway)
    fw/v1/<station>/results                          VisitResult (gateway → that station only)
    fw/v1/<station>/receipts                         Receipt: what is durable centrally (gateway → station)

Station-local broker (devices publish, the edge agent consumes)::

    fwdev/v1/<device_kind>/<device_id>

The station id is always in the topic so the broker ACL can confine each station to
``fw/v1/<its id>/#`` (architecture: "Stations are confined"), and the gateway checks it against the payload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VERSION = "v1"
ROOT = f"fw/{VERSION}"
DEVICE_ROOT = f"fwdev/{VERSION}"

STATION_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$"
DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
_STATION_RE = re.compile(STATION_ID_PATTERN)
_DEVICE_RE = re.compile(DEVICE_ID_PATTERN)


def _check_station(station_id: str) -> str:
    if not _STATION_RE.fullmatch(station_id):
        raise ValueError(f"station id {station_id!r} does not match {STATION_ID_PATTERN}")
    return station_id


def _check_device(device_id: str) -> str:
    if not _DEVICE_RE.fullmatch(device_id):
        raise ValueError(f"device id {device_id!r} does not match {DEVICE_ID_PATTERN}")
    return device_id


def data(station_id: str, device_kind: str, device_id: str) -> str:
    """Topic for one measurement message from a station."""
    return f"{ROOT}/{_check_station(station_id)}/data/{device_kind}/{_check_device(device_id)}"


def batch(station_id: str) -> str:
    """Topic for a batch of small readings from a station."""
    return f"{ROOT}/{_check_station(station_id)}/batch"


def status(station_id: str) -> str:
    """Retained online/offline topic of a station (its Last Will goes here too)."""
    return f"{ROOT}/{_check_station(station_id)}/status"


def heartbeat(station_id: str) -> str:
    return f"{ROOT}/{_check_station(station_id)}/heartbeat"


def station_deadletter(station_id: str) -> str:
    return f"{ROOT}/{_check_station(station_id)}/deadletter"


GATEWAY_DEADLETTER = f"{ROOT}/gateway/deadletter"


def case_alert(station_id: str) -> str:
    """Case events the gateway raises (opened, escalated, ...), for ops and clinical tools."""
    return f"{ROOT}/alerts/cases/{_check_station(station_id)}"


def case_actions(station_id: str) -> str:
    """A station's counsellor actions on cases (acknowledge, prescribe, resolve), station → gateway."""
    return f"{ROOT}/{_check_station(station_id)}/cases"


def receipts(station_id: str) -> str:
    """Which of the station's messages are durable centrally, gateway → station (telemetry.receipts)."""
    return f"{ROOT}/{_check_station(station_id)}/receipts"


def results(station_id: str) -> str:
    """Visit results for the station that serves the participant, gateway → station (downlink)."""
    return f"{ROOT}/{_check_station(station_id)}/results"


def device(device_kind: str, device_id: str) -> str:
    """Station-local topic a device publishes to."""
    return f"{DEVICE_ROOT}/{device_kind}/{_check_device(device_id)}"


# Subscription filters.
ALL_DATA = f"{ROOT}/+/data/#"
ALL_BATCHES = f"{ROOT}/+/batch"
ALL_STATUS = f"{ROOT}/+/status"
ALL_HEARTBEATS = f"{ROOT}/+/heartbeat"
ALL_STATION_DEADLETTERS = f"{ROOT}/+/deadletter"
ALL_ALERTS = f"{ROOT}/alerts/#"
ALL_CASE_ACTIONS = f"{ROOT}/+/cases"
ALL_RECEIPTS = f"{ROOT}/+/receipts"
ALL_RESULTS = f"{ROOT}/+/results"
ALL_DEVICES = f"{DEVICE_ROOT}/#"


def shared(group: str, topic_filter: str) -> str:
    """MQTT 5 shared subscription: replicas in one group split the messages between them."""
    return f"$share/{group}/{topic_filter}"


def station_prefix(station_id: str) -> str:
    """The ACL pattern a station's credentials may publish under."""
    return f"{ROOT}/{_check_station(station_id)}/#"


def station_grants(station_id: str) -> list[tuple[str, str]]:
    """The broker ACL lines of a station's user: publish under its own prefix (readings, status,
    case actions, ...), read its own visit results and receipts and nothing else."""
    return [
        ("write", station_prefix(station_id)),
        ("read", results(station_id)),
        ("read", receipts(station_id)),
    ]


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    """What a central-broker topic says about its message."""

    station_id: str
    channel: str  # "data", "batch", "status", "heartbeat", "deadletter", "cases" or "results"
    device_kind: str | None = None
    device_id: str | None = None


def _station_parts(topic: str) -> list[str] | None:
    """The topic split at its first four slashes if it is a station's (``fw/v1/<station>/…``)."""
    parts = topic.split("/", 4)
    if len(parts) < 3 or parts[0] != "fw" or parts[1] != VERSION:
        return None
    station_id = parts[2]
    return parts if station_id not in ("alerts", "gateway") and _STATION_RE.fullmatch(station_id) else None


def station_of(topic: str) -> str | None:
    """The station a central-broker topic names, or None — cheaper than :func:`parse` for a hot
    path that needs only that."""
    parts = _station_parts(topic)
    return parts[2] if parts else None


def channel_of(topic: str) -> str | None:
    """The channel of a station's topic (``data``, ``batch``, ``heartbeat``, …), or None."""
    parts = _station_parts(topic)
    return parts[3] if parts and len(parts) > 3 else None


def carries_readings(topic: str) -> bool:
    """Whether a station's topic carries device readings: one (``data``) or a ``batch``."""
    return channel_of(topic) in ("data", "batch")


def parse(topic: str) -> ParsedTopic:
    """Split a central-broker topic into station, channel and (for data) kind and device.

    Raises ``ValueError`` for anything outside the scheme.
    """
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != "fw" or parts[1] != VERSION:
        raise ValueError(f"topic {topic!r} is not under {ROOT}/")
    station_id = parts[2]
    if station_id in ("alerts", "gateway") or not _STATION_RE.fullmatch(station_id):
        raise ValueError(f"topic {topic!r} has no valid station id")
    channel = parts[3]
    if channel == "data" and len(parts) == 6:
        return ParsedTopic(station_id, channel, parts[4], _check_device(parts[5]))
    channels = ("batch", "status", "heartbeat", "deadletter", "cases", "results", "receipts")
    if channel in channels and len(parts) == 4:
        return ParsedTopic(station_id, channel)
    raise ValueError(f"topic {topic!r} is not a known channel of the v1 scheme")
