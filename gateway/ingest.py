"""The dispatcher: a message's own points, from the intake queue to the writer.

One thread takes up to ``intake_batch`` deliveries at a time from the intake queue (waiting up
to ``intake_linger_s`` for a group to fill) and routes each (:class:`gateway.router.Router`).
The points of the whole group go into one :class:`gateway.point_table.PointTable`, written as
one chunk (:class:`gateway.storage.Storage`); each refusal becomes a dead letter in the same
table (:class:`gateway.dead_letters.DeadLetters`).
Recordings go to the analysis pool in batches of ``recording_batch`` per kind: their feature
points are written, their decline-relevant values join the message's follow-up, and a recording
the kernels cannot analyse is dead-lettered ``processing`` (its reported values are kept). The
follow-ups any stage wants are handed to the pipeline (:class:`gateway.pipeline.Pipeline`), which
starts them once the message's points are durable. A bug while routing one message dead-letters
that message (``invalid``) and costs no other.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from gateway import signal_features
from gateway.acknowledgements import Acknowledgements, Delivery, Hold
from gateway.dead_letters import DeadLetters, Refusal
from gateway.followup import FollowUp
from gateway.metrics import Metrics
from gateway.mqtt_session import Intake
from gateway.pipeline import Pipeline
from gateway.point_table import PointTable
from gateway.router import Routed, Router
from gateway.settings import GatewaySettings
from gateway.storage import Storage
from telemetry.envelope import DeviceKind
from telemetry.errors import Reason

log = logging.getLogger("frailwatch.gateway")

Recorded = list[tuple[Delivery, FollowUp, Hold]]  # a recording's message, its follow-up, its analysis hold


class Ingest:
    """The dispatcher thread and the recording-analysis pool."""

    def __init__(
        self,
        settings: GatewaySettings,
        intake: Intake,
        router: Router,
        storage: Storage,
        letters: DeadLetters,
        pipeline: Pipeline,
        acks: Acknowledgements,
        metrics: Metrics,
        stopping: threading.Event,
    ) -> None:
        self.settings = settings
        self.intake = intake
        self.router = router
        self.storage = storage
        self.letters = letters
        self.pipeline = pipeline
        self.acks = acks
        self.metrics = metrics
        self._stopping = stopping
        self._workers = settings.processing_workers or None
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="recordings")
        self._thread = threading.Thread(target=self._dispatch, name="dispatch", daemon=True)

    def start(self) -> threading.Thread:
        self._thread.start()
        return self._thread

    def finish(self) -> None:
        """After ``stopping`` is set: the group being routed, and the analyses already started;
        queued analyses are dropped (their messages stay unacknowledged, for redelivery), so a
        backlog of recordings cannot hold a SIGTERM past the drain time."""
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _dispatch(self) -> None:
        size = self.settings.intake_batch
        linger = self.settings.intake_linger_s
        while not self._stopping.is_set():
            try:
                first = self.intake.get(timeout=0.2)
            except queue.Empty:
                continue
            group = [first]
            # Routing a group and encoding its table cost mostly the same for 1 message as for
            # 100: waiting a few ms for more (the writer waits longer to fill its batch) keeps
            # that fixed cost off every message when they trickle in one by one.
            until = time.monotonic() + linger
            while len(group) < size:
                try:
                    group.append(self.intake.get_nowait())
                except queue.Empty:
                    left = until - time.monotonic()
                    if left <= 0:
                        break
                    try:
                        group.append(self.intake.get(timeout=left))
                    except queue.Empty:
                        break
            try:
                self._route_group(group)
            except Exception:
                log.exception("routing a group of %d messages failed", len(group))

    def _route_group(self, group: list[tuple[Delivery, Hold]]) -> None:
        table = PointTable()
        owners: list[Delivery] = []
        recorded: dict[DeviceKind, Recorded] = {}
        for delivery, _ in group:
            try:
                routed = self.router.route(delivery)
            except Exception as exc:  # a bug must cost one message, not the gateway
                log.exception("handling a message failed")
                routed = Routed(refusals=[Refusal(Reason.INVALID, f"internal error: {type(exc).__name__}")])
            if self._take(delivery, routed, table, recorded):
                owners.append(delivery)
        self.storage.write(owners, table)
        for kind, items in recorded.items():
            for start in range(0, len(items), self.settings.recording_batch):
                self._pool.submit(self._analyse, kind, items[start : start + self.settings.recording_batch])
        for _, routing in group:
            routing.release()

    def _take(
        self, delivery: Delivery, routed: Routed, table: PointTable, recorded: dict[DeviceKind, Recorded]
    ) -> bool:
        """Put what ``routed`` gives in its places; True when ``delivery`` owns points in ``table``."""
        if routed.label is not None:
            self.metrics.messages.labels(routed.label).inc()
        before = len(table)
        table.extend(routed.points, delivery.seq)
        for refusal in routed.refusals:
            self.letters.refuse(delivery, refusal, table)
        if routed.measured_ns is not None:
            delivery.measured_ns = routed.measured_ns
        delivery.message_ids = tuple(routed.accepted)
        for item in routed.recorded:
            entry = (delivery, item, self.acks.hold((delivery,)))
            recorded.setdefault(item.message.device_kind, []).append(entry)
        items = [*routed.followups, *routed.actions]
        self.pipeline.follow(delivery, [i for i in items if self.pipeline.wants(i.message)])
        return len(table) > before

    def _analyse(self, kind: DeviceKind, items: Recorded) -> None:
        try:
            outcomes = signal_features.analyse(kind, [item.message for _, item, _ in items], self._workers)
            table = PointTable()
            owners: list[Delivery] = []
            for (delivery, item, _), outcome in zip(items, outcomes, strict=True):
                table.extend(outcome.points, delivery.seq)
                if outcome.error is not None:
                    refusal = Refusal(
                        Reason.PROCESSING,
                        f"{kind.value} recording not analysed: {outcome.error}",
                        "payload.recording",
                        message_id=item.message.message_id,
                    )
                    self.letters.refuse(delivery, refusal, table)
                if (outcome.points or outcome.error is not None) and delivery not in owners:
                    owners.append(delivery)
            self.storage.write(owners, table)
        except Exception:
            log.exception("analysing %d %s recordings failed", len(items), kind.value)
        finally:
            for _, _, analysis in items:
                analysis.release()
