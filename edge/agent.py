"""The station edge agent: device broker → pseudonymise → disk spool → central broker.

Two paho-mqtt 2.x clients. The device client uses manual acknowledgement: a device message is
acknowledged only after its contract message is committed to the spool (architecture: "No loss, no double").
The uplink client publishes spooled rows in order with QoS 1 and a bounded number in flight; a
row is deleted from the spool only when its PUBACK says 0x00 Success. Any other PUBACK reason
(0x10 "No matching subscribers": the broker dropped it, e.g. after a restart before the gateways
resubscribed their shared subscription; 0x87 "Not authorized": a wrong ACL) keeps the row and
pauses the forwarder; the oldest spooled row is then re-sent alone, with backoff and the same
message id, until the broker takes it. After a restart every row still in the spool is sent
again with the same message id (the gateway's idempotent writes absorb it).

For the station page: every accepted reading is also recorded, as plain values, in the station
store (with the name a registration device sent, which never leaves the box); a third client
(:mod:`edge.downlink`) keeps the visit results the gateway sends; counsellors' case actions are
spooled like readings (:meth:`EdgeAgent.spool_case_event`) and go out on ``fw/v1/<station>/cases``;
with ``page_enabled`` the page itself runs in a thread of this process (:mod:`edge.page.server`).
The heartbeat carries the page's follow-up counts (opened → linked → followed up, overdue) for the
clinical dashboard, whether or not the page is served.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge import __version__
from edge.downlink import ResultsDownlink
from edge.health import AgentStatus, status_every_s, status_path, write_status
from edge.intake import to_intake
from edge.page.followup import FollowUpCounts, cached
from edge.page.followup import counts as follow_up_counts
from edge.pseudonyms import PseudonymStore
from edge.settings import EdgeSettings
from edge.spool import SPOOL_FILE, Spool, Spooled, SpoolFull
from edge.station_store import StationStore
from edge.visit_values import local_values
from runtime.mqtt_client import mqtt5_client
from telemetry import codec, topics
from telemetry.cases import CaseEvent
from telemetry.errors import ContractError, Reason
from telemetry.events import DeadLetter
from telemetry.receipts import Receipt
from telemetry.redaction import redact
from telemetry.station import DeviceSeen, Heartbeat, StationStatus

log = logging.getLogger("frailwatch.edge")
MAX_BATCH_BYTES = 256 * 1024
SESSION_EXPIRY_S = 7 * 24 * 3600  # the station broker keeps our queue across agent restarts


@dataclass
class Counters:
    accepted: int = 0
    forwarded: int = 0
    refused_spool_full: int = 0
    dead_letters: int = 0
    refused: int = 0
    resent: int = 0  # rows re-sent because no receipt named them in time
    refusals: dict[str, int] = field(default_factory=dict)  # by PUBACK reason name
    devices: dict[str, DeviceSeen] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ack:
    """One PUBACK as the uplink's network thread saw it."""

    mid: int
    code: int
    name: str


@dataclass(frozen=True, slots=True)
class InFlight:
    """An uplink publish of spool rows waiting for its PUBACK."""

    seqs: list[int]
    topic: str
    probe: bool  # the lone re-send while the broker refuses


NOT_AUTHORIZED = 0x87


def _tls_problem(exc: ssl.SSLError) -> str:
    """'certificate verify failed (unable to get local issuer certificate)' and the like."""
    verify = getattr(exc, "verify_message", None)
    if verify:
        return f"certificate verify failed ({verify})"
    return str(exc.reason or type(exc).__name__).lower().replace("_", " ")


def reason_key(name: str) -> str:
    """'No matching subscribers' → 'no_matching_subscribers' (heartbeat/metrics key)."""
    return "_".join(name.lower().replace("-", " ").split())[:64]


