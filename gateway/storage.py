"""Writing points for deliveries: each delivery waits for the write chunk that holds its points.

:meth:`Storage.write` encodes a table as one chunk for the :class:`gateway.influx.BatchWriter`
(which batches by size and time, and retries while InfluxDB is down) and holds every delivery
that owns a point in it; the writer's ``on_written`` releases them. A chunk InfluxDB refuses (a
4xx: field type conflict, ...) or that cannot be encoded is written again one delivery at a time,
so only the message at fault is refused: it is dead-lettered ``storage_rejected`` with InfluxDB's
message, and the others are written. Refusals are handled on their own thread, since the writer's
thread must never submit (it could wait on itself).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.acknowledgements import Acknowledgements, Delivery, Hold
from gateway.dead_letters import Refusal
from gateway.influx.lineprotocol import LineProtocolError
from gateway.influx.transport import InfluxTransport, WriteRejected
from gateway.influx.writer import BatchWriter, WriterClosed, WriterStats
from gateway.metrics import Metrics
from gateway.point_table import Point, PointTable
from gateway.settings import GatewaySettings
from telemetry.errors import Reason

log = logging.getLogger("frailwatch.gateway")

Refuse = Callable[[Delivery, Refusal, PointTable], None]  # DeadLetters.refuse


@dataclass(frozen=True)
class _Chunk:
    """What the writer hands back: the hold of the deliveries whose points were in a chunk."""

    hold: Hold
    table: PointTable | None = None  # kept when the chunk holds many deliveries' points, to split it
    done: Callable[[], None] | None = None  # called once the points are written (or refused)


class Storage:
    """Acknowledged-after-write InfluxDB writes for deliveries, with refused messages isolated."""

    def __init__(
        self,
        transport: InfluxTransport,
        settings: GatewaySettings,
        acks: Acknowledgements,
        metrics: Metrics,
        refuse: Refuse,
        stopping: threading.Event,
    ) -> None:
        self.acks = acks
        self.metrics = metrics
        self._refuse = refuse
        self._stopping = stopping
        self.stats = WriterStats(latency_observer=metrics.write_latency.observe)
        self.writer = BatchWriter(
            transport,
            max_bytes=settings.write_max_bytes,
            max_delay_s=settings.write_max_delay_s,
            on_written=self._on_written,
            on_rejected=self._on_rejected,
            stats=self.stats,
        )
        self._rejections: queue.Queue[tuple[_Chunk, WriteRejected]] = queue.Queue()
        self._points_seen = 0

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._handle_rejections, name="rejections", daemon=True)
        thread.start()
        return thread

    def close(self, timeout_s: float) -> None:
        self.writer.close(timeout_s=timeout_s)

    def write(self, deliveries: Sequence[Delivery], table: PointTable) -> None:
        """Submit ``table`` (points owned by ``deliveries``, owner = delivery.seq); each waits for it."""
        if not deliveries:
            return
        try:
            body = table.encode()
        except LineProtocolError as exc:
            if len(deliveries) == 1:
                self._refuse_alone(deliveries[0], str(exc))
                return
            for delivery in deliveries:  # find the message that cannot be encoded
                self._write_owned(delivery, table)
            return
        hold = self.acks.hold(deliveries)
        try:
            self.writer.submit(body, _Chunk(hold, table if len(deliveries) > 1 else None))
        except WriterClosed:
            log.warning("writer closed: %d messages left unacknowledged for redelivery", len(deliveries))

    def write_points(self, delivery: Delivery, points: Iterable[Point], done: Callable[[], None]) -> None:
        """Points of one delivery (a follow-up stage's); it waits for them, and ``done`` is called
        once they are written or refused (at once when there are none)."""
        table = PointTable()
        table.extend(points, delivery.seq)
        try:
            body = table.encode() if len(table) else b""
        except LineProtocolError as exc:
            self._refuse_alone(delivery, str(exc))
            body = b""
        if not body:
            done()
            return
        try:
            # Urgent: the participant's next follow-up waits for these points, so they do not
            # wait for a batch to fill (it is written with whatever else is pending).
            self.writer.submit(body, _Chunk(self.acks.hold((delivery,)), done=done), urgent=True)
        except WriterClosed:
            log.warning("writer closed: a follow-up's points are left unacknowledged for redelivery")
            done()

    def write_unheld(self, points: Iterable[Point]) -> None:
        """Points no message waits for (the gateway's own stats); dropped once the writer is closed."""
        table = PointTable()
        table.extend(points)
        with contextlib.suppress(WriterClosed):
            self.writer.submit(table.encode(), None)

    def _write_owned(self, delivery: Delivery, table: PointTable) -> None:
        try:
            body = table.encode_owner(delivery.seq)
        except LineProtocolError as exc:
            self._refuse_alone(delivery, str(exc))
            return
        self.writer.submit(body, _Chunk(self.acks.hold((delivery,))))

    def _refuse_alone(self, delivery: Delivery, detail: str) -> None:
        if delivery.storage_rejected:
            log.error("InfluxDB refused a dead letter too: %s", detail[:200])
            return
        table = PointTable()
        self._refuse(delivery, Refusal(Reason.STORAGE_REJECTED, detail), table)
        self.write([delivery], table)

    # --- the writer's thread ------------------------------------------------------------------

    def _on_written(self, tokens: list[Any]) -> None:
        now_ns = time.time_ns()
        chunks = [token for token in tokens if isinstance(token, _Chunk)]
        measured = [d.measured_ns for c in chunks for d in c.hold.deliveries if d.measured_ns is not None]
        if measured:
            # The batch's worst lag (the stats point reports the interval's worst), then its newest.
            self.metrics.observe_lag(max(0.0, (now_ns - min(measured)) / 1e9))
            self.metrics.observe_lag(max(0.0, (now_ns - max(measured)) / 1e9))
        try:
            self.acks.release_all(c.hold for c in chunks)  # one pass for the whole batch
        finally:
            for chunk in chunks:
                if chunk.done is not None:
                    chunk.done()
        stats = self.stats
        self.metrics.points.inc(max(0, stats.points - self._points_seen))
        self._points_seen = stats.points
        self.metrics.batch_points.observe(stats.last_batch_points)
        self.metrics.ingest_lag.set(self.metrics.lag_s)

    def _on_rejected(self, token: Any, error: WriteRejected) -> None:
        if isinstance(token, _Chunk):
            self._rejections.put((token, error))

    # --- the rejections thread ----------------------------------------------------------------

    def _handle_rejections(self) -> None:
        while not self._stopping.is_set() or not self._rejections.empty():
            try:
                chunk, error = self._rejections.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                if chunk.table is not None:
                    # A chunk of many messages: write each alone to find the one InfluxDB refuses.
                    for delivery in chunk.hold.deliveries:
                        self._write_owned(delivery, chunk.table)
                else:
                    (delivery,) = chunk.hold.deliveries
                    self._refuse_alone(delivery, f"InfluxDB: {error.message}")
                chunk.hold.release()
            except Exception:
                log.exception("handling a rejected write failed")
            finally:
                if chunk.done is not None:
                    chunk.done()
