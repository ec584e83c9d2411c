"""Station half of "last reading → result shown ≤ 5 s": VisitResult published → stored → page knows.

Real Mosquitto brokers (station and central) and the real edge agent in-process with its page on.
A visit's readings go in through the station broker; then, N times, a newer VisitResult for the
visit is published on the central broker's ``fw/v1/<station>/results`` and we time until the
page's state endpoint (the one the open page polls every ``POLL_S``) reports it, and how long the
full visit page then takes to render. What a counsellor waits, station side, is at most that
latency + the poll interval + the render; the gateway's scoring and publishing come before it.
Usage: ``uv run python -m benchmarks station_result [--results 30]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks._station_agent import KEY, STAFF, start_station_agent
from benchmarks.common import machine, print_table, write_result
from processing.results import build_visit_result
from processing.scoring import VisitInputs, score_visit
from runtime.local_servers import Mosquitto
from telemetry import codec, topics
from telemetry.pseudonym import pseudonymise

POLL_S = 2.0  # edge/page/static/page.js
BUDGET_S = 5.0
MEMBER, VISIT = "M-77001", "v-bench-visit-0001"


def _readings(at: dt.datetime) -> list[tuple[str, dict[str, Any]]]:
    payloads = [
        ("grip", {"trials": [{"hand": "right", "force_kg": 21.0}]}),
        ("gait", {"walk_distance_m": 4.0, "walk_time_s": 4.6}),
        ("sit_to_stand", {"five_rep_time_s": 11.8}),
    ]
    return [
        (
            f"fwdev/v1/{kind}/{kind}-1",
            {
                "participant_id": MEMBER,
                "measured_at": (at + dt.timedelta(minutes=i)).isoformat(),
                "visit_id": VISIT,
            }
            | {"payload": payload},
        )
        for i, (kind, payload) in enumerate(payloads)
    ]


def run(results: int, workdir: Path) -> dict[str, Any]:
    devices, central = Mosquitto(workdir / "station"), Mosquitto(workdir / "central")
    devices.start()
    central.start()
    agent, port = start_station_agent("gj-01", devices, central, workdir)
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).replace(microsecond=0)
    device = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    device.connect(devices.host, devices.port)
    device.loop_start()
    for topic, document in _readings(at):
        device.publish(topic, json.dumps(document), qos=1).wait_for_publish(10)
    participant = pseudonymise(KEY.encode(), MEMBER)
    url = f"/visits/{participant}/{VISIT}"
    gateway = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    gateway.connect(central.host, central.port)
    gateway.loop_start()
    inputs = VisitInputs(
        sex="male", grip_max_kg=21.0, walk_distance_m=4.0, walk_time_s=4.6, chair_stand_5x_s=11.8
    )
    latencies, renders = [], []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=True, timeout=10) as web:
        form = web.get("/login").text
        csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        web.post("/login", data={"csrf": csrf, "username": STAFF[0], "password": STAFF[1]})
        while web.get(url).status_code != 200:  # the readings are in
            time.sleep(0.05)
        for n in range(results):
            before = web.get(f"{url}/state").json()["token"]
            result = build_visit_result(
                participant=participant,
                station_id="gj-01",
                visit_id=VISIT,
                at=at + dt.timedelta(minutes=2),
                inputs=inputs,
                scores=score_visit(inputs),
                processed_at=dt.datetime.now(dt.UTC) + dt.timedelta(milliseconds=n),
            )
            started = time.perf_counter()
            gateway.publish(topics.results("gj-01"), codec.encode(result), qos=1)
            while web.get(f"{url}/state").json()["token"] == before:
                time.sleep(0.005)
            latencies.append(time.perf_counter() - started)
            started = time.perf_counter()
            assert web.get(url).status_code == 200
            renders.append(time.perf_counter() - started)
    for client in (device, gateway):
        client.disconnect()
        client.loop_stop()
    agent.stop()
    time.sleep(1.5)
    devices.stop()
    central.stop()
    p95 = sorted(latencies)[max(0, int(0.95 * len(latencies)) - 1)]
    render_p95 = sorted(renders)[max(0, int(0.95 * len(renders)) - 1)]
    worst = p95 + POLL_S + render_p95
    return {
        "results": results,
        "downlink_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "downlink_p95_ms": round(p95 * 1000, 1),
        "render_p50_ms": round(statistics.median(renders) * 1000, 1),
        "render_p95_ms": round(render_p95 * 1000, 1),
        "poll_s": POLL_S,
        "station_worst_s": round(worst, 2),
        "share_of_5s_budget": round(worst / BUDGET_S, 2),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks station_result")
    parser.add_argument("--results", type=int, default=30)
    args = parser.parse_args(argv)
    # No gateway subscribes to the readings here: the agent's 0x10 warnings are expected noise.
    logging.getLogger("frailwatch.edge").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        row = run(args.results, Path(tmp))
    columns = list(row)
    print_table("station side: VisitResult published → page state → page rendered", [row], columns)
    write_result("station_result", {"machine": machine(), "rows": [row], "note": "measured under load"})
    return 0
