"""What the follow-up stages work on and what they hand back, and the one interface of a stage.

A device message whose points are durable becomes a :class:`FollowUp`: the message and the
decline-relevant :class:`Value` s it carried (readings, and features its recording gave). The
pipeline (:mod:`gateway.pipeline`) runs every stage of :func:`gateway.stages.default_stages` on it in
order; a stage first says which InfluxQL statements it needs (:meth:`Stage.statements`), then
turns their answers — one list of rows per statement — into :class:`Effects` (:meth:`Stage.run`):
points to write, messages to publish, statements that must run before the points are written.
A stage may leave results on the item for the stages after it (the visit-score stage sets
``scores``).

Stages are pure and idempotent by point identity: a redelivered message runs every stage again
and writes the same points, so a stage must not skip work because "it was done before".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from gateway.influx.reader import Row
from gateway.point_table import Point
from telemetry.devices import Message


@dataclass(frozen=True)
class Value:
    """One frailty-relevant value to judge."""

    metric: str
    value: float
    time_ns: int  # the point's timestamp (measured_at + id hash, or the visit's)
    source: str | None = None  # gait_features source tag the value came from
    # The decline_event's timestamp when it differs from the value's point: a visit score's point
    # sits at the start of the visit's UTC day, but its event is stamped at the input that changed
    # it, so a visit happening now raises an event "now" (alert rules look back minutes).
    event_ns: int | None = None

    @property
    def event_time_ns(self) -> int:
        return self.time_ns if self.event_ns is None else self.event_ns


@dataclass(eq=False)
class FollowUp:
    """One device message on its way through the stages."""

    message: Message
    values: list[Value] = field(default_factory=list)  # measured: the readings and recording features
    scores: list[Value] = field(default_factory=list)  # the visit scores this message changed

    @property
    def participant(self) -> str:
        return self.message.participant


@dataclass
class Effects:
    """What one stage run asks for. The message is acknowledged only once all of it is durable."""

    points: list[Point] = field(default_factory=list)
    alerts: list[tuple[str, bytes]] = field(default_factory=list)  # (topic, payload): QoS 1 publishes
    before_write: list[str] = field(default_factory=list)  # InfluxQL (DELETE ...) run before the points


class Stage(Protocol):
    """One step of the follow-up pipeline."""

    name: str

    def applies(self, message: Message) -> bool:
        """Whether the message can give this stage work (a message any stage applies to runs them all)."""
        ...

    def statements(self, item: FollowUp) -> list[str]:
        """The InfluxQL SELECTs whose answers :meth:`run` needs (read with other items' in one request)."""
        ...

    def run(self, item: FollowUp, answers: list[list[Row]]) -> Effects:
        """The effects for ``item``; ``answers[i]`` holds the rows of ``statements(item)[i]``."""
        ...
