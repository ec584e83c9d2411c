"""Helpers shared by the drills, security and corpus tests: MQTT capture and publishing with
paho-mqtt (an independent client: not the edge's or the gateway's code), a throw-away test CA,
and the scans for raw identifiers and secrets.
"""

from __future__ import annotations

import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode


class ConnectRefused(ConnectionError):
    """The broker refused the CONNECT (the reason code is in the message)."""


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool


def client(
    host: str,
    port: int,
    *,
    username: str | None = None,
    password: str | None = None,
    cafile: Path | None = None,
    protocol: mqtt.MQTTProtocolVersion = mqtt.MQTTv5,
    client_id: str | None = None,
    timeout_s: float = 5.0,
) -> mqtt.Client:
    """A connected, looping paho client; raises ConnectRefused or OSError if it cannot connect."""
    c = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or f"drill-{uuid.uuid4().hex[:10]}",
        protocol=protocol,
    )
    if username is not None:
        c.username_pw_set(username, password)
    if cafile is not None:
        c.tls_set(ca_certs=str(cafile), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def on_connect(_c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        outcome["reason"] = reason
        done.set()

    c.on_connect = on_connect
    c.connect(host, port, keepalive=30)
    c.loop_start()
    if not done.wait(timeout_s):
        c.loop_stop()
        raise ConnectRefused(f"no CONNACK from {host}:{port} within {timeout_s} s")
    reason = outcome["reason"]
    if reason.is_failure:
        c.loop_stop()
        c.disconnect()
        raise ConnectRefused(str(reason))
    return c


def publish_all(c: mqtt.Client, messages: Iterable[tuple[str, bytes]], timeout_s: float = 30.0) -> list[int]:
    """Publish at QoS 1 and wait for every PUBACK; returns the PUBACK reason code values (MQTT 5)."""
    codes: dict[int, int] = {}
    lock = threading.Lock()

    def on_publish(_c: mqtt.Client, _u: Any, mid: int, reason: ReasonCode, _p: Properties) -> None:
        with lock:
            codes[mid] = reason.value

    c.on_publish = on_publish
    mids = [c.publish(topic, payload, qos=1).mid for topic, payload in messages]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with lock:
            if all(mid in codes for mid in mids):
                return [codes[mid] for mid in mids]
        time.sleep(0.01)
    raise TimeoutError(f"{sum(mid in codes for mid in mids)} of {len(mids)} PUBACKs in {timeout_s} s")


class Capture:
    """A subscriber that keeps everything it receives on ``topic_filter`` (wildcards welcome)."""

    def __init__(self, host: str, port: int, topic_filter: str = "#", **connect: Any) -> None:
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self._client = client(host, port, **connect)

        def on_message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
            with self._lock:
                self.messages.append(Received(message.topic, bytes(message.payload), bool(message.retain)))

        def on_subscribe(*_args: Any) -> None:
            subscribed.set()

        def on_reconnect(c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
            if not reason.is_failure:  # after a broker restart: subscribe again
                c.subscribe(topic_filter, qos=1)

        self._client.on_message = on_message
        self._client.on_subscribe = on_subscribe
        self._client.on_connect = on_reconnect
        self._client.reconnect_delay_set(1, 2)
        self._client.subscribe(topic_filter, qos=1)
        if not subscribed.wait(5):
            raise TimeoutError(f"no SUBACK for {topic_filter}")

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.messages)

    def on(self, predicate: Callable[[Received], bool]) -> list[Received]:
        return [m for m in self.snapshot() if predicate(m)]

    def wait_for(
        self, predicate: Callable[[Received], bool], count: int, timeout_s: float = 10.0
    ) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.on(predicate)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        return self.on(predicate)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class TestCA:
    """A certificate authority made for one test, and a server certificate it signed for 127.0.0.1."""

    __test__ = False  # not a pytest class

    cafile: Path
    certfile: Path
    keyfile: Path


def make_test_ca(directory: Path, name: str = "FrailWatch Test CA") -> TestCA:
    """Generate a CA and a 127.0.0.1 server certificate with openssl (EC P-256, 1 day)."""
    directory.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
        "-subj", f"/CN={name}", "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "1", "-extfile", "san.ext", "-out", "server.crt")  # fmt: skip
    return TestCA(directory / "ca.crt", directory / "server.crt", directory / "server.key")


def station_acl(stations: Iterable[str], gateway_user: str = "gateway") -> str:
    """The central broker ACL (telemetry.acl, the deployment's rules) for these stations."""
    from telemetry.acl import central_acl

    return central_acl(stations, gateway_user=gateway_user)


@dataclass
class Finding:
    where: str
    needle: str
    context: str


@dataclass
class Scan:
    """Search haystacks (broker traffic, InfluxDB dumps, logs) for needles that must not be there."""

    needles: list[str]
    findings: list[Finding] = field(default_factory=list)
    scanned_bytes: int = 0

    def text(self, where: str, haystack: str | bytes) -> None:
        text = haystack.decode("utf-8", "replace") if isinstance(haystack, bytes) else haystack
        self.scanned_bytes += len(text)
        for needle in self.needles:
            at = text.find(needle)
            if at >= 0:
                self.findings.append(Finding(where, needle, text[max(0, at - 60) : at + 60]))


def influx_dump(server: Any, database: str) -> str:
    """Every tag value and field value of every measurement in ``database``, as text."""
    parts: list[str] = []
    for row in server.rows("SHOW MEASUREMENTS", database):
        measurement = row["name"]
        for tag in server.rows(f'SHOW TAG KEYS FROM "{measurement}"', database):
            key = tag["tagKey"]
            values = server.rows(f'SHOW TAG VALUES FROM "{measurement}" WITH KEY = "{key}"', database)
            parts += [f"{measurement}.{key}={v['value']}" for v in values]
    for target in server.everywhere(database):  # points of every retention policy
        for point in server.rows(f"SELECT * FROM {target}", database):
            parts.append(f"{target} {point}")
    return "\n".join(parts)


# --- the pipeline under test: role processes, a stand-in edge publisher, counting --------------------


class Role:
    """A FrailWatch role (``frailwatch gateway run``, ``frailwatch edge run``) as a subprocess, the
    way an operator runs it: settings in the environment, output in its own log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> Role:
        import os
        import sys

        environment = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
            environment.pop(proxy, None)
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start {self.starts} ===\n".encode())
            self.process = subprocess.Popen(
                [sys.executable, "-m", "frailwatch.cli", *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,
            )
        self.starts += 1
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self) -> None:
        """SIGKILL: no shutdown hooks, no draining — what an OOM kill or power cut does."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout_s: float = 15.0) -> int | None:
        """Graceful SIGTERM; returns the exit code."""
        import signal

        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class EdgeStandIn:
    """Publishes contract messages at QoS 1 like an edge agent's uplink: a message counts as
    delivered only once its PUBACK arrived; anything unacknowledged is re-sent with the same
    message id after a reconnect (the gateway's idempotent writes absorb the copies)."""

    def __init__(
        self, host: str, port: int, username: str | None = None, password: str | None = None
    ) -> None:
        self.acked: set[int] = set()
        self.resent = 0
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"edge-standin-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.reconnect_delay_set(1, 2)
        self.client.max_queued_messages_set(0)
        self.client.max_inflight_messages_set(1000)
        self._mid_to_index: dict[int, int] = {}
        self.client.on_publish = self._on_publish
        self.client.connect_async(host, port, keepalive=5)
        self.client.loop_start()

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, reason: ReasonCode, _p: Any) -> None:
        with self._lock:
            index = self._mid_to_index.pop(mid, None)
            # 0x10 "No matching subscribers" is not a failure code, yet the broker dropped the
            # message: after a restart Mosquitto has forgotten the gateways' shared subscription
            # until they reconnect. Only a plain success counts as delivered; the rest is re-sent.
            if index is not None and reason.value == 0:
                self.acked.add(index)

    def send(
        self, messages: list[tuple[str, bytes]], rate_per_s: float = 0.0, timeout_s: float = 45.0
    ) -> None:
        """Publish all, paced at ``rate_per_s`` (0 = as fast as possible), until every one is acked."""
        interval = 1.0 / rate_per_s if rate_per_s > 0 else 0.0
        for index, (topic, payload) in enumerate(messages):
            self._publish(index, topic, payload)
            if interval:
                time.sleep(interval)
        deadline = time.monotonic() + timeout_s
        last_acked, last_progress = -1, time.monotonic()
        while time.monotonic() < deadline:
            with self._lock:
                missing = [i for i in range(len(messages)) if i not in self.acked]
                acked = len(self.acked)
            if not missing:
                return
            if acked != last_acked:
                last_acked, last_progress = acked, time.monotonic()
            elif self.client.is_connected() and time.monotonic() - last_progress > 2.0:
                # Connected, yet no PUBACK for 2 s: the broker lost them (restart). Re-send with the
                # same message ids, as the edge's spool would; the gateway overwrites the copies.
                with self._lock:
                    self._mid_to_index.clear()
                for index in missing:
                    self._publish(index, *messages[index])
                self.resent += len(missing)
                last_progress = time.monotonic()
            time.sleep(0.2)
        raise TimeoutError(f"{len(messages) - len(self.acked)} of {len(messages)} never acknowledged")

    def _publish(self, index: int, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        with self._lock:
            self._mid_to_index[info.mid] = index

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_until(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # a server mid-restart answers with errors; keep polling
            pass
        time.sleep(interval_s)
    return False


# --- a running pipeline: central broker → gateway → InfluxDB ---------------------------------------

GATEWAY_USER = "gateway"
DEAD_LETTER_MEASUREMENT = "dead_letter"
READINGS_MEASUREMENT = "vitals"  # good traffic is vitals; the readiness probe uses grip, counted apart


def gateway_env(
    broker: Any, influx_url: str, database: str, password: str | None, client_id: str
) -> dict[str, str]:
    """The gateway's settings, as the operator docs give them (FRAILWATCH_GATEWAY_* variables)."""
    env = {
        "FRAILWATCH_GATEWAY_MQTT_HOST": broker.host,
        "FRAILWATCH_GATEWAY_MQTT_PORT": str(broker.port),
        "FRAILWATCH_GATEWAY_CLIENT_ID": client_id,
        "FRAILWATCH_GATEWAY_INFLUX_URL": influx_url,
        "FRAILWATCH_GATEWAY_INFLUX_DATABASE": database,
    }
    if password is not None:
        env["FRAILWATCH_GATEWAY_MQTT_USERNAME"] = GATEWAY_USER
        env["FRAILWATCH_GATEWAY_MQTT_PASSWORD"] = password
    return env


def count_points(server: Any, database: str, measurement: str) -> int:
    """Points in ``measurement`` (the largest per-field count: every point has its main field),
    read from the retention policy the schema writes it to."""
    from gateway.influx_schema import qualified

    rows = server.rows(f"SELECT COUNT(*) FROM {qualified(measurement)}", database)
    if not rows:
        return 0
    return max(int(v) for k, v in rows[0].items() if k.startswith("count") and v is not None)


def probe_message(n: int, station: str = "gj-01") -> tuple[str, bytes]:
    """A valid grip message, counted apart from the vitals traffic, to see the gateway is writing."""
    from tests.corpus import _dump, example

    document = example("grip")
    document["message_id"] = f"probe-{station}-{n:06d}"
    document["station_id"] = station
    document["measured_at"] = f"2026-05-11T00:{n // 60 % 60:02d}:{n % 60:02d}Z"
    return f"fw/v1/{station}/data/grip/grip-1", _dump(document)


@dataclass
class Pipeline:
    """Central broker, InfluxDB and a gateway process, with a wildcard capture of the broker."""

    broker: Any
    influx: Any
    database: str
    gateway: Role
    capture: Capture
    passwords: dict[str, str]
    probes: int = 0

    def points(self, measurement: str = READINGS_MEASUREMENT) -> int:
        return count_points(self.influx, self.database, measurement)

    def dead_letters(self) -> list[dict[str, Any]]:
        from gateway.influx_schema import qualified

        return list(self.influx.rows(f"SELECT * FROM {qualified(DEAD_LETTER_MEASUREMENT)}", self.database))

    def wait_writing(self, timeout_s: float = 30.0) -> bool:
        """Publish probes until the gateway has written one: it is subscribed and writing.

        Before its first subscription exists the broker has nobody to queue a probe for, so a
        single probe could be lost without any fault; keep sending until one lands.
        """
        deadline = time.monotonic() + timeout_s
        before = self.points("grip")
        station = client(
            self.broker.host, self.broker.port, username="gj-01", password=self.passwords["gj-01"]
        )
        try:
            while time.monotonic() < deadline:
                self.probes += 1
                publish_all(station, [probe_message(self.probes)])
                if wait_until(lambda: self.points("grip") > before, min(2.0, deadline - time.monotonic())):
                    return True
            return False
        finally:
            station.disconnect()
            station.loop_stop()

    def edge(self, station: str = "gj-01") -> EdgeStandIn:
        return EdgeStandIn(self.broker.host, self.broker.port, station, self.passwords[station])

    def close(self) -> None:
        self.gateway.stop()
        self.capture.close()


def start_pipeline(
    mosquitto_factory: Callable[..., Any],
    influx: Any,
    database: str,
    log_dir: Path,
    stations: Iterable[str] = ("gj-01", "gj-02"),
) -> Pipeline:
    passwords = {station: f"pw-{station}-{uuid.uuid4().hex[:8]}" for station in stations}
    passwords[GATEWAY_USER] = f"pw-gateway-{uuid.uuid4().hex[:12]}"
    broker = mosquitto_factory(
        name="central", users=passwords, acl=station_acl(s for s in passwords if s != GATEWAY_USER)
    )
    influx.init_frailwatch(database)  # as `frailwatch influx init`: the ops policy must exist
    env = gateway_env(broker, influx.url, database, passwords[GATEWAY_USER], f"gw-{uuid.uuid4().hex[:6]}")
    gateway = Role("gateway", ["gateway", "run"], env, log_dir).start()
    capture = Capture(broker.host, broker.port, "#", username=GATEWAY_USER, password=passwords[GATEWAY_USER])
    pipeline = Pipeline(broker, influx, database, gateway, capture, passwords)
    if not pipeline.wait_writing(timeout_s=40):
        pipeline.close()
        raise AssertionError(f"gateway never wrote its probe; its log:\n{gateway.log()[-3000:]}")
    return pipeline


# --- the edge side: station broker → edge agent → central broker ------------------------------------

PSEUDONYM_KEY = "drill-pseudonym-key-" + "k" * 24  # ≥ 16 bytes; must never appear in any log


def edge_env(
    station: str, device_broker: Any, central: Any, password: str, spool_dir: Path, **extra: str
) -> dict[str, str]:
    """The edge agent's settings (FRAILWATCH_EDGE_* variables, as the operator docs give them)."""
    return {
        "FRAILWATCH_EDGE_STATION_ID": station,
        "FRAILWATCH_EDGE_DEVICE_MQTT_HOST": device_broker.host,
        "FRAILWATCH_EDGE_DEVICE_MQTT_PORT": str(device_broker.port),
        "FRAILWATCH_EDGE_UPLINK_HOST": central.host,
        "FRAILWATCH_EDGE_UPLINK_PORT": str(central.port),
        "FRAILWATCH_EDGE_UPLINK_USERNAME": station,
        "FRAILWATCH_EDGE_UPLINK_PASSWORD": password,
        "FRAILWATCH_EDGE_PSEUDONYM_KEY": PSEUDONYM_KEY,
        "FRAILWATCH_EDGE_SPOOL_DIR": str(spool_dir),
        "FRAILWATCH_EDGE_HEARTBEAT_S": "1",
        **{f"FRAILWATCH_EDGE_{key.upper()}": value for key, value in extra.items()},
    }


def member_id(n: int) -> str:
    """A simulated raw participant identifier (a member number) — must never leave the station."""
    return f"MBR-{7_300_000 + n}"


def device_reading(n: int) -> tuple[str, bytes]:
    """A vitals reading as a station device publishes it: raw member id and resident number
    (which the edge must drop), no station id, no pseudonym."""
    import json

    from tests.corpus import RESIDENT_NUMBER, example

    document = example("vitals")
    for field_name in ("station_id", "participant", "schema_version", "visit_id"):
        document.pop(field_name, None)
    document["message_id"] = f"dev-vitals-1-{n:06d}"
    document["participant_id"] = member_id(n % 50)
    document["resident_number"] = RESIDENT_NUMBER
    document["measured_at"] = f"2026-05-12T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"
    document["payload"]["heart_rate_bpm"] = 60 + n % 40
    return "fwdev/v1/vitals/vitals-1", json.dumps(document).encode()
