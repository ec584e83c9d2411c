"""What the follow-up stages work on and what they hand back, and the one interface of a stage.

A device message whose points are durable (its recording's features included) becomes a
:class:`FollowUp`. The pipeline (:mod:`gateway.pipeline`) runs every stage of
:func:`gateway.stages.default_stages` on it in order; a stage first says which InfluxQL
statements it needs (:meth:`Stage.statements`), then turns their answers — one list of rows per
statement — into :class:`Effects` (:meth:`Stage.run`): points to write, messages to publish,
statements that must run before the points are written.
A later stage reads what an earlier one wrote back from InfluxDB (the case stage reads the visit
score points), never from the item, so a stage that runs again on redelivery sees the same.

Stages are pure and idempotent by point identity: a redelivered message runs every stage again
and writes the same points, so a stage must not skip work because "it was done before".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from gateway.influx.reader import Row
from gateway.point_table import Point
from telemetry.devices import Message


@dataclass(eq=False)
class FollowUp:
    """One device message on its way through the stages."""

    message: Message

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
