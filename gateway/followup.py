"""What the follow-up stages work on and what they hand back, and the one interface of a stage.

A device message whose points are durable (its recording's features included), or a station's
case action (a :class:`telemetry.cases.CaseEvent` on ``fw/v1/<station>/cases``), becomes a
:class:`FollowUp`. The pipeline (:mod:`gateway.pipeline`) runs the stages of
:func:`gateway.stages.default_stages` that apply to it, in order; a stage first says which InfluxQL
statements it needs (:meth:`Stage.statements`), then turns their answers — one list of rows per
statement — into :class:`Effects` (:meth:`Stage.run`): points to write, messages to publish,
statements that must run before the points are written, refusals to keep as dead letters.
A later stage reads what an earlier one wrote back from InfluxDB (the case stage reads the visit
score points), never from the item, so a stage that runs again on redelivery sees the same.

Stages are pure and idempotent by point identity: a redelivered message runs every stage again
and writes the same points, so a stage must not skip work because "it was done before".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from gateway.dead_letters import Refusal
from gateway.influx.reader import Row
from gateway.point_table import Point
from telemetry.cases import CaseEvent
from telemetry.devices import Message

#: What a follow-up is about: a device message, or a station's case action.
Subject = Message | CaseEvent
S = TypeVar("S", bound=Subject, covariant=True)


@dataclass(eq=False, frozen=True)
class FollowUp(Generic[S]):
    """One device message (``FollowUp[Message]``), or one case action, on its way through the stages."""

    message: S

    @property
    def participant(self) -> str:
        return self.message.participant


@dataclass
class Effects:
    """What one stage run asks for. The message is acknowledged only once all of it is durable."""

    points: list[Point] = field(default_factory=list)
    alerts: list[tuple[str, bytes]] = field(default_factory=list)  # (topic, payload): QoS 1 publishes
    before_write: list[str] = field(default_factory=list)  # InfluxQL (DELETE ...) run before the points
    refusals: list[Refusal] = field(default_factory=list)  # kept as dead letters of the message


class Stage(Protocol):
    """One step of the follow-up pipeline."""

    name: str

    def applies(self, message: Subject) -> bool:
        """Whether the message can give this stage work (the pipeline skips stages no item applies to)."""
        ...

    def statements(self, item: FollowUp[Subject]) -> list[str]:
        """The InfluxQL SELECTs whose answers :meth:`run` needs (read with other items' in one request)."""
        ...

    def run(self, item: FollowUp[Subject], answers: list[list[Row]]) -> Effects:
        """The effects for ``item``; ``answers[i]`` holds the rows of ``statements(item)[i]``."""
        ...
