"""Acknowledging an MQTT message once everything it caused is durable.

The gateway receives with manual acknowledgements (paho ``manual_ack_set(True)``) on a persistent
session, so the broker keeps every message until :meth:`Acknowledgements` sends its PUBACK; a
crash at any instant leaves the unacknowledged ones with the broker, which redelivers them, and
deterministic point identity (:mod:`gateway.influx_schema`) makes the replay overwrite rather than
duplicate.

A :class:`Delivery` is one MQTT message from receipt to acknowledgement. Each part of the work
it causes that must be durable first — routing it, each write chunk holding its points, the
analysis of its recordings, the PUBACK of each message it publishes, each follow-up stage — is a
:class:`Hold`, taken with :meth:`Acknowledgements.hold` and released exactly once when that part
is done. When a delivery's last hold is released it *settles*: the next step queued for it with
:meth:`Acknowledgements.then` runs (a follow-up stage, which takes holds of its own), and once no
step is left the message is acknowledged. This module is the only place holds are counted.

Packet ids belong to a connection: the broker redelivers a message received on a connection that
has since dropped with its old id, which may by then name another message. So every connect and
disconnect starts a new *generation*, and a delivery of an older generation is never acknowledged.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from telemetry import topics

log = logging.getLogger("frailwatch.gateway")


@dataclass(eq=False)
class Delivery:
    """One MQTT message until it is acknowledged."""

    seq: int  # unique in this process: owner of the message's points in a PointTable
    mid: int
    qos: int
    generation: int
    topic: str
    payload: bytes
    received_at: datetime
    retained: bool = False  # delivered from the broker's retained store (on subscribe)
    measured_ns: int | None = None  # measured_at of its (last) reading: the ingest lag once written
    storage_rejected: bool = False  # InfluxDB refused its points: a refusal of its dead letter is final
    message_ids: tuple[str, ...] = ()  # the readings it carried, for its station's receipt
    _holds: int = field(default=0, repr=False)
    _steps: deque[Callable[[], None]] = field(default_factory=deque, repr=False)

    @property
    def station(self) -> str:
        """The station the topic names, or "unknown"."""
        return topics.station_of(self.topic) or "unknown"


class Hold:
    """One part of the work that ``deliveries`` wait for; :meth:`release` it once, when done."""

    __slots__ = ("_acks", "_released", "deliveries")

    def __init__(self, acks: Acknowledgements, deliveries: tuple[Delivery, ...]) -> None:
        self._acks = acks
        self.deliveries = deliveries
        self._released = False

    def release(self) -> None:
        self._acks._release(self)


class Acknowledgements:
    """Holds, settling and acknowledgement of every delivery of one MQTT connection's client."""

    def __init__(
        self,
        send_ack: Callable[[int, int], object],
        on_acked: Callable[[int], object] | None = None,
        on_durable: Callable[[Delivery], object] | None = None,
    ) -> None:
        self._send_ack = send_ack  # paho's client.ack(mid, qos)
        self._on_acked = on_acked  # called with how many were acknowledged (a counter's inc)
        # Everything the delivery caused is durable (whatever connection it came on): its receipt.
        self.on_durable = on_durable
        self._lock = threading.Lock()  # hold counts, steps, in-flight count
        self._ack_lock = threading.Lock()  # the generation, and an ack against it
        self._generation = 0
        self._seq = itertools.count(1)
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Deliveries received and not yet acknowledged (nor abandoned to an old connection)."""
        with self._lock:
            return self._in_flight

    def new_connection(self) -> None:
        """A connect or disconnect: what was received before is never acknowledged from now on."""
        with self._ack_lock:
            self._generation += 1

    def receive(
        self, mid: int, qos: int, topic: str, payload: bytes, retained: bool = False
    ) -> tuple[Delivery, Hold]:
        """A new delivery, held until its routing is done (release the returned hold then)."""
        delivery = Delivery(
            seq=next(self._seq),
            mid=mid,
            qos=qos,
            generation=self._generation,
            topic=topic,
            payload=payload,
            received_at=datetime.now(UTC),
            retained=retained,
            _holds=1,
        )
        with self._lock:
            self._in_flight += 1
        return delivery, Hold(self, (delivery,))

    def hold(self, deliveries: Iterable[Delivery]) -> Hold:
        """A part that each of ``deliveries`` waits for."""
        held = tuple(deliveries)
        with self._lock:
            for delivery in held:
                delivery._holds += 1
        return Hold(self, held)

    def then(self, delivery: Delivery, step: Callable[[], None]) -> None:
        """Run ``step`` when ``delivery`` next settles, before it is acknowledged (steps run in order)."""
        with self._lock:
            delivery._steps.append(step)

    def release_all(self, holds: Iterable[Hold]) -> None:
        """Release many holds at once (the chunks of one written batch): one pass under the lock,
        then the steps and acknowledgements of the deliveries that settled."""
        holds = list(holds)
        settled = []
        with self._lock:
            if any(hold._released for hold in holds) or len({id(h) for h in holds}) < len(holds):
                raise RuntimeError("a hold was released twice")
            for hold in holds:
                hold._released = True
                for delivery in hold.deliveries:
                    delivery._holds -= 1
                    if delivery._holds == 0:
                        settled.append(delivery)
        if settled:
            self._settle(settled)

    def _release(self, hold: Hold) -> None:
        self.release_all((hold,))

    def _settle(self, deliveries: list[Delivery]) -> None:
        stepped = []
        done = []
        with self._lock:
            for delivery in deliveries:
                if delivery._steps:
                    # The step's own hold: it settles only after the holds the step takes.
                    delivery._holds += 1
                    stepped.append((delivery, delivery._steps.popleft()))
                else:
                    done.append(delivery)
        for delivery, step in stepped:
            try:
                step()
            except Exception:
                # Never acknowledge work that did not run: left held, the message is redelivered
                # to some replica after this connection ends.
                log.exception("a follow-up step failed; its message is left unacknowledged")
                continue
            self._release(Hold(self, (delivery,)))
        if done:
            self._acknowledge(done)

    def _acknowledge(self, deliveries: list[Delivery]) -> None:
        if self.on_durable is not None:
            for delivery in deliveries:
                try:
                    self.on_durable(delivery)
                except Exception:
                    log.exception("a durable delivery's receipt failed (the station will re-send it)")
        acked = 0
        with self._ack_lock:
            for delivery in deliveries:
                if delivery.generation == self._generation:
                    if delivery.qos > 0:
                        self._send_ack(delivery.mid, delivery.qos)
                    acked += 1
        with self._lock:
            self._in_flight -= len(deliveries)
        if acked and self._on_acked is not None:
            self._on_acked(acked)
