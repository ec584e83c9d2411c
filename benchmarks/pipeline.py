"""End to end: MQTT publish → ``frailwatch gateway run`` → acknowledged InfluxDB write.

One run on this machine, every server real (Mosquitto and InfluxDB 1.x from
:mod:`runtime.local_servers`, loopback, temp dirs), the gateway as its own process, configured by
environment exactly as in production, and messages published at QoS 1 by ``mosquitto_pub``
(:class:`LinePublisher`):

(a) the broker's own QoS 1 relay rate: the publisher → Mosquitto → one paho subscriber;
(b) InfluxDB's raw ``/write`` rate with pre-built line protocol (``benchmarks.influx_write``);
(c) FrailWatch, publish → acknowledged write, timed from the first publish until the gateway has
    acknowledged every message (its Prometheus counter): messages/s with one reading per message,
    readings/s when readings arrive in MessageBatches of 50 (the edge's default), and 30-second
    100 Hz gait recordings/s (each analysed by the Numba kernels, its visit scored and its cases
    assessed);
(d) publish → queryable latency at half the rate measured in (c): InfluxDB is polled every 20 ms
    and a reading counts as queryable when the count of points reaches it (the gateway writes
    in arrival order), so the p50/p99 resolution is about 20 ms.

Prints the ratios to (a) and (b) and writes ``benchmarks/results/pipeline.json``. Usage:
``uv run python -m benchmarks pipeline [--messages 20000] [--recordings 400]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import print_table, write_result
from runtime.local_servers import InfluxDB, Mosquitto, free_port
from telemetry.recording import IMU_CHANNELS, IMU_UNITS

TARGETS = {
    "one_reading_per_message_vs_broker": 0.6,
    "batched_readings_per_s": 100_000,
    "gait_recordings_per_s": 500,
    "p99_latency_s_at_half_load": 0.5,
}
STATION = "gj-01"
PARTICIPANTS = [f"{n:032x}" for n in range(1, 301)]


# --- messages -------------------------------------------------------------------------------------


def vitals(n: int, prefix: str) -> tuple[str, bytes]:
    """One vitals reading (≈ 400 bytes), distinct time and id."""
    at = 1_767_225_600 + n  # 2026-01-01 + n s
    doc = {
        "message_id": f"{prefix}-{n:08d}",
        "station_id": STATION,
        "device_id": "vitals-1",
        "device_kind": "vitals",
        "participant": PARTICIPANTS[n % len(PARTICIPANTS)],
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)),
        "payload": {
            "kind": "vitals",
            "systolic_mmhg": 120.0 + n % 30,
            "diastolic_mmhg": 75.0,
            "heart_rate_bpm": 70.0,
        },
    }
    return f"fw/v1/{STATION}/data/vitals/vitals-1", json.dumps(doc).encode()


def batch(first: int, size: int, prefix: str) -> tuple[str, bytes]:
    messages = [json.loads(vitals(n, prefix)[1]) for n in range(first, first + size)]
    doc = {"message_type": "batch", "station_id": STATION, "messages": messages}
    return f"fw/v1/{STATION}/batch", json.dumps(doc).encode()


def gait_recordings(count: int, distinct: int = 16) -> list[tuple[str, bytes]]:
    """``count`` gait messages with 30 s, 100 Hz, 6-channel IMU walks (``distinct`` different walks)."""
    from processing.synthetic.gait import WalkTruth, simulate_walk
    from telemetry.recording import Recording

    walks = []
    for seed in range(distinct):
        walk = simulate_walk(WalkTruth(n_steps=50, cadence_spm=104, standing_s=1.5), 100.0, seed=seed)
        samples = np.hstack([walk.acc, walk.gyr])[:3000]
        recording = Recording.from_array(samples, 100.0, IMU_CHANNELS, IMU_UNITS)
        walks.append(json.loads(recording.model_dump_json()))
    out = []
    for n in range(count):
        doc = {
            "message_id": f"gait-{n:08d}",
            "station_id": STATION,
            "device_id": "gait-1",
            "device_kind": "gait",
            "participant": PARTICIPANTS[n % len(PARTICIPANTS)],
            "measured_at": time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_767_225_600 + 86_400 * (n // 300) + n)
            ),
            "payload": {
                "kind": "gait",
                "walk_distance_m": 30.0,
                "sensor_height_m": 0.95,
                "recording": walks[n % distinct],
            },
        }
        out.append((f"fw/v1/{STATION}/data/gait/gait-1", json.dumps(doc).encode()))
    return out


# --- clients -------------------------------------------------------------------------------------


class LinePublisher:
    """``mosquitto_pub -l``: each line written to it is one QoS 1 message (MQTT 5, up to 1000 in flight).

    Every benchmark publishes through it. A C client costs the machine a few µs a message; paho's
    QoS 1 publish cost 180–230 µs of CPU a message here (its in-flight bookkeeping on every
    PUBACK) and capped every contestant at 3.5–5 k messages/s, under what the consumers being
    compared reach. Messages are single-line JSON, so a line is a message.
    """

    def __init__(self, broker: Mosquitto, topic: str) -> None:
        self.process = subprocess.Popen(
            [
                "mosquitto_pub",
                *("-h", broker.host, "-p", str(broker.port), "-V", "mqttv5", "-q", "1", "-M", "1000"),
                *("-i", f"bench-pub-{time.time_ns()}", "-t", topic, "-l"),
            ],
            stdin=subprocess.PIPE,
        )
        assert self.process.stdin is not None
        self.stdin = self.process.stdin

    def send(self, payload: bytes, flush: bool = False) -> None:
        if b"\n" in payload:
            raise ValueError("a line publisher cannot send a payload with a newline")
        self.stdin.write(payload + b"\n")
        if flush:
            self.stdin.flush()

    def close(self, timeout_s: float = 600) -> None:
        """End of input: mosquitto_pub exits once the broker has acknowledged every message."""
        self.stdin.close()
        if self.process.wait(timeout_s) != 0:
            raise RuntimeError(f"mosquitto_pub exited with {self.process.returncode}")


def publish_all(broker: Mosquitto, messages: list[tuple[str, bytes]], rate: float = 0.0) -> list[float]:
    """Publish at QoS 1, in order, paced at ``rate`` messages/s when given; returns once the broker
    has every message, with each message's publish time (perf_counter)."""
    times: list[float] = []
    start = time.perf_counter()
    i = 0
    while i < len(messages):
        topic = messages[i][0]
        pub = LinePublisher(broker, topic)
        try:
            while i < len(messages) and messages[i][0] == topic:
                if rate:
                    delay = start + i / rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                times.append(time.perf_counter())
                pub.send(messages[i][1], flush=bool(rate))
                i += 1
        finally:
            pub.close()
    return times


