"""Soak: the pipeline (central Mosquitto → gateway process → InfluxDB) at half its measured
capacity for a bounded time, reporting throughput over time, p99 end-to-end latency and the
memory growth of each process.

    uv run python -m benchmarks soak                 # 10 minutes
    uv run python -m benchmarks soak --minutes 2 --capacity-messages 3000

Phase 1 measures capacity: a burst published as fast as the broker takes it, timed until every
point is in InfluxDB. Phase 2 publishes at ``--load`` (default 0.5) of that rate. Latency is
publish → visible in InfluxDB, resolved by polling the point count every ``--poll-s`` seconds
(messages are numbered in publish order, so the n-th point visible dates the n-th message);
its resolution is the poll interval. Memory is each process's resident set (VmRSS, the gateway
with its children), growth measured from the end of warm-up (first 20 % of the run) to the end.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import print_table, write_result
from benchmarks.pipeline import LinePublisher, publish_all
from runtime.local_servers import InfluxDB, Mosquitto
from telemetry import DeviceKind, encode
from telemetry.examples import example_messages

STATION = "gj-01"
TOPIC = f"fw/v1/{STATION}/data/vitals/vitals-1"
MEASUREMENT = "vitals"
DATABASE = "frailwatch"


def rss_kib(pid: int, with_children: bool = False) -> int:
    """Resident set size of a process (and, optionally, its direct children), KiB, from /proc."""
    pids = [pid]
    if with_children:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            pids += [int(child) for child in children]
        except OSError:
            pass
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


class Messages:
    """Valid vitals messages with distinct ids and timestamps (1 ms apart, starting a day ago)."""

    def __init__(self) -> None:
        self.template = example_messages()[DeviceKind.VITALS]
        self.base = datetime.now(UTC) - timedelta(days=1)

    def __call__(self, n: int) -> bytes:
        message = self.template.model_copy(
            update={"message_id": f"soak-{n:010d}", "measured_at": self.base + timedelta(milliseconds=n)}
        )
        return encode(message)


class Publisher:
    """QoS 1 publisher (``mosquitto_pub``, see :class:`benchmarks.pipeline.LinePublisher`) recording
    each message's publish time (index = message number)."""

    def __init__(self, broker: Mosquitto) -> None:
        self.line = LinePublisher(broker, TOPIC)
        self.messages = Messages()
        self.sent_at: list[float] = []

    def publish(self, count: int) -> None:
        for _ in range(count):
            payload = self.messages(len(self.sent_at))
            self.sent_at.append(time.monotonic())
            self.line.send(payload)
        self.line.stdin.flush()

    def close(self) -> None:
        self.line.close()


class Gateway:
    """``frailwatch gateway run`` as a subprocess, configured through its environment."""

    def __init__(self, broker: Mosquitto, influx: InfluxDB, log_path: Path) -> None:
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "FRAILWATCH_GATEWAY_MQTT_HOST": broker.host,
            "FRAILWATCH_GATEWAY_MQTT_PORT": str(broker.port),
            "FRAILWATCH_GATEWAY_CLIENT_ID": "soak-gateway",
            "FRAILWATCH_GATEWAY_INFLUX_URL": influx.url,
            "FRAILWATCH_GATEWAY_INFLUX_DATABASE": DATABASE,
        }
        for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
            env.pop(proxy, None)
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "frailwatch.cli", "gateway", "run"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def count_points(influx: InfluxDB, measurement: str = MEASUREMENT) -> int:
    try:
        rows = influx.rows(f'SELECT COUNT(*) FROM "{measurement}"', DATABASE)
    except Exception:  # InfluxDB busy or restarting: count as no progress this poll
        return -1
    if not rows:
        return 0
    return max(int(v) for k, v in rows[0].items() if k.startswith("count") and v is not None)


class Watcher(threading.Thread):
    """Polls the point count; dates the moment each message number became visible."""

    def __init__(self, influx: InfluxDB, poll_s: float) -> None:
        super().__init__(daemon=True)
        self.influx = influx
        self.poll_s = poll_s
        self.visible_at: list[float] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            count = count_points(self.influx)
            now = time.monotonic()
            while len(self.visible_at) < count:
                self.visible_at.append(now)
            time.sleep(self.poll_s)

    def wait_for(self, count: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.visible_at) >= count:
                return True
            time.sleep(0.05)
        return False


def _wait_gateway_writing(broker: Mosquitto, influx: InfluxDB, timeout_s: float) -> bool:
    template = example_messages()[DeviceKind.GRIP]
    deadline = time.monotonic() + timeout_s
    n = 0
    while time.monotonic() < deadline:
        n += 1
        probe = template.model_copy(update={"message_id": f"soak-probe-{n:06d}", "station_id": STATION})
        publish_all(broker, [(f"fw/v1/{STATION}/data/grip/grip-1", encode(probe))])
        time.sleep(2.0)
        if count_points(influx, "grip") > 0:
            return True
    return False


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the soak phase")
    parser.add_argument("--load", type=float, default=0.5, help="fraction of measured capacity")
    parser.add_argument(
        "--capacity-messages", type=int, default=5000, help="burst size for the capacity phase"
    )
    parser.add_argument("--sample-s", type=float, default=10.0, help="throughput/memory sampling interval")
    parser.add_argument("--poll-s", type=float, default=0.2, help="InfluxDB count polling interval")
    args = parser.parse_args(argv)

    import importlib.util

    if importlib.util.find_spec("gateway.cli") is None:
        print("BLOCKED: gateway/cli.py is missing; nothing to soak", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="frailwatch-soak-"))
    broker = Mosquitto(workdir / "mosquitto")
    influx = InfluxDB(workdir / "influxdb")
    broker.start()
    influx.start()
    influx.init_frailwatch(DATABASE)  # as `frailwatch influx init`: the ops policy must exist
    gateway = Gateway(broker, influx, workdir / "gateway.log")
    watcher = Watcher(influx, args.poll_s)
    watcher.start()
    publisher = Publisher(broker)
    try:
        return _run(args, broker, influx, gateway, watcher, publisher)
    finally:
        watcher.stopping.set()
        publisher.close()
        gateway.stop()
        broker.stop()
        influx.stop()
        print(f"(logs in {workdir})")


