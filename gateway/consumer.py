"""The gateway: MQTT 5 shared-subscription consumer whose acknowledgements follow InfluxDB writes.

Threads and what they own:

- paho's network thread: ``on_message`` only enqueues (it never blocks the network loop).
- dispatcher: takes up to ``intake_batch`` messages at a time, decodes and checks each against its
  topic, turns readings into rows of one :class:`PointTable` (encoded column-wise, one write chunk
  for the lot) and hands recordings to the analysis pool.
- analysis pool: ``analyze_*_batch`` over the recordings of many messages (nogil kernels).
- writer (:class:`gateway.influx.BatchWriter`): batches by size and time, retries while InfluxDB
  is down; ``on_written`` releases the messages whose points were in the batch.
- follow-up threads (one FIFO per participant hash): visit scores and decline detection, which
  read InfluxDB and so run only after the message's own points are written. Each takes what its
  inbox holds and reads for all of it with one InfluxQL request (one message per participant a
  round, so a participant's messages stay in order).

Acknowledgement (DESIGN invariant 1): each MQTT message is a :class:`Ticket` counting the parts it
is waiting for (write chunks, analyses, dead-letter/alert publishes, follow-up stages). Only at
zero is it acknowledged with ``client.ack(mid, qos)`` (``manual_ack_set(True)``). A crash at any
instant leaves unacknowledged messages with the broker (persistent session, ``clean_start=False``),
which redelivers them; deterministic point identity (:mod:`gateway.schema`) makes the replay
overwrite rather than duplicate. Receive Maximum bounds how many messages are in flight.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import queue
import random
import re
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from gateway import decline, points, recordings, schema, visits
from gateway.influx.lineprotocol import LineProtocolError
from gateway.influx.transport import InfluxUnavailable, QueryError, WriteRejected, make_transport
from gateway.influx.writer import BatchWriter, WriterClosed, WriterStats
from gateway.metrics import Metrics, Ticker
from gateway.points import PointTable, Row
from gateway.settings import GatewaySettings
from telemetry import codec, topics
from telemetry.envelope import STATION_ID_PATTERN, DeviceKind
from telemetry.errors import ContractError, Reason
from telemetry.events import DeadLetter, DeclineAlert
from telemetry.station import Heartbeat, StationStatus

log = logging.getLogger("frailwatch.gateway")
FOLLOWUP_THREADS = 4
FOLLOWUP_BATCH = 64  # follow-ups read together in one InfluxQL request (one per participant a round)
_STATION_RE = re.compile(STATION_ID_PATTERN)


def subscriptions(group: str) -> list[str]:
    """The filters every replica subscribes to: shared ones for the work, and station status as an
    ordinary subscription. Brokers never deliver retained messages to shared subscriptions, so a
    (re)started gateway would never learn the current online/offline state; with an ordinary one
    every replica receives it (and every live change), and the points are written idempotently
    (see :func:`gateway.points.status_row`)."""
    filters = (
        topics.ALL_DATA,
        topics.ALL_BATCHES,
        topics.ALL_HEARTBEATS,
        topics.ALL_STATION_DEADLETTERS,
    )
    return [*(topics.shared(group, f) for f in filters), topics.ALL_STATUS]


@dataclass(eq=False)
class Ticket:
    """One MQTT message until it is acknowledged."""

    seq: int
    mid: int
    qos: int
    generation: int
    topic: str
    payload: bytes
    received_at: datetime
    retained: bool = False  # delivered from the broker's retained store (on subscribe)
    pending: int = 1  # held by the dispatcher while it routes the message
    followups: list[FollowUp] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)
    measured_ns: int | None = None
    storage_rejected: bool = False

    @property
    def station(self) -> str:
        parts = self.topic.split("/")
        return parts[2] if len(parts) > 2 and _STATION_RE.fullmatch(parts[2]) else "unknown"


@dataclass(eq=False)
class FollowUp:
    """A device message whose scores and decline checks run after its points are written."""

    message: Any
    values: list[decline.Value] = field(default_factory=list)


Recorded = dict[DeviceKind, list[tuple["Ticket", Any, "FollowUp"]]]
Rows = list[dict[str, Any]] | None
Stage = Callable[["Ticket | None", "FollowUp", Rows], list[str]]
Work = tuple["Ticket", "FollowUp", Stage]
_READ_AGAIN: list[dict[str, Any]] = []  # a stage told to read its own rows (retried alone)


def _one_round(batch: list[Work]) -> tuple[list[Work], list[Work]]:
    """Split off a round: one stage, at most one message per participant, order kept per participant."""
    round_: list[Work] = []
    rest: list[Work] = []
    taken: set[str] = set()
    waiting: set[str] = set()
    for work in batch:
        participant = work[1].message.participant
        if participant in taken or participant in waiting or (round_ and work[2] != round_[0][2]):
            waiting.add(participant)
            rest.append(work)
        else:
            taken.add(participant)
            round_.append(work)
    return round_, rest


@dataclass(frozen=True)
class Token:
    """What the writer hands back: the tickets whose rows were in a chunk."""

    tickets: tuple[Ticket, ...]
    table: PointTable | None = None


class Gateway:
    """One replica. ``run()`` blocks until ``stop()``."""

    def __init__(self, settings: GatewaySettings, transport: Any = None) -> None:
        self.settings = settings
        self.transport = transport if transport is not None else make_transport(settings.influx_settings())
        self.metrics = Metrics(settings.client_id)
        self.writer_stats = WriterStats(latency_observer=self.metrics.write_latency.observe)
        self.writer = BatchWriter(
            self.transport,
            max_bytes=settings.write_max_bytes,
            max_delay_s=settings.write_max_delay_s,
            on_written=self._on_written,
            on_rejected=self._on_rejected,
            stats=self.writer_stats,
        )
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._ack_lock = threading.Lock()
        self._generation = 0
        self._seq = itertools.count(1)
        self._in_flight = 0
        self._intake: queue.Queue[Ticket] = queue.Queue()
        self._followups: list[queue.Queue[Work | None]] = [queue.Queue() for _ in range(FOLLOWUP_THREADS)]
        self._rejections: queue.Queue[tuple[Token, WriteRejected]] = queue.Queue()
        self._points_seen = 0
        workers = settings.processing_workers or None
        self._workers = workers
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="recordings")
        self._pub_lock = threading.Lock()
        self._pub_waiting: dict[int, Ticket] = {}
        self._pub_early: set[int] = set()
        self._threads: list[threading.Thread] = []
        self.connected = threading.Event()
        self.client = self._make_client()

    # --- MQTT ---------------------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=s.client_id, protocol=mqtt.MQTTv5)
        client.manual_ack_set(True)
        if s.mqtt_username:
            password = s.mqtt_password.get_secret_value() if s.mqtt_password else None
            client.username_pw_set(s.mqtt_username, password)
        if s.mqtt_ca_file is not None:
            client.tls_set(
                ca_certs=str(s.mqtt_ca_file),
                certfile=str(s.mqtt_cert_file) if s.mqtt_cert_file else None,
                keyfile=str(s.mqtt_key_file) if s.mqtt_key_file else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        # Our own publishes (dead letters, alerts) go out at once and in order with our PUBACKs.
        client.max_inflight_messages_set(0)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(s.reconnect_min_s, s.reconnect_max_s)  # type: ignore[arg-type]
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        return client

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        with self._ack_lock:
            self._generation += 1
        # Subscribe on every connect: Mosquitto forgets shared subscriptions across its restart
        # even when it resumes the session (docs/drills.md finding).
        options = SubscribeOptions(qos=1)
        client.subscribe([(f, options) for f in subscriptions(self.settings.share_group)])
        # Sessions of earlier versions also hold status as a shared filter: drop it (harmless if absent).
        client.unsubscribe(topics.shared(self.settings.share_group, topics.ALL_STATUS))
        self.connected.set()
        self.metrics.connected.set(1)
        log.info(
            "connected to %s:%d as %s (session present: %s)",
            self.settings.mqtt_host,
            self.settings.mqtt_port,
            self.settings.client_id,
            getattr(flags, "session_present", "?"),
        )

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        # Messages received on the old connection must not be acknowledged on a new one: the broker
        # redelivers them with the same packet ids, which may by then name other messages.
        with self._ack_lock:
            self._generation += 1
        self.connected.clear()
        self.metrics.connected.set(0)
        if not self._stop.is_set():
            log.warning("disconnected from the broker: %s", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        ticket = Ticket(
            seq=next(self._seq),
            mid=msg.mid,
            qos=msg.qos,
            generation=self._generation,
            topic=msg.topic,
            payload=bytes(msg.payload),
            received_at=datetime.now(UTC),
            retained=bool(msg.retain),
        )
        with self._lock:
            self._in_flight += 1
        self._intake.put(ticket)

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        # Called with paho's message lock held: never block here, never publish.
        with self._pub_lock:
            ticket = self._pub_waiting.pop(mid, None)
            if ticket is None:
                self._pub_early.add(mid)
                return
        self._release(ticket)

    def _publish(self, ticket: Ticket, topic: str, payload: bytes) -> None:
        """QoS 1 publish that the ticket waits for (its PUBACK releases it)."""
        self._hold(ticket)
        info = self.client.publish(topic, payload, qos=1)
        with self._pub_lock:
            if info.mid in self._pub_early:
                self._pub_early.discard(info.mid)
                done = True
            else:
                self._pub_waiting[info.mid] = ticket
                done = False
        if done:
            self._release(ticket)

    # --- ticket accounting --------------------------------------------------------------------

    def _hold(self, ticket: Ticket, parts: int = 1) -> None:
        with self._lock:
            ticket.pending += parts

    def _release(self, ticket: Ticket, parts: int = 1) -> None:
        with self._lock:
            ticket.pending -= parts
            done = ticket.pending == 0
        if done:
            self._advance(ticket)

    def _advance(self, ticket: Ticket) -> None:
        if ticket.stages and ticket.followups:
            # Next stage for every follow-up of the message, each on its participant's thread (one
            # FIFO per participant hash keeps a participant's visits in order).
            stage = ticket.stages.pop(0)
            self._hold(ticket, len(ticket.followups))
            for item in ticket.followups:
                inbox = self._followups[zlib.crc32(item.message.participant.encode()) % FOLLOWUP_THREADS]
                inbox.put((ticket, item, stage))
            return
        with self._ack_lock:
            current = ticket.generation == self._generation
            if current and ticket.qos > 0:
                self.client.ack(ticket.mid, ticket.qos)
        with self._lock:
            self._in_flight -= 1
        if current:
            self.metrics.acked.inc()

    # --- writes -------------------------------------------------------------------------------

    def _write(self, tickets: list[Ticket], table: PointTable) -> None:
        """Submit ``table`` (rows owned by ``tickets``, owner = ticket.seq); each ticket waits for it."""
        if not tickets:
            return
        try:
            body = table.encode()
        except LineProtocolError as exc:
            if len(tickets) == 1:
                self._dead_letter(tickets[0], Reason.STORAGE_REJECTED, str(exc))
                return
            for t in tickets:  # find the message that cannot be encoded
                self._write_owned(t, table)
            return
        for t in tickets:
            self._hold(t)
        try:
            self.writer.submit(body, Token(tuple(tickets), table if len(tickets) > 1 else None))
        except WriterClosed:
            log.warning("writer closed: %d messages left unacknowledged for redelivery", len(tickets))

    def _write_owned(self, ticket: Ticket, table: PointTable) -> None:
        try:
            body = table.encode_owner(ticket.seq)
        except LineProtocolError as exc:
            self._dead_letter(ticket, Reason.STORAGE_REJECTED, str(exc))
            return
        self._hold(ticket)
        self.writer.submit(body, Token((ticket,)))

    def _on_written(self, tokens: list[Any]) -> None:
        now_ns = time.time_ns()
        for token in tokens:
            if not isinstance(token, Token):
                continue
            for ticket in token.tickets:
                if ticket.measured_ns is not None:
                    self.metrics.observe_lag(max(0.0, (now_ns - ticket.measured_ns) / 1e9))
                self._release(ticket)
        snap = self.writer_stats
        self.metrics.points.inc(max(0, snap.points - self._points_seen))
        self._points_seen = snap.points
        self.metrics.batch_points.observe(snap.last_batch_points)
        self.metrics.ingest_lag.set(self.metrics.lag_s)

    def _on_rejected(self, token: Any, error: WriteRejected) -> None:
        """Writer thread: never submit from here (it could wait on itself); hand it over."""
        if isinstance(token, Token):
            self._rejections.put((token, error))

    def _handle_rejections(self) -> None:
        while not self._stop.is_set() or not self._rejections.empty():
            try:
                token, error = self._rejections.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                if len(token.tickets) > 1 and token.table is not None:
                    # A chunk of many messages: write each alone to find the one InfluxDB refuses.
                    for ticket in token.tickets:
                        self._write_owned(ticket, token.table)
                        self._release(ticket)
                    continue
                (ticket,) = token.tickets
                if ticket.storage_rejected:
                    log.error("InfluxDB refused a dead letter too: %s", error.message[:200])
                else:
                    self._dead_letter(ticket, Reason.STORAGE_REJECTED, f"InfluxDB: {error.message}")
                self._release(ticket)
            except Exception:
                log.exception("handling a rejected write failed")

    # --- dead letters -------------------------------------------------------------------------

    def _dead_letter(
        self,
        ticket: Ticket,
        reason: Reason,
        detail: str,
        path: str = "",
        message_id: str | None = None,
        station: str | None = None,
        table: PointTable | None = None,
    ) -> None:
        """Record a refusal: a dead_letter point (in ``table`` if given, else written now) and a
        DeadLetter on the gateway's topic; the ticket waits for both."""
        if reason is Reason.STORAGE_REJECTED:
            ticket.storage_rejected = True
        letter = DeadLetter(
            at=datetime.now(UTC),
            source="gateway",
            station_id=station or ticket.station,
            topic=points.redact(ticket.topic)[:512],
            reason=reason,
            detail=points.redact(detail)[:1024],
            path=path[:256],
            excerpt=points.excerpt(ticket.payload),
            size_bytes=len(ticket.payload),
            message_id=message_id,
        )
        self.metrics.dead_letters.labels(reason.value).inc()
        log.warning("dead letter: %s at %s (%s)", reason.value, path or "-", letter.topic)
        # The refused message's own second (+ a digest of its bytes, reason and path as the ns),
        # so a redelivered copy overwrites its letter; receipt time only when the bytes carry none.
        at, digest = points.dead_letter_identity(ticket.payload, ticket.topic, reason.value, path)
        if at is None:
            at = points.dead_letter_time_ns(schema.time_ns(ticket.received_at), digest)
        row = points.dead_letter_row(letter, at, self.settings.client_id, digest)
        if table is not None:
            table.add(row, ticket.seq)
        else:
            own = PointTable()
            own.add(row, ticket.seq)
            self._write([ticket], own)
        self._publish(ticket, topics.GATEWAY_DEADLETTER, codec.encode(letter))

    # --- the dispatcher -----------------------------------------------------------------------

    def _dispatch(self) -> None:
        size = self.settings.intake_batch
        while not self._stop.is_set():
            try:
                first = self._intake.get(timeout=0.2)
            except queue.Empty:
                continue
            group = [first]
            while len(group) < size:
                try:
                    group.append(self._intake.get_nowait())
                except queue.Empty:
                    break
            try:
                self._route_group(group)
            except Exception:
                log.exception("routing a group of %d messages failed", len(group))

    def _route_group(self, group: list[Ticket]) -> None:
        table = PointTable()
        owners: list[Ticket] = []
        recorded: dict[DeviceKind, list[tuple[Ticket, Any, FollowUp]]] = {}
        for ticket in group:
            before = len(table)
            try:
                self._route(ticket, table, recorded)
            except Exception as exc:  # a bug must cost one message, not the gateway
                log.exception("handling a message failed")
                self._dead_letter(ticket, Reason.INVALID, f"internal error: {type(exc).__name__}")
            if len(table) > before:
                owners.append(ticket)
        self._write(owners, table)
        for kind, items in recorded.items():
            for start in range(0, len(items), self.settings.recording_batch):
                chunk = items[start : start + self.settings.recording_batch]
                self._pool.submit(self._analyse, kind, chunk)
        for ticket in group:
            self._release(ticket)  # routing done

    def _route(self, ticket: Ticket, table: PointTable, recorded: Recorded) -> None:
        if ticket.topic == topics.GATEWAY_DEADLETTER:
            return  # our own (or a sibling replica's) dead letter: fw/v1/+/deadletter matches it
        try:
            parsed = topics.parse(ticket.topic)
        except ValueError as exc:
            self.metrics.messages.labels("unknown_topic").inc()
            self._dead_letter(ticket, Reason.UNKNOWN_TOPIC, str(exc), table=table)
            return
        channel = parsed.channel
        self.metrics.messages.labels(parsed.device_kind if channel == "data" else channel).inc()
        try:
            if channel == "data":
                self._route_data(ticket, parsed, table, recorded)
            elif channel == "batch":
                self._route_batch(ticket, parsed.station_id, table, recorded)
            elif channel == "heartbeat":
                beat = codec.decode_as(Heartbeat, ticket.payload)
                if self._check_station(ticket, beat.station_id, parsed.station_id, table):
                    table.extend(points.heartbeat_rows(beat), ticket.seq)
            elif channel == "status":
                status = codec.decode_as(StationStatus, ticket.payload)
                if self._check_station(ticket, status.station_id, parsed.station_id, table):
                    row = points.status_row(status, ticket.received_at, ticket.retained)
                    table.add(row, ticket.seq)
            elif channel == "deadletter":
                letter = codec.decode_as(DeadLetter, ticket.payload)
                if self._check_station(ticket, letter.station_id, parsed.station_id, table):
                    # The edge's letter carries its own time; a digest of the bytes fills the sub-second.
                    _, digest = points.dead_letter_identity(
                        ticket.payload, ticket.topic, letter.reason.value, letter.path
                    )
                    at = points.dead_letter_time_ns(schema.time_ns(letter.at), digest)
                    row = points.dead_letter_row(letter, at, self.settings.client_id, digest)
                    table.add(row, ticket.seq)
        except ContractError as error:
            self._dead_letter(ticket, error.reason, error.detail, error.path, table=table)

    def _check_station(self, ticket: Ticket, claimed: str, topic_station: str, table: PointTable) -> bool:
        if claimed == topic_station:
            return True
        self._dead_letter(
            ticket,
            Reason.IMPERSONATION,
            f"payload station {claimed!r} differs from the topic's station {topic_station!r}",
            "station_id",
            station=topic_station,
            table=table,
        )
        return False

    def _route_data(
        self,
        ticket: Ticket,
        parsed: topics.ParsedTopic,
        table: PointTable,
        recorded: Recorded,
    ) -> None:
        message = codec.decode(ticket.payload)
        if not self._check_station(ticket, message.station_id, parsed.station_id, table):
            return
        if (message.device_kind.value, message.device_id) != (parsed.device_kind, parsed.device_id):
            self._dead_letter(
                ticket,
                Reason.TOPIC_MISMATCH,
                f"topic says {parsed.device_kind}/{parsed.device_id}, payload {message.device_kind.value}/"
                f"{message.device_id}",
                "device_kind" if message.device_kind.value != parsed.device_kind else "device_id",
                message_id=message.message_id,
                table=table,
            )
            return
        self._accept(ticket, message, table, recorded, single=True)

    def _route_batch(
        self,
        ticket: Ticket,
        station: str,
        table: PointTable,
        recorded: Recorded,
    ) -> None:
        result = codec.decode_batch(ticket.payload)
        if not self._check_station(ticket, result.station_id, station, table):
            return
        for _index, error in result.errors:
            self._dead_letter(ticket, error.reason, error.detail, error.path, table=table)
        for index, message in enumerate(result.messages):
            if message.station_id != station:
                self._dead_letter(
                    ticket,
                    Reason.IMPERSONATION,
                    f"message {index} claims station {message.station_id!r} in a batch of {station!r}",
                    f"messages.{index}.station_id",
                    message_id=message.message_id,
                    table=table,
                )
                continue
            self._accept(ticket, message, table, recorded, single=len(result.messages) == 1)

    def _accept(
        self,
        ticket: Ticket,
        message: Any,
        table: PointTable,
        recorded: Recorded,
        single: bool,
    ) -> None:
        table.extend(points.reading_rows(message), ticket.seq)
        ticket.measured_ns = schema.time_ns(message.measured_at)
        at = points.message_time_ns(message)
        item = FollowUp(message)
        for metric, value in points.reading_metrics(message).items():
            source = "walkway" if metric == "gait_speed_mps" else None
            item.values.append(decline.Value(metric, float(value), at, source))
        recording = points.has_recording(message) and message.device_kind in recordings.ANALYSES
        if recording:
            self._hold(ticket)
            recorded.setdefault(message.device_kind, []).append((ticket, message, item))
        # Scores and decline read the participant's stored history, so they wait for the writes.
        if message.device_kind in visits.TRIGGERS or item.values or recording:
            ticket.followups.append(item)
            ticket.stages = [self._stage_scores, self._stage_decline]

    # --- recordings ---------------------------------------------------------------------------

    def _analyse(self, kind: DeviceKind, items: list[tuple[Ticket, Any, FollowUp]]) -> None:
        tickets = [t for t, _, _ in items]
        try:
            outcomes = recordings.analyse(kind, [m for _, m, _ in items], self._workers)
            table = PointTable()
            owners = []
            for (ticket, message, item), outcome in zip(items, outcomes, strict=True):
                table.extend(outcome.rows, ticket.seq)
                if outcome.rows:
                    owners.append(ticket)
                at = points.message_time_ns(message)
                for metric, value in outcome.metrics.items():
                    source = "imu" if metric == "gait_speed_mps" else None
                    item.values.append(decline.Value(metric, float(value), at, source))
                if outcome.error is not None:
                    self._dead_letter(
                        ticket,
                        Reason.PROCESSING,
                        f"{kind.value} recording not analysed: {outcome.error}",
                        "payload.recording",
                        message_id=message.message_id,
                        table=table,
                    )
                    if ticket not in owners:
                        owners.append(ticket)
            self._write(owners, table)
        except Exception:
            log.exception("analysing %d %s recordings failed", len(items), kind.value)
        finally:
            for ticket in tickets:
                self._release(ticket)

    # --- follow-up stages: scores, then decline -------------------------------------------------

    def _followup(self, inbox: queue.Queue[Work | None]) -> None:
        """Take what the inbox holds (up to FOLLOWUP_BATCH) and run it in rounds: one InfluxQL
        request reads what every message of a round needs. A round holds one message per
        participant, so a participant's messages still run in order, each seeing the last's writes."""
        while True:
            work = inbox.get()
            if work is None:
                return
            batch, last = [work], False
            while len(batch) < FOLLOWUP_BATCH:
                try:
                    more = inbox.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    last = True
                    break
                batch.append(more)
            while batch:
                round_, batch = _one_round(batch)
                self._run_round(round_)
            if last:
                return

    def _run_round(self, round_: list[Work]) -> None:
        try:
            self._retrying(lambda: self._stage_many(round_), "a follow-up round")
        finally:
            for ticket, _, _ in round_:
                self._release(ticket)

    def _retrying(self, call: Callable[[], object], what: str) -> None:
        """``call`` until InfluxDB answers (nothing is acknowledged meanwhile) or the gateway stops."""
        attempt = 0
        while True:
            try:
                call()
                return
            except InfluxUnavailable as exc:
                if self._stop.is_set():
                    return
                if attempt % 10 == 0:
                    log.warning("InfluxDB unavailable for %s (retrying): %s", what, exc)
                attempt += 1
                self._stop.wait(random.uniform(0, min(5.0, 0.1 * 2**attempt)))
            except (QueryError, ValueError) as exc:
                log.error("%s skipped: %s", what, exc)
                return
            except Exception:
                log.exception("%s failed", what)
                return

    def _stage_many(self, round_: list[Work]) -> None:
        """One read for the round (rows carry their participant tag), then each message alone; a
        message whose own step fails is retried alone, so it never costs the others theirs."""
        stage = round_[0][2]
        statements = [q for _, item, _ in round_ for q in stage(None, item, None)]
        try:
            rows = self.transport.query("; ".join(statements)) if statements else []
        except QueryError:
            if len(round_) == 1:
                raise
            for ticket, item, _ in round_:  # find the message whose statement InfluxDB refuses
                self._retrying(functools.partial(stage, ticket, item, _READ_AGAIN), "a follow-up alone")
            return
        by_participant: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_participant.setdefault(str(row.get(schema.PARTICIPANT_TAG)), []).append(row)
        for ticket, item, _ in round_:
            mine = by_participant.get(item.message.participant, [])
            try:
                stage(ticket, item, mine)
            except Exception:
                if self._stop.is_set():
                    return
                log.warning("a follow-up is retried alone after its round failed for it")
                self._retrying(functools.partial(stage, ticket, item, _READ_AGAIN), "a follow-up alone")

    def _stage_scores(self, ticket: Ticket | None, item: FollowUp, rows: Rows) -> list[str]:
        """The visit's scores, and decline of the values the message itself carried, from one
        InfluxQL read (visit inputs + those metrics' history); score values go on to stage 2.
        With ``ticket`` None: only the statements to read. ``rows``: their answer (or read again)."""
        message = item.message
        values = decline.judged(item.values)
        scoring = message.device_kind in visits.TRIGGERS
        statements = [visits.query_for(message)] if scoring else []
        if values:
            statements.append(decline.history_query(message.participant, values))
        if ticket is None:
            return statements
        if not statements:
            item.values = []
            return []
        if rows is _READ_AGAIN:
            rows = self.transport.query("; ".join(statements))
        if values:
            events, alerts = decline.detect(
                self.transport, message.participant, message.station_id, values, message.message_id, rows
            )
            self._write_rows(ticket, events)
            for alert in alerts:
                self._publish_alert(ticket, alert)
        item.values = []
        if scoring:
            frailty, item.values, stale = visits.score(message, rows or [])
            if stale:
                visits.delete_stale(self.transport, message)
            self._write_rows(ticket, frailty)
        return []

    def _stage_decline(self, ticket: Ticket | None, item: FollowUp, rows: Rows) -> list[str]:
        """Decline of the visit's new or changed scores, once the frailty point is written."""
        values = decline.judged(item.values)
        if not values:
            return []
        message = item.message
        if ticket is None:
            return [decline.history_query(message.participant, values)]
        events, alerts = decline.detect(
            self.transport,
            message.participant,
            message.station_id,
            values,
            message.message_id,
            None if rows is _READ_AGAIN else rows,
        )
        self._write_rows(ticket, events)
        for alert in alerts:
            self._publish_alert(ticket, alert)
        return []

    def _publish_alert(self, ticket: Ticket, alert: DeclineAlert) -> None:
        self.metrics.alerts.inc()
        self._publish(ticket, topics.decline_alert(alert.station_id), codec.encode(alert))

    def _write_rows(self, ticket: Ticket, rows: Iterable[Row]) -> None:
        table = PointTable()
        table.extend(rows, ticket.seq)
        if len(table):
            self._write([ticket], table)

    # --- stats --------------------------------------------------------------------------------

    def _tick(self) -> None:
        snap = self.writer_stats.snapshot()
        self.metrics.retries.set(float(snap.get("retries") or 0))
        self.metrics.pending_bytes.set(float(snap.get("pending_bytes") or 0))
        with self._lock:
            in_flight = self._in_flight
        self.metrics.in_flight.set(in_flight)
        table = PointTable()
        table.add(self.metrics.stats_row(snap, in_flight))
        with contextlib.suppress(WriterClosed):
            self.writer.submit(table.encode(), None)

    # --- life cycle -----------------------------------------------------------------------------

    def start(self) -> None:
        s = self.settings
        self.metrics.serve(s.metrics_host, s.metrics_port)
        self._threads = [
            threading.Thread(target=self._dispatch, name="dispatch", daemon=True),
            threading.Thread(target=self._handle_rejections, name="rejections", daemon=True),
            *(
                threading.Thread(target=self._followup, args=(q,), name=f"followup-{i}", daemon=True)
                for i, q in enumerate(self._followups)
            ),
            Ticker(s.stats_interval_s, self._tick, self._stop),
        ]
        for thread in self._threads:
            thread.start()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = s.session_expiry_s
        props.ReceiveMaximum = s.receive_maximum
        self.client.connect_async(
            s.mqtt_host, s.mqtt_port, keepalive=s.mqtt_keepalive_s, clean_start=False, properties=props
        )
        self.client.loop_start()
        log.info("gateway %s started (share group %s)", s.client_id, s.share_group)

    def stop(self) -> None:
        self._stop.set()

    def wait(self) -> None:
        while not self._stop.wait(0.5):
            pass

    def run(self) -> None:
        self.start()
        self.wait()
        self.shutdown()

    def shutdown(self) -> None:
        """Stop taking messages, finish and acknowledge what was taken, disconnect."""
        self._stop.set()
        deadline = time.monotonic() + self.settings.drain_s
        self._threads[0].join(timeout=5)  # the dispatcher finishes its group
        self._pool.shutdown(wait=True)
        while time.monotonic() < deadline:
            with self._lock:
                busy = self._in_flight - self._intake.qsize()
            if busy <= 0:
                break
            time.sleep(0.05)
        self.writer.close(timeout_s=max(0.1, deadline - time.monotonic()))
        for inbox in self._followups:
            inbox.put(None)
        with self._lock:
            left = self._in_flight
        self.client.disconnect()
        self.client.loop_stop()
        self.transport.close()
        log.info("gateway stopped (%d messages left for redelivery)", left)
