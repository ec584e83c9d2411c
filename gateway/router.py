"""An MQTT message → the points to write, the refusals to keep, and the work that follows.

:meth:`Router.route` reads the topic (:func:`telemetry.topics.parse`), decodes the payload as the
channel's contract model and checks that the station the payload claims is the topic's station
(else ``impersonation``):

- ``data``: one device :data:`telemetry.Message`, whose kind and device must also be the topic's
  (else ``topic_mismatch``); ``batch``: a :class:`telemetry.MessageBatch`, each reading on its own
  (a refused position or a reading claiming another station costs only itself). An accepted
  reading gives its points (:mod:`gateway.readings`) and a :class:`gateway.followup.FollowUp`;
  one with a recording is also handed on for analysis (:mod:`gateway.signal_features`).
- ``heartbeat`` and ``status``: the station's points (:mod:`gateway.stations`).
- ``deadletter``: an edge's :class:`telemetry.DeadLetter`, stored as its ``dead_letter`` point.
- ``cases``: a counsellor's action, a :class:`telemetry.cases.CaseEvent`; no points of its own —
  it is a follow-up, checked against the case-event log by :mod:`gateway.stages.case_actions`.

A contract error becomes a :class:`gateway.dead_letters.Refusal` with the error's reason and path.
Our own letters (``fw/v1/gateway/deadletter`` matches the edges' filter) are ignored. No I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.acknowledgements import Delivery
from gateway.dead_letters import Refusal, edge_letter_point
from gateway.followup import FollowUp
from gateway.point_table import Point
from gateway.readings import has_recording, message_time_ns, reading_points
from gateway.signal_features import ANALYSES
from gateway.stations import heartbeat_points, status_point
from telemetry import codec, topics
from telemetry.cases import CaseEvent
from telemetry.devices import Message
from telemetry.errors import ContractError, Reason
from telemetry.events import DeadLetter
from telemetry.station import Heartbeat, StationStatus


@dataclass
class Routed:
    """What one MQTT message gives."""

    label: str | None = None  # the messages metric's kind label (None: not counted)
    points: list[Point] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # ids of every accepted device message
    followups: list[FollowUp[Message]] = field(default_factory=list)  # accepted, with follow-up work
    actions: list[FollowUp[CaseEvent]] = field(default_factory=list)  # an accepted case action
    recorded: list[FollowUp[Message]] = field(default_factory=list)  # those with a recording to analyse
    measured_ns: int | None = None  # measured_at of the last accepted reading


class Router:
    """Routes the messages of one gateway replica (``gateway``: its client id, on edge letters).

    ``wants``: whether an accepted message has follow-up work (:meth:`gateway.pipeline.Pipeline.wants`);
    only those, and those with a recording to analyse, become a :class:`FollowUp`.
    """

    def __init__(self, gateway: str, wants: Callable[[Message], bool] = lambda _m: True) -> None:
        self.gateway = gateway
        self.wants = wants

    def route(self, delivery: Delivery) -> Routed:
        routed = Routed()
        if delivery.topic == topics.GATEWAY_DEADLETTER:
            return routed
        try:
            parsed = topics.parse(delivery.topic)
        except ValueError as exc:
            routed.label = "unknown_topic"
            routed.refusals.append(Refusal(Reason.UNKNOWN_TOPIC, str(exc)))
            return routed
        channel = parsed.channel
        routed.label = parsed.device_kind if channel == "data" else channel
        try:
            if channel == "data":
                self._data(delivery.payload, parsed, routed)
            elif channel == "batch":
                self._batch(delivery.payload, parsed.station_id, routed)
            elif channel == "heartbeat":
                beat = codec.decode_as(Heartbeat, delivery.payload)
                if _same_station(beat.station_id, parsed.station_id, routed):
                    routed.points.extend(heartbeat_points(beat))
            elif channel == "status":
                status = codec.decode_as(StationStatus, delivery.payload)
                if _same_station(status.station_id, parsed.station_id, routed):
                    routed.points.append(status_point(status, delivery.received_at, delivery.retained))
            elif channel == "deadletter":
                letter = codec.decode_as(DeadLetter, delivery.payload)
                if _same_station(letter.station_id, parsed.station_id, routed):
                    routed.points.append(edge_letter_point(letter, delivery, self.gateway))
            elif channel == "cases":
                action = codec.decode_as(CaseEvent, delivery.payload)
                if _same_station(action.station_id, parsed.station_id, routed):
                    routed.actions.append(FollowUp(action))
        except ContractError as error:
            routed.refusals.append(Refusal(error.reason, error.detail, error.path))
        return routed

    def _data(self, payload: bytes, parsed: topics.ParsedTopic, routed: Routed) -> None:
        message = codec.decode(payload)
        if not _same_station(message.station_id, parsed.station_id, routed):
            return
        kind = message.device_kind.value
        if (kind, message.device_id) != (parsed.device_kind, parsed.device_id):
            routed.refusals.append(
                Refusal(
                    Reason.TOPIC_MISMATCH,
                    f"topic says {parsed.device_kind}/{parsed.device_id}, payload {kind}/{message.device_id}",
                    "device_kind" if kind != parsed.device_kind else "device_id",
                    message_id=message.message_id,
                )
            )
            return
        self._accept(message, routed)

    def _batch(self, payload: bytes, station: str, routed: Routed) -> None:
        result = codec.decode_batch(payload)
        if not _same_station(result.station_id, station, routed):
            return
        for _index, error in result.errors:
            routed.refusals.append(Refusal(error.reason, error.detail, error.path))
        for index, message in enumerate(result.messages):
            if message.station_id != station:
                routed.refusals.append(
                    Refusal(
                        Reason.IMPERSONATION,
                        f"message {index} claims station {message.station_id!r} in a batch of {station!r}",
                        f"messages.{index}.station_id",
                        message_id=message.message_id,
                    )
                )
                continue
            self._accept(message, routed)

    def _accept(self, message: Message, routed: Routed) -> None:
        at = message_time_ns(message)
        routed.accepted.append(message.message_id)
        routed.points.extend(reading_points(message, at))
        routed.measured_ns = at - at % 1000  # measured_at itself (the last 3 digits are the id's)
        wanted = self.wants(message)
        recorded = message.device_kind in ANALYSES and has_recording(message)
        if wanted or recorded:
            item = FollowUp(message)
            if wanted:
                routed.followups.append(item)
            if recorded:
                routed.recorded.append(item)


def _same_station(claimed: str, topic_station: str, routed: Routed) -> bool:
    if claimed == topic_station:
        return True
    routed.refusals.append(
        Refusal(
            Reason.IMPERSONATION,
            f"payload station {claimed!r} differs from the topic's station {topic_station!r}",
            "station_id",
            station=topic_station,
        )
    )
    return False
