"""One gateway replica: its parts put together, their threads, and its life cycle.

The parts, in the order a message meets them: the MQTT session (:mod:`gateway.mqtt_session`,
paho's network thread → the intake queue), the dispatcher (:mod:`gateway.ingest`: routing,
the group's write, dead letters, recording analysis), the storage (:mod:`gateway.storage`:
the batched writer and its refusals), the follow-up pipeline (:mod:`gateway.pipeline` over
:mod:`gateway.stages`) and the acknowledgement tracker (:mod:`gateway.acknowledgements`), which
acknowledges each message once everything it caused is durable. A stats thread writes
``gateway_stats`` points every ``stats_interval_s``.

Stopping (SIGTERM): intake stops, the group being routed and the analyses taken finish, the
writes and follow-ups of what was taken get up to ``drain_s`` to become durable, acknowledged and
receipted to their stations (:mod:`gateway.receipts`); what is not by then is left with the broker
for redelivery.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from gateway.acknowledgements import Acknowledgements
from gateway.dead_letters import DeadLetters
from gateway.drill import CrashPoint
from gateway.influx.reader import InfluxReader
from gateway.influx.transport import make_transport
from gateway.ingest import Ingest
from gateway.metrics import Metrics, Ticker
from gateway.mqtt_session import Intake, MqttSession, make_client
from gateway.pipeline import Pipeline
from gateway.receipts import Receipts
from gateway.router import Router
from gateway.settings import GatewaySettings
from gateway.stages import default_stages
from gateway.storage import Storage

log = logging.getLogger("frailwatch.gateway")


class Gateway:
    """One replica. ``run()`` blocks until ``stop()``."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._stopping = threading.Event()
        self.metrics = Metrics(settings.client_id)
        self.transport = make_transport(settings.influx_settings())
        client = make_client(settings)
        self.acks = Acknowledgements(client.ack, on_acked=self.metrics.acked.inc)
        self.intake: Intake = queue.SimpleQueue()
        self.session = MqttSession(client, settings, self.acks, self.intake, self.metrics, self._stopping)
        self.letters = DeadLetters(settings.client_id, self.session, self.metrics)
        self.receipts: Receipts | None = None
        if settings.receipts:
            self.receipts = Receipts(
                self.session, settings.client_id, settings.receipt_interval_s, self._stopping
            )
            self.acks.on_durable = self.receipts.durable
        self.storage = Storage(
            self.transport, settings, self.acks, self.metrics, self.letters.refuse, self._stopping
        )
        self.pipeline = Pipeline(
            default_stages(settings),
            InfluxReader(self.transport),
            self.storage,
            self.session,
            self.acks,
            self.metrics,
            self._stopping,
            letter=self.letters.letter,
            crash=CrashPoint(settings.drill_crash_at, settings.drill_crash_marker)
            if settings.drill_crash_at and settings.drill_crash_marker
            else None,
        )
        self.ingest = Ingest(
            settings,
            self.intake,
            Router(settings.client_id, self.pipeline.wants),
            self.storage,
            self.letters,
            self.pipeline,
            self.acks,
            self.metrics,
            self._stopping,
        )

    def start(self) -> None:
        s = self.settings
        self.metrics.serve(s.metrics_host, s.metrics_port)
        self.ingest.start()
        self.storage.start()
        self.pipeline.start()
        if self.receipts is not None:
            self.receipts.start()
        Ticker(s.stats_interval_s, self._tick, self._stopping).start()
        self.session.start()
        log.info("gateway %s started (share group %s)", s.client_id, s.share_group)

    def stop(self) -> None:
        self._stopping.set()

    def wait(self) -> None:
        while not self._stopping.wait(0.5):
            pass

    def run(self) -> None:
        self.start()
        self.wait()
        self.shutdown()

    def shutdown(self) -> None:
        """Stop taking messages, finish and acknowledge what was taken, disconnect."""
        self._stopping.set()
        deadline = time.monotonic() + self.settings.drain_s
        self.ingest.finish()
        while time.monotonic() < deadline and self.acks.in_flight - self.intake.qsize() > 0:
            time.sleep(0.05)
        self.storage.close(timeout_s=max(0.1, deadline - time.monotonic()))
        self.pipeline.close()
        if self.receipts is not None:
            self.receipts.flush()  # what became durable while draining
        left = self.acks.in_flight
        self.session.close()
        self.transport.close()
        log.info("gateway stopped (%d messages left for redelivery)", left)

    def _tick(self) -> None:
        snap = self.storage.stats.snapshot()
        self.metrics.retries.set(float(snap.get("retries") or 0))
        self.metrics.pending_bytes.set(float(snap.get("pending_bytes") or 0))
        in_flight = self.acks.in_flight
        self.metrics.in_flight.set(in_flight)
        self.storage.write_unheld([self.metrics.stats_row(snap, in_flight)])