_SUBSCRIBER = """
import sys, threading, time
import paho.mqtt.client as mqtt
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
count = 0
done = threading.Event()
def on_message(_c, _u, _m):
    global count
    count += 1
    if count >= n:
        done.set()
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, client_id="bench-sub")
c.on_message = on_message
c.on_subscribe = lambda *a: print("subscribed", flush=True)
c.connect(host, port)
c.loop_start()
c.subscribe("bench/#", qos=1)
done.wait(600)
print(time.time(), flush=True)
"""


def broker_relay(broker: Mosquitto, n: int) -> dict[str, Any]:
    """(a) plain paho publisher → broker → plain paho subscriber (its own process), QoS 1 both ways."""
    sub = subprocess.Popen(
        [sys.executable, "-c", _SUBSCRIBER, broker.host, str(broker.port), str(n)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sub.stdout is not None
    assert sub.stdout.readline().strip() == "subscribed"
    messages = [(t.replace("fw/v1", "bench"), p) for t, p in (vitals(i, "relay") for i in range(n))]
    start = time.time()
    publish_all(broker, messages)
    end = float(sub.stdout.readline())
    sub.wait(30)
    elapsed = end - start
    return {
        "path": "(a) broker QoS 1 relay, mosquitto_pub → paho",
        "messages": n,
        "seconds": elapsed,
        "per_s": n / elapsed,
    }


# --- the gateway process ----------------------------------------------------------------------------


class GatewayProcess:
    """``replicas`` × ``frailwatch gateway run`` on one shared subscription, as deployed (each its
    own client id and metrics port); metrics are summed over them."""

    def __init__(
        self, broker: Mosquitto, influx: InfluxDB, database: str, log: Path, replicas: int = 1
    ) -> None:
        self.ports = [free_port() for _ in range(replicas)]
        self.log = log.open("ab")
        self.processes = [self._start(broker, influx, database, n, port) for n, port in enumerate(self.ports)]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.metric("frailwatch_gateway_connected") >= replicas:
                    time.sleep(0.5)  # the SUBACK
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gateway did not connect; see {log}")

    def _start(
        self, broker: Mosquitto, influx: InfluxDB, database: str, n: int, port: int
    ) -> subprocess.Popen:
        env = {
            **os.environ,
            "FRAILWATCH_GATEWAY_MQTT_HOST": broker.host,
            "FRAILWATCH_GATEWAY_MQTT_PORT": str(broker.port),
            "FRAILWATCH_GATEWAY_CLIENT_ID": f"bench-{database}" + (f"-{n}" if n else ""),
            "FRAILWATCH_GATEWAY_INFLUX_URL": influx.url,
            "FRAILWATCH_GATEWAY_INFLUX_DATABASE": database,
            "FRAILWATCH_GATEWAY_METRICS_PORT": str(port),
            "FRAILWATCH_GATEWAY_METRICS_HOST": "127.0.0.1",
            "FRAILWATCH_GATEWAY_RECEIVE_MAXIMUM": "5000",
            # A group per phase: a stopped replica's persistent session keeps its share queued.
            "FRAILWATCH_GATEWAY_SHARE_GROUP": database,
        }
        for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            env.pop(proxy, None)
        return subprocess.Popen(
            [sys.executable, "-m", "frailwatch.cli", "gateway", "run"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    @property
    def process(self) -> subprocess.Popen:
        return self.processes[0]

    def metric(self, name: str) -> float:
        total = 0.0
        for port in self.ports:
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3).read().decode()
            total += sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))
        return total

    def wait_acked(self, n: int, timeout_s: float = 600) -> float:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.metric("frailwatch_gateway_acked_total") >= n:
                return time.perf_counter()
            time.sleep(0.02)
        raise RuntimeError(f"only {self.metric('frailwatch_gateway_acked_total')} of {n} acknowledged")

    def stop(self) -> None:
        """SIGTERM (a gateway drains for up to its ``drain_s``), then SIGKILL if one is still up:
        what it had not acknowledged stays with the broker, and a benchmark must not hang on it."""
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                print(f"gateway {process.pid} still draining after 30 s: killed", flush=True)
                process.kill()
                process.wait(10)
        self.log.close()


def through_gateway(
    broker: Mosquitto, influx: InfluxDB, tmp: Path, name: str, messages: list[tuple[str, bytes]], items: int
) -> dict[str, Any]:
    influx.init_frailwatch(name)  # as `frailwatch influx init`: the ops policy must exist
    gateway = GatewayProcess(broker, influx, name, tmp / f"{name}.log")
    try:
        # Warm up (imports, Numba's cached kernels, first queries) on a few messages, untimed.
        warm = max(1, len(messages) // 100)
        publish_all(broker, messages[:warm])
        gateway.wait_acked(warm)
        start = time.perf_counter()
        publish_all(broker, messages[warm:])
        end = gateway.wait_acked(len(messages))
        items = items * (len(messages) - warm) // len(messages)
    finally:
        gateway.stop()
    elapsed = end - start
    return {"messages": len(messages) - warm, "items": items, "seconds": elapsed, "per_s": items / elapsed}


def latency(broker: Mosquitto, influx: InfluxDB, tmp: Path, rate: float, seconds: float) -> dict[str, Any]:
    """(d) publish → queryable at ``rate`` messages/s."""
    name = "latency"
    influx.init_frailwatch(name)  # as `frailwatch influx init`: the ops policy must exist
    gateway = GatewayProcess(broker, influx, name, tmp / f"{name}.log")
    gateway.metric("frailwatch_gateway_connected")
    n = int(rate * seconds)
    messages = [vitals(i, "lat") for i in range(n)]
    seen: list[float] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            rows = influx.rows('SELECT count("heart_rate_bpm") FROM "vitals"', name)
            count = int(rows[0]["count"]) if rows else 0
            now = time.perf_counter()
            seen.extend([now] * (count - len(seen)))
            if len(seen) >= n:
                return
            time.sleep(0.02)

    poller = threading.Thread(target=poll, daemon=True)
    try:
        poller.start()
        sent = publish_all(broker, messages, rate=rate)
        poller.join(120)
        stop.set()
    finally:
        gateway.stop()
    lat = np.array(seen[: len(sent)]) - np.array(sent[: len(seen)])
    return {
        "rate_per_s": rate,
        "messages": n,
        "p50_s": float(np.percentile(lat, 50)),
        "p99_s": float(np.percentile(lat, 99)),
        "max_s": float(lat.max()),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks pipeline")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--recordings", type=int, default=400)
    parser.add_argument("--latency-s", type=float, default=10.0)
    args = parser.parse_args(argv)
    from benchmarks.influx_write import MEASUREMENT, columns, raw_write
    from gateway.influx.lineprotocol import encode

    load_before = os.getloadavg()[0]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        broker = Mosquitto(tmp / "mosquitto")
        influx = InfluxDB(tmp / "influxdb")
        broker.start()
        influx.start()
        try:
            relay = broker_relay(broker, args.messages)
            times, tags, fields = columns(200_000)
            prebuilt = encode(MEASUREMENT, times, tags, fields).splitlines(keepends=True)
            raw = raw_write(influx, prebuilt, 5000, use_gzip=True)
            rows.append(relay)
            rows.append(
                {"path": "(b) InfluxDB raw /write gzip, pre-built", "messages": 200_000, **_rate(raw)}
            )
            single = through_gateway(
                broker, influx, tmp, "single", [vitals(i, "one") for i in range(args.messages)], args.messages
            )
            rows.append({"path": "(c) FrailWatch, 1 reading/message", **single})
            batched_messages = [
                batch(i * args.batch_size, args.batch_size, "bat") for i in range(args.batches)
            ]
            batched = through_gateway(
                broker, influx, tmp, "batched", batched_messages, args.batches * args.batch_size
            )
            rows.append({"path": f"(c) FrailWatch, readings in batches of {args.batch_size}", **batched})
            gait = through_gateway(
                broker, influx, tmp, "gait", gait_recordings(args.recordings), args.recordings
            )
            rows.append({"path": "(c) FrailWatch, 30 s gait recordings", **gait})
            lat = latency(broker, influx, tmp, single["per_s"] / 2, args.latency_s)
        finally:
            broker.kill()
            influx.stop()
    for row in rows:
        row["vs_broker"] = row["per_s"] / relay["per_s"]
        row["vs_raw_write"] = row["per_s"] / rows[1]["per_s"]
    print_table(
        "Pipeline throughput (items/s: messages, points, readings or recordings)",
        rows,
        ["path", "messages", "items", "seconds", "per_s", "vs_broker", "vs_raw_write"],
    )
    print_table("Publish → queryable latency at half the one-reading rate", [lat], list(lat))
    verdict = {
        "one_reading_per_message_vs_broker": single["per_s"] / relay["per_s"],
        "batched_readings_per_s": batched["per_s"],
        "gait_recordings_per_s": gait["per_s"],
        "p99_latency_s_at_half_load": lat["p99_s"],
    }
    met = {k: (v >= TARGETS[k] if not k.startswith("p99") else v <= TARGETS[k]) for k, v in verdict.items()}
    print_table(
        "Targets",
        [{"measure": k, "measured": v, "target": TARGETS[k], "met": met[k]} for k, v in verdict.items()],
        ["measure", "measured", "target", "met"],
    )
    write_result(
        "pipeline",
        {
            "load_average_before": load_before,
            "load_average_after": os.getloadavg()[0],
            "throughput": rows,
            "latency": lat,
            "targets": TARGETS,
            "measured": verdict,
            "met": met,
        },
    )
    return 0


def _rate(raw: dict[str, Any]) -> dict[str, Any]:
    return {"items": raw["points"], "seconds": raw["seconds"], "per_s": raw["points_per_s"]}