class EdgeAgent:
    def __init__(self, settings: EdgeSettings) -> None:
        self.settings = settings
        self.station = settings.station_id
        self._key = settings.key_bytes()
        self.spool = Spool(settings.spool_dir / SPOOL_FILE, settings.spool_max_bytes)
        self.pseudonyms = PseudonymStore(settings.spool_dir / "pseudonyms.sqlite3")
        self.station_store = StationStore(settings.spool_dir / "station.sqlite3")
        self.downlink = ResultsDownlink(settings, self.station_store, self._dead_letter)
        self.page: Any = None  # edge.page.server.PageServer when page_enabled
        self._follow_up: tuple[tuple[int, Any], FollowUpCounts] | None = None  # (store version, day)
        self.counters = Counters()
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._network_stop = threading.Event()
        self._network = threading.Thread(target=self._uplink_network, name="uplink", daemon=True)
        self._uplink_up = threading.Event()
        self._acks: queue.SimpleQueue[Ack] = queue.SimpleQueue()
        self._receipts: queue.SimpleQueue[Receipt] = queue.SimpleQueue()
        self._pending: dict[int, InFlight] = {}  # paho mid → spool rows, touched by the forwarder only
        self._cursor = 0
        # While the central broker refuses (non-0x00 PUBACK): when to re-send, and how often it has.
        self._retry_at: float | None = None
        self._retry_attempt = 0
        self._next_overdue = 0.0  # when to look for sent rows no receipt has named
        self.device_ready = threading.Event()  # subscribed at the station broker
        self._lock = threading.Lock()
        self.uplink = self._make_uplink()
        self.devices = self._make_device_client()

    # --- clients -------------------------------------------------------------------------
    def _make_uplink(self) -> mqtt.Client:
        s = self.settings
        client = mqtt5_client(
            f"fw-edge-{self.station}-up",
            s.uplink_username,
            s.uplink_password,
            s.uplink_ca_file,
            s.uplink_cert_file,
            s.uplink_key_file,
        )
        offline = StationStatus(station_id=self.station, state="offline", agent_version=__version__)
        client.will_set(topics.status(self.station), codec.encode(offline), qos=1, retain=True)
        client.max_inflight_messages_set(s.uplink_max_inflight)
        client.on_connect = self._on_uplink_connect
        client.on_disconnect = self._on_uplink_disconnect
        client.on_publish = self._on_uplink_publish
        client.on_message = self._on_uplink_message
        return client

    def _on_uplink_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        # Receipts only (the one subscription); the forwarder thread applies them to the spool.
        try:
            receipt = codec.decode_as(Receipt, bytes(msg.payload))
        except ContractError as error:
            log.error("uplink: an undecodable receipt on %s (%s): ignored", msg.topic, error.reason.value)
            return
        if receipt.station_id == self.station:
            self._receipts.put(receipt)

    def _on_uplink_publish(self, _c: mqtt.Client, _u: Any, mid: int, reason: ReasonCode, _p: Any) -> None:
        # Runs on the network thread; the forwarder thread owns the spool and _pending.
        self._acks.put(Ack(mid, int(reason.value), reason.getName()))

    def _make_device_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"fw-edge-{self.station}-dev", protocol=mqtt.MQTTv5
        )
        client.manual_ack_set(True)
        client.on_connect = self._on_device_connect
        client.on_subscribe = self._on_device_subscribe
        client.on_disconnect = lambda *_: self.device_ready.clear()
        client.on_message = self._on_device_message
        return client

    def _on_uplink_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("uplink connect refused: %s", reason)
            return
        online = StationStatus(
            station_id=self.station, state="online", at=datetime.now(UTC), agent_version=__version__
        )
        client.publish(topics.status(self.station), codec.encode(online), qos=1, retain=True)
        if self.settings.receipts:
            client.subscribe(topics.receipts(self.station), qos=1)
        self._uplink_up.set()
        log.info("uplink connected")

    def _on_uplink_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._uplink_up.clear()
        log.warning("uplink disconnected: %s", reason)

    def _on_device_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("device broker connect refused: %s", reason)
            return
        client.subscribe(topics.ALL_DEVICES, qos=1)
        log.info("device broker connected")

    def _on_device_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, reasons: list[Any], _p: Any) -> None:
        if any(r.is_failure for r in reasons):
            log.error("device broker refused the subscription to %s: %s", topics.ALL_DEVICES, reasons)
            return
        # Until this SUBACK a fresh station broker has no session for us and keeps nothing a device
        # publishes; from here on it queues QoS 1 readings for us even while we are away.
        self.device_ready.set()
        log.info("device broker subscribed to %s", topics.ALL_DEVICES)

    # --- intake --------------------------------------------------------------------------
    def _on_device_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            self.accept(msg.topic, bytes(msg.payload))
        except Exception:  # never crash on a device message; it is dead-lettered below
            log.exception("unexpected failure on a device message")
            self._dead_letter(
                msg.topic, Reason.INVALID, "internal error handling the message", len(msg.payload)
            )
        # Only now, with the message committed or dead-lettered, may the station broker forget it.
        client.ack(msg.mid, msg.qos)

    def accept(self, topic: str, raw: bytes) -> bool:
        """Spool one device publication; False (and dead-lettered) when refused."""
        try:
            intake = to_intake(topic, raw, self.station, self._key)
        except ContractError as error:
            self._dead_letter(topic, error.reason, error.detail, len(raw), error.path)
            return False
        message = intake.message
        self.pseudonyms.remember(message.participant, intake.member_id)
        wire = codec.encode(message)
        uplink_topic = topics.data(self.station, message.device_kind, message.device_id)
        try:
            self.spool.put(uplink_topic, wire, message.message_id)
        except SpoolFull as full:
            with self._lock:
                self.counters.refused_spool_full += 1
            log.warning("refused a %s message: spool_full (%s)", message.device_kind, full)
            self._dead_letter(topic, Reason.SPOOL_FULL, str(full), len(raw), message_id=message.message_id)
            return False
        try:
            if intake.name is not None:
                self.station_store.set_name(
                    intake.member_id, intake.name, source=f"device:{message.device_kind}"
                )
            self.station_store.record_measurement(message, *local_values(message))
        except Exception:  # the reading is spooled; only the page's copy is missing
            log.exception("could not record a %s reading for the station page", message.device_kind)
        with self._lock:
            self.counters.accepted += 1
            seen = self.counters.devices.get(message.device_id)
            self.counters.devices[message.device_id] = DeviceSeen(
                device_id=message.device_id,
                device_kind=message.device_kind,
                last_message_at=datetime.now(UTC),
                messages=(seen.messages if seen else 0) + 1,
            )
        return True

    def _dead_letter(
        self,
        topic: str,
        reason: Reason,
        detail: str,
        size: int,
        path: str = "",
        message_id: str | None = None,
    ) -> None:
        with self._lock:
            self.counters.dead_letters += 1
        self.spool.dead_letter(topic, reason.value, detail)
        letter = DeadLetter(
            at=datetime.now(UTC),
            source="edge",
            station_id=self.station,
            topic=redact(topic)[:512],
            reason=reason,
            detail=redact(detail)[:1024],
            path=path[:256],
            size_bytes=size,
            message_id=message_id,
        )
        log.warning("dead letter: %s at %s (%s)", reason.value, path or "-", letter.topic)
        wire, uplink_topic = codec.encode(letter), topics.station_deadletter(self.station)
        if reason is not Reason.SPOOL_FULL:
            # Spooled like a reading, so a letter raised during an outage still reaches the central
            # dead-letter store (at least once, deleted on PUBACK 0x00).
            try:
                self.spool.put(uplink_topic, wire)
                return
            except SpoolFull:
                pass
        # The spool is full: the letter stays in the local table and goes out now if it can.
        if self._uplink_up.is_set():
            self.uplink.publish(uplink_topic, wire, qos=1)

    def spool_case_event(self, event: CaseEvent) -> bool:
        """Spool a counsellor's action for ``fw/v1/<station>/cases`` (sent like a reading, deleted
        on PUBACK 0x00) and record it locally. False when this event id was already recorded.
        Raises :class:`SpoolFull` (nothing recorded) when the spool is full."""
        if self.station_store.has_action(event.event_id):
            return False
        self.spool.put(topics.case_actions(self.station), codec.encode(event))
        return self.station_store.add_action(event)

    # --- uplink --------------------------------------------------------------------------
    def _forward_once(self) -> None:
        self._take_acks()
        self._take_receipts()
        if not self._uplink_up.is_set():
            return
        if self._retry_at is not None:
            self._probe()
            return
        room = self.settings.uplink_max_inflight - len(self._pending)
        if room <= 0:
            return
        rows = self.spool.after(self._cursor, room * self.settings.batch_max)
        groups = self._groups(rows)[:room]
        for group in groups:
            self._send(group, probe=False)
        room -= len(groups)
        if self.settings.receipts and room > 0 and time.monotonic() >= self._next_overdue:
            self._resend_overdue(room)

    def _resend_overdue(self, room: int) -> None:
        """Re-send, each alone, sent rows no receipt has named in time: the broker may have dropped
        them (a restart that forgot the gateways' shared subscription), or the receipt was lost.
        Alone, so a reading a gateway refused inside a batch gets its receipt by its bytes."""
        self._next_overdue = time.monotonic() + 1.0
        in_flight = {seq for sent in self._pending.values() for seq in sent.seqs}
        rows = [
            r for r in self.spool.overdue(self.settings.receipt_timeout_s, room) if r.seq not in in_flight
        ]
        for row in rows:
            self._send([row], probe=False, move_cursor=False)  # behind the cursor: leave it
        if rows:
            with self._lock:
                self.counters.resent += len(rows)
            log.info("uplink: re-sent %d message(s) no gateway has confirmed in time", len(rows))

    def _take_receipts(self) -> None:
        """Delete what a gateway confirmed is durable centrally."""
        while True:
            try:
                receipt = self._receipts.get_nowait()
            except queue.Empty:
                return
            topics_gone = self.spool.confirm(receipt.message_ids, receipt.digests)
            readings = sum(1 for topic in topics_gone if topics.carries_readings(topic))
            with self._lock:
                self.counters.forwarded += readings

    def _send(self, group: list[Spooled], probe: bool, move_cursor: bool = True) -> None:
        if len(group) == 1:
            topic, payload = group[0].topic, group[0].payload
        else:
            topic, payload = topics.batch(self.station), self._batch_bytes(group)
        info = self.uplink.publish(topic, payload, qos=1)
        self._pending[info.mid] = InFlight([row.seq for row in group], topic, probe)
        if move_cursor:  # a probe moves it back to the oldest row: what follows goes again after it
            self._cursor = group[-1].seq

    def _take_acks(self) -> None:
        """Delete what the broker took (0x00); keep and schedule a re-send of what it refused."""
        while True:
            try:
                ack = self._acks.get_nowait()
            except queue.Empty:
                return
            sent = self._pending.pop(ack.mid, None)
            if ack.code != 0:
                self._refused(ack, sent)
            elif sent is not None:
                if self.settings.receipts:
                    self.spool.sent(sent.seqs)  # kept until a gateway's receipt names it
                else:
                    for seq in sent.seqs:
                        self.spool.delete(seq)
                    if topics.carries_readings(sent.topic):  # readings, not letters or case actions
                        with self._lock:
                            self.counters.forwarded += len(sent.seqs)
                if sent.probe:
                    log.info("uplink: the central broker accepts messages again; resuming")
                    self._retry_at, self._retry_attempt = None, 0

    def _refused(self, ack: Ack, sent: InFlight | None) -> None:
        if sent is None:
            # A status, or a dead letter sent directly because the spool was full (it stays in the
            # local table). 0x10 is normal here: a retained status is kept even when nobody listens.
            if ack.code >= 0x80:
                self._count_refusal(ack)
                log.error("uplink REFUSED 0x%02X %s for a station status/dead letter", ack.code, ack.name)
            else:
                log.debug("uplink: 0x%02X %s for a station status/dead letter", ack.code, ack.name)
            return
        self._count_refusal(ack)
        if self._retry_at is not None and not sent.probe:
            return  # another in-flight message of the same refusal streak; its row stays spooled
        s = self.settings
        if ack.code >= 0x80:
            # An error (0x87 Not authorized: this station's ACL; 0x97 quota, ...): not fixed by
            # hammering, so retry at the slow pace — but keep the message, never drop it.
            delay = random.uniform(s.refused_retry_max_s / 2, s.refused_retry_max_s)
        else:
            ceiling = min(s.refused_retry_max_s, s.refused_retry_min_s * 2**self._retry_attempt)
            delay = random.uniform(ceiling / 2, ceiling)
        self._retry_attempt += 1
        self._retry_at = time.monotonic() + delay
        what = f"{len(sent.seqs)} message(s) on {sent.topic}"
        if ack.code == NOT_AUTHORIZED:
            log.error(
                "uplink REFUSED 0x87 Not authorized: the central broker's ACL does not let station %s"
                " publish %s; check the station's credentials and ACL. Kept in the spool"
                " (depth %d), retrying in %.0f s",
                self.station,
                what,
                self.spool.depth(),
                delay,
            )
        elif ack.code >= 0x80:
            log.error(
                "uplink REFUSED 0x%02X %s for %s; kept in the spool (depth %d), retrying in %.0f s",
                ack.code,
                ack.name,
                what,
                self.spool.depth(),
                delay,
            )
        else:
            log.warning(
                "uplink: central broker answered 0x%02X %s for %s (not delivered: no gateway"
                " subscribed?); kept in the spool (depth %d), re-sending in %.1f s",
                ack.code,
                ack.name,
                what,
                self.spool.depth(),
                delay,
            )

    def _count_refusal(self, ack: Ack) -> None:
        with self._lock:
            self.counters.refused += 1
            key = reason_key(ack.name)
            self.counters.refusals[key] = self.counters.refusals.get(key, 0) + 1

    def _probe(self) -> None:
        """While refused: once every in-flight outcome is known and the backoff has passed, re-send
        the oldest spooled group alone; its 0x00 resumes normal forwarding after it."""
        assert self._retry_at is not None
        if self._pending or time.monotonic() < self._retry_at:
            return
        groups = self._groups(self.spool.after(0, self.settings.batch_max))
        if not groups:
            self._retry_at, self._retry_attempt = None, 0
            return
        self._retry_at = float("inf")  # until the probe's PUBACK says otherwise
        self._send(groups[0], probe=True)

    def _groups(self, rows: list[Spooled]) -> list[list[Spooled]]:
        """Consecutive small readings go together as one MessageBatch (only a backlog offers more
        than one row, so live traffic goes out unbatched); large ones (recordings) alone."""
        limit, small = self.settings.batch_max, self.settings.batch_small_bytes
        groups: list[list[Spooled]] = []
        size = 0
        for row in rows:
            fits = len(row.payload) <= small and _is_reading(row)  # dead letters go alone
            last = groups[-1] if groups else None
            if (
                fits
                and last is not None
                and len(last[-1].payload) <= small
                and _is_reading(last[-1])
                and len(last) < limit
                and size + len(row.payload) <= MAX_BATCH_BYTES
            ):
                last.append(row)
                size += len(row.payload)
            else:
                groups.append([row])
                size = len(row.payload)
        return groups

    def _batch_bytes(self, group: list[Spooled]) -> bytes:
        # Spooled payloads are already contract-valid message JSON: spliced, not re-encoded.
        return codec.splice_batch(self.station, [row.payload for row in group])

    def follow_up_counts(self) -> FollowUpCounts | None:
        """The station page's follow-up counts, recomputed only when the station store has changed
        or the station-local day has; None (not reported) if they cannot be computed."""
        tz = ZoneInfo(self.settings.page_timezone)
        today = datetime.now(tz).date()
        key = (self.station_store.changes, today)
        if self._follow_up is not None and self._follow_up[0] == key:
            return self._follow_up[1]
        try:
            computed = follow_up_counts(
                self.station_store.all_cases(),
                cached(self.station_store.last_visit_at),
                today,
                lambda at: at.astimezone(tz).date(),
            )
        except Exception:  # the heartbeat goes out without them; the page shows the error itself
            log.exception("could not count the station's follow-ups for the heartbeat")
            return None
        self._follow_up = (key, computed)
        return computed

    def heartbeat(self) -> Heartbeat:
        follow_up = self.follow_up_counts()
        with self._lock:
            c = self.counters
            return Heartbeat(
                station_id=self.station,
                at=datetime.now(UTC),
                agent_version=__version__,
                uptime_s=time.monotonic() - self._started,
                spool_depth=self.spool.depth(),
                spool_bytes=self.spool.bytes,
                oldest_spooled_age_s=self.spool.oldest_age_s(),
                accepted_total=c.accepted,
                forwarded_total=c.forwarded,
                refused_spool_full_total=c.refused_spool_full,
                dead_letters_total=c.dead_letters,
                uplink_connected=self._uplink_up.is_set(),
                uplink_refused_total=c.refused,
                uplink_refusals=dict(list(c.refusals.items())[:32]),
                devices=list(c.devices.values())[:256],
                cases_opened=follow_up.funnel.opened if follow_up else None,
                cases_linked=follow_up.funnel.linked if follow_up else None,
                cases_followed_up=follow_up.funnel.followed_up if follow_up else None,
                overdue_follow_ups=follow_up.overdue if follow_up else None,
            )

    def run(self) -> None:
        """Until stop(): forward the spool, send heartbeats; then drain and say offline."""
        s = self.settings
        self._network.start()
        self.downlink.start()
        if s.page_enabled:
            from edge.page.server import PageServer

            self.page = PageServer.for_agent(self)
            self.page.start()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        props.ReceiveMaximum = s.device_receive_maximum
        self.devices.connect_async(
            s.device_mqtt_host, s.device_mqtt_port, clean_start=False, properties=props
        )
        self.devices.loop_start()
        next_beat = next_status = 0.0
        while not self._stop.is_set():
            self._forward_once()
            now = time.monotonic()
            if now >= next_beat and self._uplink_up.is_set():
                self.uplink.publish(topics.heartbeat(self.station), codec.encode(self.heartbeat()), qos=0)
                next_beat = now + s.heartbeat_s
            if now >= next_status:
                self._write_status(running=True)
                next_status = now + status_every_s(s.heartbeat_s)
            self._stop.wait(0.02)
        self._shutdown()
        self._write_status(running=False)

    def _write_status(self, running: bool) -> None:
        """The status file ``frailwatch edge health`` judges (edge.health); never fatal."""
        try:
            write_status(
                status_path(self.settings.spool_dir),
                AgentStatus(
                    station_id=self.station,
                    at=datetime.now(UTC),
                    pid=os.getpid(),
                    running=running,
                    device_ready=running and self.device_ready.is_set(),
                    uplink_connected=running and self._uplink_up.is_set(),
                    spool_depth=self.spool.depth() if running else 0,
                    oldest_spooled_age_s=self.spool.oldest_age_s() if running else 0.0,
                    agent_version=__version__,
                ),
            )
        except (OSError, ValueError) as exc:  # a full disk must not stop the agent; health will say
            log.warning("could not write the status file: %s", exc)

    def _uplink_network(self) -> None:
        """Connect, run the network loop, and on loss reconnect after an exponential backoff with
        full jitter (paho's own backoff has none, so a fleet would reconnect in lockstep)."""
        s = self.settings
        attempt = 0
        while not self._network_stop.is_set():
            try:
                self.uplink.connect(s.uplink_host, s.uplink_port, keepalive=s.uplink_keepalive_s)
                while not self._network_stop.is_set():
                    if self.uplink.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                        break
                    if self._uplink_up.is_set():
                        attempt = 0
            except ssl.SSLError as exc:
                # Most often the central broker's certificate is not signed by our CA (or not for
                # this host name): say so plainly, it will not fix itself by retrying.
                log.error(
                    "uplink TLS handshake with %s:%d failed: %s; check uplink_ca_file (%s) and the"
                    " broker's certificate",
                    s.uplink_host,
                    s.uplink_port,
                    _tls_problem(exc),
                    s.uplink_ca_file,
                )
            except OSError as exc:
                log.warning("uplink connect failed: %s", type(exc).__name__)
            self._uplink_up.clear()
            if self._network_stop.is_set():
                break
            ceiling = min(s.reconnect_max_s, s.reconnect_min_s * 2**attempt)
            attempt += 1
            self._network_stop.wait(random.uniform(s.reconnect_min_s / 2, ceiling))

    def stop(self) -> None:
        self._stop.set()

    def _shutdown(self) -> None:
        # Stop the device loop first: it returns only once the PUBACKs of readings already spooled
        # are written. Disconnecting first could queue DISCONNECT ahead of an ack still being made
        # in on_message, so the station broker would hand that reading to the next run again.
        self.devices.loop_stop()
        self.devices.disconnect()
        if self.page is not None:
            self.page.stop()
        self.downlink.stop()
        deadline = time.monotonic() + self.settings.drain_s
        while (
            self._uplink_up.is_set() and (self._pending or self.spool.depth()) and time.monotonic() < deadline
        ):
            self._forward_once()
            time.sleep(0.02)
        if self._uplink_up.is_set():
            offline = StationStatus(
                station_id=self.station, state="offline", at=datetime.now(UTC), agent_version=__version__
            )
            self.uplink.publish(
                topics.status(self.station), codec.encode(offline), qos=1, retain=True
            ).wait_for_publish(2)
        self.uplink.disconnect()
        self._network_stop.set()
        self._network.join(5)
        log.info("stopped; %d messages left in the spool", self.spool.depth())
        self.spool.close()
        self.pseudonyms.close()
        self.station_store.close()


def _is_reading(row: Spooled) -> bool:
    """A device reading (batchable), as opposed to a spooled dead letter or case action."""
    return topics.channel_of(row.topic) == "data"
