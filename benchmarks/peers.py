"""FrailWatch's gateway side by side with Node-RED 4, the tool users would pick instead.

One run on this machine, one real Mosquitto and one real InfluxDB 1.x (loopback, temp dirs), the
same messages from one publisher (``mosquitto_pub -l``, QoS 1: a C client, so the publisher is
never the limit) for every contestant, one reading per message:

- Node-RED 4 with ``node-red-contrib-influxdb`` (installed with npm into a cache directory the
  first time, never in CI), two flows as a Node-RED user would build them:
  *plain* — mqtt in → function → influxdb out (one write per reading), and
  *join+batch* — mqtt in → function → join (500 messages or 0.2 s) → influxdb batch.
  Node-RED acknowledges an MQTT message on receipt, whatever InfluxDB later answers.
- FrailWatch — ``frailwatch gateway run`` as its own process (and as ``--replicas`` processes on
  the shared subscription, as replicas are deployed): validation against the contract, pseudonym
  and station checks, acknowledgement only after the InfluxDB write.
- InfluxDB's raw ``/write`` rate with pre-built line protocol (5 000 points per gzip request, two
  writers) — the ceiling any of them could reach on this machine.

Every contestant is timed the same way: from the first publish until InfluxDB's point count
reaches the number published (polled every 20 ms), or until it stops growing for ``--settle-s``
(then the shortfall is reported as lost); the CPU its own processes used is reported per stored
reading. Contestants alternate for ``--rounds`` rounds so a machine busy with other work
penalises all of them alike; the ratios are per round, then the median. FrailWatch also runs with
readings in batches of 50 (the edge's default) and with 30 s gait recordings, which no peer can
analyse. Last, the push-back phase: readings at 1000/s while InfluxDB is stopped for
``--outage-s`` seconds, and what each contestant has stored once it is back.

Usage: ``uv run python -m benchmarks peers [--messages 30000] [--rounds 2] [--replicas 1,2]``;
writes ``benchmarks/results/peers.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.common import print_table, write_result
from benchmarks.pipeline import GatewayProcess, batch, gait_recordings, publish_all, vitals
from runtime.local_servers import InfluxDB, Mosquitto, free_port

NODE_RED_VERSION = "4"
PACKAGES = (f"node-red@{NODE_RED_VERSION}", "node-red-contrib-influxdb")
CACHE = Path(os.environ.get("FRAILWATCH_BENCH_CACHE", Path.home() / ".cache" / "frailwatch-bench"))
PROBES = 10_000_000  # probe and warm-up readings are numbered from here: never a measured reading's time
TARGETS = {"one_reading_vs_node_red_batch": 2.0, "batched_readings_per_s": 100_000}

# The function node a Node-RED user writes: the reading's JSON → one InfluxDB point.
_TO_POINT = """
const m = msg.payload;
const p = m.payload;
const fields = {};
for (const k of ["systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_pct", "body_temperature_c"]) {
    if (typeof p[k] === "number") fields[k] = p[k];
}
msg.payload = {
    measurement: "vitals",
    tags: {station_id: m.station_id, participant: m.participant},
    fields: fields,
    timestamp: new Date(m.measured_at),
};
return msg;
"""
_TO_FIELDS = """
const m = msg.payload;
const p = m.payload;
const fields = {time: new Date(m.measured_at)};
for (const k of ["systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_pct", "body_temperature_c"]) {
    if (typeof p[k] === "number") fields[k] = p[k];
}
msg.payload = [fields, {station_id: m.station_id, participant: m.participant}];
return msg;
"""


# --- Node-RED -------------------------------------------------------------------------------------


def node_red_home() -> Path:
    """Node-RED 4 and the InfluxDB nodes, installed once into the benchmark cache."""
    home = CACHE / "nodered"
    binary = home / "node_modules" / "node-red" / "red.js"
    if not binary.exists():
        if shutil.which("npm") is None:
            raise SystemExit("peers: npm is needed to install Node-RED (the benchmark installs it once)")
        home.mkdir(parents=True, exist_ok=True)
        print(f"installing {' '.join(PACKAGES)} into {home} ...", flush=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *PACKAGES],
            cwd=home,
            check=True,
        )
    return home


def flows(flow: str, broker: Mosquitto, influx: InfluxDB, database: str, client_id: str) -> list[dict]:
    """The Node-RED flow as its editor would save it."""
    common: list[dict[str, Any]] = [
        {"id": "fw-tab", "type": "tab", "label": "bench"},
        {
            "id": "fw-broker",
            "type": "mqtt-broker",
            "broker": broker.host,
            "port": str(broker.port),
            "clientid": client_id,
            "protocolVersion": "5",
            "keepalive": "60",
            "cleansession": False,
            "sessionExpiry": "3600",
            "autoConnect": True,
        },
        {
            "id": "fw-influx",
            "type": "influxdb",
            "hostname": influx.host,
            "port": str(influx.port),
            "protocol": "http",
            "database": database,
            "influxdbVersion": "1.x",
            "usetls": False,
        },
        {
            "id": "fw-in",
            "type": "mqtt in",
            "z": "fw-tab",
            "topic": "fw/v1/+/data/#",
            "qos": "1",
            "datatype": "json",
            "broker": "fw-broker",
            "nl": False,
            "rap": True,
            "rh": 0,
            "inputs": 0,
            "wires": [["fw-fn"]],
        },
    ]
    if flow == "plain":
        return [
            *common,
            {
                "id": "fw-fn",
                "type": "function",
                "z": "fw-tab",
                "func": _TO_FIELDS,
                "outputs": 1,
                "wires": [["fw-out"]],
            },
            {
                "id": "fw-out",
                "type": "influxdb out",
                "z": "fw-tab",
                "influxdb": "fw-influx",
                "measurement": "vitals",
                "precision": "ms",
                "retentionPolicy": "",
                "wires": [],
            },
        ]
    return [
        *common,
        {
            "id": "fw-fn",
            "type": "function",
            "z": "fw-tab",
            "func": _TO_POINT,
            "outputs": 1,
            "wires": [["fw-join"]],
        },
        {
            "id": "fw-join",
            "type": "join",
            "z": "fw-tab",
            "mode": "custom",
            "build": "array",
            "property": "payload",
            "propertyType": "msg",
            "count": "500",
            "timeout": "0.2",
            "accumulate": False,
            "wires": [["fw-out"]],
        },
        {
            "id": "fw-out",
            "type": "influxdb batch",
            "z": "fw-tab",
            "influxdb": "fw-influx",
            "precision": "ms",
            "retentionPolicy": "",
            "wires": [],
        },
    ]


class NodeRed:
    """One Node-RED process running one flow."""

    def __init__(self, flow: str, broker: Mosquitto, influx: InfluxDB, database: str, tmp: Path) -> None:
        home = node_red_home()
        user_dir = tmp / f"nodered-{database}"
        user_dir.mkdir()
        self.port = free_port()
        (user_dir / "flows.json").write_text(json.dumps(flows(flow, broker, influx, database, database)))
        (user_dir / "settings.js").write_text(
            "module.exports = {"
            f" uiHost: '127.0.0.1', uiPort: {self.port}, flowFile: 'flows.json', credentialSecret: false,"
            " httpAdminRoot: '/admin', httpNodeRoot: false, editorTheme: {tours: false},"
            " logging: {console: {level: 'warn', metrics: false, audit: false}} };\n"
        )
        self.log = (tmp / f"nodered-{database}.log").open("ab")
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        self.process = subprocess.Popen(
            [
                "node",
                str(home / "node_modules" / "node-red" / "red.js"),
                "-u",
                str(user_dir),
                "-s",
                str(user_dir / "settings.js"),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self._wait_connected(broker, influx, database)

    def _wait_connected(self, broker: Mosquitto, influx: InfluxDB, database: str) -> None:
        """Until a probe reading published now reaches InfluxDB (Node-RED has no readiness
        endpoint for its flows): the flow is subscribed and writing."""
        deadline = time.monotonic() + 90
        n = 0
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Node-RED exited with {self.process.returncode}; see {self.log.name}")
            publish_all(broker, [vitals(PROBES + n, f"probe{database}")])
            n += 1
            time.sleep(0.5)
            if count_points(influx, database, "vitals", "systolic_mmhg") > 0:
                time.sleep(1.0)  # the join's timeout flushes the other probes
                return
        self.log.flush()
        tail = Path(self.log.name).read_text(errors="replace")[-1500:]
        raise RuntimeError(f"Node-RED's flow wrote nothing:\n{tail}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.log.close()


# --- timing ---------------------------------------------------------------------------------------


def count_points(influx: InfluxDB, database: str, measurement: str, field: str) -> int:
    rows = influx.rows(f'SELECT count("{field}") FROM "{measurement}"', database)
    return int(rows[0]["count"]) if rows else 0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of processes so far (Linux /proc), seconds."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _count_when_up(influx: InfluxDB, database: str, measurement: str, field: str, last: int) -> int:
    try:
        return count_points(influx, database, measurement, field)
    except Exception:  # InfluxDB stopped (outage phase): the count stands until it is back
        return last


def timed(
    influx: InfluxDB,
    broker: Mosquitto,
    database: str,
    messages: list[tuple[str, bytes]],
    expected: int,
    measurement: str,
    field: str,
    settle_s: float,
    pids: list[int] | None = None,
    outage: tuple[float, float] | None = None,
    rate: float = 0.0,
) -> dict[str, Any]:
    """Publish everything, then poll InfluxDB until ``expected`` points or no growth for ``settle_s``.

    ``pids``: the contestant's processes, whose CPU per stored item is reported. ``outage``:
    (after, for) seconds — InfluxDB is stopped ``after`` s into publishing and started again
    ``for`` s later (publishing paced at ``rate``), the push-back a consumer must survive.
    """
    cpu_before = cpu_seconds(pids or [])
    start = time.perf_counter()
    stopper = None
    if outage is not None:
        after, duration = outage

        def outage_now() -> None:
            time.sleep(after)
            influx.stop()
            time.sleep(duration)
            influx.start()

        stopper = threading.Thread(target=outage_now, daemon=True)
        stopper.start()
    publish_all(broker, messages, rate=rate)
    if stopper is not None:
        stopper.join()
    last, last_change, end = -1, time.perf_counter(), None
    while True:
        count = _count_when_up(influx, database, measurement, field, last)
        now = time.perf_counter()
        if count >= expected:
            end = now
            break
        if count != last:
            last, last_change = count, now
        elif now - last_change > settle_s:
            end = last_change
            break
        time.sleep(0.02)
    elapsed = end - start
    cpu = cpu_seconds(pids or []) - cpu_before
    stored = min(count, expected)
    return {
        "items": expected,
        "stored": stored,
        "lost": expected - stored,
        "seconds": elapsed,
        "per_s": stored / elapsed,
        "cpu_us_per_item": cpu / max(1, stored) * 1e6 if pids else None,
    }


def run_node_red(
    flow: str,
    broker: Mosquitto,
    influx: InfluxDB,
    tmp: Path,
    n: int,
    tag: str,
    settle_s: float,
    outage: tuple[float, float] | None = None,
    rate: float = 0.0,
) -> dict[str, Any]:
    database = f"nodered_{flow.replace('+', '_')}_{tag}"
    influx.create_database(database)
    node = NodeRed("plain" if flow == "plain" else "batch", broker, influx, database, tmp)
    try:
        messages = [vitals(i, f"nr{tag}") for i in range(n)]
        already = count_points(influx, database, "vitals", "systolic_mmhg")
        result = timed(
            influx,
            broker,
            database,
            messages,
            n + already,
            "vitals",
            "systolic_mmhg",
            settle_s,
            [node.process.pid],
            outage,
            rate,
        )
        result = _less(result, already)
    finally:
        node.stop()
    return {"contestant": f"Node-RED 4, {flow}", "acknowledges": "on receipt", **result}


def run_frailwatch(
    name: str,
    broker: Mosquitto,
    influx: InfluxDB,
    tmp: Path,
    messages: list[tuple[str, bytes]],
    expected: int,
    measurement: str,
    field: str,
    settle_s: float,
    label: str,
    warm_up: list[tuple[str, bytes]],
    replicas: int = 1,
    outage: tuple[float, float] | None = None,
    rate: float = 0.0,
) -> dict[str, Any]:
    influx.init_frailwatch(name)  # as `frailwatch influx init`: the gateway's stats go to "ops"
    gateway = GatewayProcess(broker, influx, name, tmp / f"{name}.log", replicas=replicas)
    try:
        # Warm-up (imports, cached Numba kernels, first queries) on other readings, untimed and
        # not counted: the same warm start a long-running gateway has.
        publish_all(broker, warm_up)
        gateway.wait_acked(len(warm_up))
        already = count_points(influx, name, measurement, field)
        pids = [p.pid for p in gateway.processes]
        result = timed(
            influx,
            broker,
            name,
            messages,
            expected + already,
            measurement,
            field,
            settle_s,
            pids,
            outage,
            rate,
        )
        result = _less(result, already)
    finally:
        gateway.stop()
    if replicas > 1:
        label = f"{label}, {replicas} processes"
    return {"contestant": label, "acknowledges": "after the InfluxDB write", **result}


def _less(result: dict[str, Any], already: int) -> dict[str, Any]:
    """The timed result without the ``already`` points that warm-up or probes wrote before."""
    items, stored = result["items"] - already, result["stored"] - already
    return {**result, "items": items, "stored": stored, "per_s": stored / result["seconds"]}


def raw_write_rate(influx: InfluxDB) -> dict[str, Any]:
    from benchmarks.influx_write import MEASUREMENT, columns, raw_write
    from gateway.influx.lineprotocol import encode

    times, tags, fields = columns(200_000)
    prebuilt = encode(MEASUREMENT, times, tags, fields).splitlines(keepends=True)
    raw = raw_write(influx, prebuilt, 5000, use_gzip=True, concurrency=2)
    return {
        "contestant": "InfluxDB raw /write (pre-built, 5 000/gzip request, 2 writers)",
        "acknowledges": "-",
        "items": raw["points"],
        "stored": raw["points"],
        "lost": 0,
        "seconds": raw["seconds"],
        "per_s": raw["points_per_s"],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks peers")
    parser.add_argument("--messages", type=int, default=30_000, help="readings, one per MQTT message")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batches", type=int, default=2000, help="FrailWatch batches of 50 readings")
    parser.add_argument("--recordings", type=int, default=400, help="30 s gait recordings")
    # Long enough that a contestant stalled by a slow InfluxDB (its writes retried) is not counted
    # as losing what it writes later; the rate is timed to the last growth either way.
    parser.add_argument("--settle-s", type=float, default=30.0)
    parser.add_argument("--no-plain", action="store_true", help="skip Node-RED's plain flow (slow, lossy)")
    parser.add_argument(
        "--replicas", default="1,2", help="FrailWatch gateway processes on the shared subscription, e.g. 1,2"
    )
    parser.add_argument(
        "--outage-s",
        type=float,
        default=3.0,
        help="InfluxDB stopped this long mid-stream (0: skip that phase)",
    )
    args = parser.parse_args(argv)
    replicas = [int(r) for r in args.replicas.split(",")]
    node_red_home()
    load_before = os.getloadavg()[0]
    rounds: list[dict[str, dict[str, Any]]] = []
    outages: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        broker = Mosquitto(tmp / "mosquitto")
        influx = InfluxDB(tmp / "influxdb")
        broker.start()
        influx.start()
        try:
            for r in range(args.rounds):
                tag = str(r)
                row: dict[str, dict[str, Any]] = {}
                row["raw"] = raw_write_rate(influx)
                row["nr_batch"] = run_node_red(
                    "join+batch", broker, influx, tmp, args.messages, tag, args.settle_s
                )
                for n in replicas:
                    row[f"fw_single_x{n}"] = run_frailwatch(
                        f"fw_single_{tag}_x{n}",
                        broker,
                        influx,
                        tmp,
                        [vitals(i, f"one{tag}x{n}") for i in range(args.messages)],
                        args.messages,
                        "vitals",
                        "systolic_mmhg",
                        args.settle_s,
                        "FrailWatch, 1 reading/message",
                        [vitals(PROBES + i, f"warm{tag}") for i in range(20)],
                        replicas=n,
                    )
                if not args.no_plain:
                    row["nr_plain"] = run_node_red(
                        "plain", broker, influx, tmp, args.messages, tag, args.settle_s
                    )
                for n in replicas:
                    row[f"fw_batched_x{n}"] = run_frailwatch(
                        f"fw_batched_{tag}_x{n}",
                        broker,
                        influx,
                        tmp,
                        [batch(i * 50, 50, f"bat{tag}x{n}") for i in range(args.batches)],
                        args.batches * 50,
                        "vitals",
                        "systolic_mmhg",
                        args.settle_s,
                        "FrailWatch, readings in batches of 50",
                        [batch(PROBES + i * 50, 50, f"warm{tag}") for i in range(4)],
                        replicas=n,
                    )
                rounds.append(row)
            gait = run_frailwatch(
                "fw_gait",
                broker,
                influx,
                tmp,
                gait_recordings(args.recordings),
                args.recordings,
                "gait_features",
                "cadence_spm",
                args.settle_s,
                "FrailWatch, 30 s 100 Hz gait recordings",
                [
                    (t, p.replace(b'"message_id": "gait-', b'"message_id": "warm-gait-'))
                    for t, p in gait_recordings(8)
                ],
            )
            if args.outage_s > 0:
                outages = push_back(broker, influx, tmp, args.outage_s, args.settle_s, args.no_plain)
        finally:
            broker.kill()
            influx.stop()
    table = []
    for r, row in enumerate(rounds):
        for key, result in row.items():
            result = dict(result, round=r + 1)
            if key.startswith("fw") or key == "nr_plain":
                result["vs_node_red_batch"] = result["per_s"] / row["nr_batch"]["per_s"]
            result["vs_raw_write"] = result["per_s"] / row["raw"]["per_s"]
            table.append(result)
    table.append(dict(gait, round="-"))
    columns = [
        "round",
        "contestant",
        "acknowledges",
        "items",
        "stored",
        "lost",
        "seconds",
        "per_s",
        "cpu_us_per_item",
        "vs_node_red_batch",
        "vs_raw_write",
    ]
    print_table(
        "Side by side: readings (or recordings) per second into InfluxDB, same broker and DB", table, columns
    )
    if outages:
        print_table(
            f"InfluxDB stopped for {args.outage_s:g} s while readings arrive (push-back)",
            outages,
            ["contestant", "acknowledges", "items", "stored", "lost"],
        )

    def median(key: str, ratio: str) -> float:
        return statistics.median(row[key]["per_s"] / row[ratio]["per_s"] for row in rounds)

    measured: dict[str, Any] = {}
    for n in replicas:
        measured[f"one_reading_vs_node_red_batch_x{n}"] = median(f"fw_single_x{n}", "nr_batch")
        measured[f"batched_readings_per_s_x{n}"] = statistics.median(
            row[f"fw_batched_x{n}"]["per_s"] for row in rounds
        )
        measured[f"batched_vs_raw_write_x{n}"] = median(f"fw_batched_x{n}", "raw")
    measured["one_reading_vs_node_red_batch"] = max(
        measured[f"one_reading_vs_node_red_batch_x{n}"] for n in replicas
    )
    measured["batched_readings_per_s"] = max(measured[f"batched_readings_per_s_x{n}"] for n in replicas)
    measured["gait_recordings_per_s"] = gait["per_s"]
    measured["lost_frailwatch"] = sum(row[k]["lost"] for row in rounds for k in row if k.startswith("fw"))
    measured["lost_in_outage"] = {o["contestant"]: o["lost"] for o in outages}
    met = {
        "one_reading_vs_node_red_batch": measured["one_reading_vs_node_red_batch"]
        >= TARGETS["one_reading_vs_node_red_batch"],
        "batched_readings_per_s": measured["batched_readings_per_s"] >= TARGETS["batched_readings_per_s"],
    }
    print_table(
        "Medians over rounds (the target rows: the best process count)",
        [
            {"measure": k, "value": v, "target": TARGETS.get(k, ""), "met": met.get(k, "")}
            for k, v in measured.items()
        ],
        ["measure", "value", "target", "met"],
    )
    write_result(
        "peers",
        {
            "node_red": {"packages": PACKAGES, "flows": ["plain", "join+batch (500 / 0.2 s)"]},
            "publisher": "mosquitto_pub -l, QoS 1, MQTT 5, 1000 in flight",
            "load_average_before": load_before,
            "load_average_after": os.getloadavg()[0],
            "results": table,
            "outage": outages,
            "measured": measured,
            "targets": TARGETS,
            "met": met,
        },
    )
    return 0


def push_back(
    broker: Mosquitto, influx: InfluxDB, tmp: Path, outage_s: float, settle_s: float, no_plain: bool
) -> list[dict[str, Any]]:
    """Readings paced at 1000/s for 6 s while InfluxDB is stopped from 1 s for ``outage_s``:
    what each contestant has stored once InfluxDB is back and everything settled."""
    n, rate, outage = 6000, 1000.0, (1.0, outage_s)
    out = [
        run_node_red("join+batch", broker, influx, tmp, n, "outage", settle_s, outage, rate),
        run_frailwatch(
            "fw_outage",
            broker,
            influx,
            tmp,
            [vitals(i, "outage") for i in range(n)],
            n,
            "vitals",
            "systolic_mmhg",
            settle_s,
            "FrailWatch, 1 reading/message",
            [vitals(PROBES + i, "warmoutage") for i in range(20)],
            outage=outage,
            rate=rate,
        ),
    ]
    if not no_plain:
        out.insert(1, run_node_red("plain", broker, influx, tmp, n, "outage", settle_s, outage, rate))
    return out