def _run(
    args: argparse.Namespace,
    broker: Mosquitto,
    influx: InfluxDB,
    gateway: Gateway,
    watcher: Watcher,
    publisher: Publisher,
) -> int:
    # Warm up (imports, JIT, connections, the gateway's first subscription) with grip probes, kept
    # apart from the numbered vitals stream: a probe sent before the subscription exists is lost.
    if not _wait_gateway_writing(broker, influx, timeout_s=90):
        print(f"gateway wrote nothing in 90 s; see {gateway.log_path}", file=sys.stderr)
        return 1
    start = time.monotonic()
    publisher.publish(args.capacity_messages)
    if not watcher.wait_for(args.capacity_messages, 300):
        print("capacity burst not written within 300 s", file=sys.stderr)
        return 1
    capacity = args.capacity_messages / (watcher.visible_at[args.capacity_messages - 1] - start)
    rate = capacity * args.load
    print(f"capacity {capacity:,.0f} messages/s; soaking at {rate:,.0f}/s for {args.minutes} min")

    processes = {
        "gateway": (gateway.process.pid, True),
        "mosquitto": (broker.pid, False),
        "influxd": (influx.pid, False),
    }
    samples: list[dict[str, Any]] = []
    first_soak = len(publisher.sent_at)
    t0 = time.monotonic()
    end = t0 + args.minutes * 60
    next_sample = t0 + args.sample_s
    tick = 0.05
    owed = 0.0
    last_count, last_time = len(watcher.visible_at), t0
    last_tick = t0
    while time.monotonic() < end:
        tick_now = time.monotonic()
        owed += rate * (tick_now - last_tick)  # by elapsed time, so publishing's own cost is not lost
        last_tick = tick_now
        whole = int(owed)
        publisher.publish(whole)
        owed -= whole
        time.sleep(tick)
        now = time.monotonic()
        if now >= next_sample:
            count = len(watcher.visible_at)
            row: dict[str, Any] = {
                "t_s": round(now - t0),
                "written_per_s": (count - last_count) / (now - last_time),
                "backlog": len(publisher.sent_at) - count,
            }
            for name, (pid, children) in processes.items():
                row[f"{name}_rss_mib"] = rss_kib(pid or 0, children) / 1024
            samples.append(row)
            print("  ".join(f"{k}={v:,.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
            last_count, last_time = count, now
            next_sample += args.sample_s
            if gateway.process.poll() is not None:
                print("gateway exited during the soak", file=sys.stderr)
                return 1
    total = len(publisher.sent_at)
    drained = watcher.wait_for(total, 120)
    latencies = [
        watcher.visible_at[n] - publisher.sent_at[n]
        for n in range(first_soak, min(total, len(watcher.visible_at)))
    ]
    warm = samples[max(0, len(samples) // 5 - 1)] if samples else {}
    last = samples[-1] if samples else {}
    growth = {
        name: (last.get(f"{name}_rss_mib", 0) - warm.get(f"{name}_rss_mib", 0))
        / max(warm.get(f"{name}_rss_mib", 1), 1e-9)
        for name in processes
    }
    summary = {
        "capacity_per_s": capacity,
        "load": args.load,
        "target_per_s": rate,
        "achieved_per_s": (len(watcher.visible_at) - first_soak) / (args.minutes * 60),
        "published": total,
        "written": len(watcher.visible_at),
        "all_written": drained,
        "latency_p50_s": percentile(latencies, 0.50),
        "latency_p99_s": percentile(latencies, 0.99),
        "latency_max_s": max(latencies, default=float("nan")),
        "memory_growth_after_warmup": growth,
    }
    print_table("soak: throughput and memory over time", samples, list(samples[0]) if samples else ["t_s"])
    rows = [
        {
            "process": name,
            "rss_warm_mib": warm.get(f"{name}_rss_mib"),
            "rss_end_mib": last.get(f"{name}_rss_mib"),
            "growth_pct": 100 * growth[name],
            "target_pct": "< 10",
        }
        for name in processes
    ]
    print_table(
        "soak: memory growth after warm-up",
        rows,
        ["process", "rss_warm_mib", "rss_end_mib", "growth_pct", "target_pct"],
    )
    print_table(
        "soak: end to end",
        [summary],
        [
            "capacity_per_s",
            "target_per_s",
            "achieved_per_s",
            "published",
            "written",
            "latency_p50_s",
            "latency_p99_s",
        ],
    )
    write_result("soak", {"summary": summary, "samples": samples, "args": vars(args)})
    return 0 if drained else 1
