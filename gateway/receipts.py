"""Receipts to the stations: which of their messages are durable here (telemetry.receipts).

When everything a delivery caused is durable — its points, its dead letter, its follow-up stages —
the acknowledgement tracker hands it to :meth:`Receipts.durable`, which files its names under its
station: the digest of its bytes, and the message ids of the readings it carried. Every
``receipt_interval_s`` one :class:`telemetry.receipts.Receipt` per station goes out on
``fw/v1/<station>/receipts`` at QoS 1. Nothing waits for it: the MQTT acknowledgement does not
depend on it, and a receipt lost on the way only makes the station send the message again, which
the idempotent writes absorb.

Only what an edge spools is receipted: device messages, batches, the edge's dead letters and case
actions — not heartbeats or status.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from gateway.acknowledgements import Delivery
from telemetry import codec, topics
from telemetry.receipts import MAX_NAMED, Receipt, digest

log = logging.getLogger("frailwatch.gateway")
SPOOLED_CHANNELS = frozenset({"data", "batch", "deadletter", "cases"})


class Publisher(Protocol):
    """What the receipts need of the MQTT session: a QoS 1 publish nobody waits for."""

    def publish_unheld(self, topic: str, payload: bytes) -> None: ...


@dataclass
class _Names:
    message_ids: list[str] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)


class Receipts:
    """Gathers durable deliveries per station and sends their receipts in bulk."""

    def __init__(
        self, session: Publisher, gateway: str, interval_s: float, stopping: threading.Event
    ) -> None:
        self._session = session
        self._gateway = gateway
        self._interval_s = interval_s
        self._stopping = stopping
        self._lock = threading.Lock()
        self._pending: dict[str, _Names] = {}
        self._thread = threading.Thread(target=self._run, name="receipts", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def durable(self, delivery: Delivery) -> None:
        """File ``delivery`` for its station's next receipt (called by the acknowledgement tracker)."""
        parts = delivery.topic.split("/")
        if len(parts) < 4 or parts[3] not in SPOOLED_CHANNELS or delivery.station == "unknown":
            return
        with self._lock:
            names = self._pending.setdefault(delivery.station, _Names())
            names.digests.append(digest(delivery.payload))
            names.message_ids.extend(delivery.message_ids)

    def flush(self) -> int:
        """Send what is gathered; returns the number of receipts sent."""
        with self._lock:
            pending, self._pending = self._pending, {}
        sent = 0
        now = datetime.now(UTC)
        for station, names in pending.items():
            for start in range(0, max(len(names.message_ids), len(names.digests)), MAX_NAMED):
                receipt = Receipt(
                    station_id=station,
                    at=now,
                    gateway=self._gateway[:64],
                    message_ids=names.message_ids[start : start + MAX_NAMED],
                    digests=names.digests[start : start + MAX_NAMED],
                )
                self._session.publish_unheld(topics.receipts(station), codec.encode(receipt))
                sent += 1
        return sent

    def _run(self) -> None:
        while not self._stopping.wait(self._interval_s):
            try:
                self.flush()
            except Exception:
                log.exception("sending receipts failed (the stations will re-send those messages)")
        self.flush()
