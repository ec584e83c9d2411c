"""The demo from start to finish: servers, gateway, stations, simulated visits, outage, summary.

Every moving part is the real one: Debian's Mosquitto and InfluxDB, the gateway and edge agents
started through ``frailwatch gateway``/``frailwatch edge`` as an operator would, devices
publishing raw readings on each station's own broker. See :mod:`frailwatch.demo.roles` for the
seam to those roles.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from frailwatch.demo import roles
from frailwatch.demo.charts import plot_trend
from frailwatch.demo.observer import Observer
from frailwatch.demo.processes import RoleFailed
from frailwatch.demo.report import print_summary
from frailwatch.demo.stack import OPS_USER, DemoStack, station_ids
from frailwatch.demo.summary import DemoSummary, StationCounts, UplinkOutage
from frailwatch.services import ServiceError

OUTAGE_AT = 0.35  # share of the device messages published before the uplink goes down
OUTAGE_MIN_S = 4.0  # long enough that every station spools while the broker is away
SETTLE_TIMEOUT_S = 120.0


class DemoError(RuntimeError):
    """The demo could not run to the end; the message says which part failed."""


class DemoOptions(BaseModel):
    stations: int = Field(3, ge=1, le=20)
    participants: int = Field(40, ge=1, le=5000)
    days: int = Field(180, ge=1, le=3650)
    out: Path = Path("demo-out")
    seed: int = 7
    state_dir: Path | None = None
    outage: bool = True
    progress: bool = True
    keep_running: bool = False


class _Say:
    """Progress bar on a terminal (rich), plain lines otherwise."""

    def __init__(self, enabled: bool) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal

    def __call__(self, text: str) -> None:
        self.console.print(f"[bold cyan]demo[/] {text}", highlight=False)

    @contextlib.contextmanager
    def bar(self, total: int, label: str) -> Iterator[Callable[[int], None]]:
        if not self.enabled:
            step = max(1, total // 10)
            done = 0

            def plain(n: int) -> None:
                nonlocal done
                before, done = done, done + n
                if before // step != done // step or done == total:
                    self(f"{label}: {done}/{total}")

            yield plain
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self.console, transient=False) as progress:
            task = progress.add_task(label, total=total)
            yield lambda n: progress.advance(task, n)


def run_demo(options: DemoOptions) -> DemoSummary:
    """Run the demo; raises DemoError (servers stopped, state removed) if any part fails."""
    try:
        return _run(options)
    except (RoleFailed, ServiceError, TimeoutError) as exc:
        raise DemoError(str(exc)) from exc


def _run(options: DemoOptions) -> DemoSummary:
    say = _Say(options.progress)
    started = datetime.now(UTC)
    own_state = options.state_dir is None
    state_dir = options.state_dir or Path(tempfile.mkdtemp(prefix="frailwatch-demo-"))
    stations = station_ids(options.stations)
    try:
        roles.require_roles()
    except roles.RoleMissing as exc:
        raise DemoError(str(exc)) from exc
    stack = DemoStack(state_dir, stations)
    with contextlib.ExitStack() as cleanup:
        if own_state and not options.keep_running:
            cleanup.callback(shutil.rmtree, state_dir, True)
        cleanup.callback(stack.stop)
        say(f"starting Mosquitto and InfluxDB in {state_dir}")
        stack.start()
        assert stack.central is not None and stack.influxdb is not None
        roles.init_database(stack)
        observer = Observer(stack.central.host, stack.central.port, stack.passwords[OPS_USER])
        observer.start()
        cleanup.callback(observer.stop)

        say("starting the gateway")
        processes = roles.Processes(state_dir)
        cleanup.callback(processes.stop_all)
        roles.start_gateway(stack, processes)
        say(f"starting {len(stations)} edge agents: {', '.join(stations)}")
        pseudonym_key = secrets.token_hex(32)  # demo-only; a deployment keeps one key for good
        for station in stations:
            roles.start_edge(stack, station, processes, pseudonym_key)
        _wait_online(observer, stations, processes)

        say(f"simulating {options.days} days of visits for {options.participants} participants")
        plan = roles.plan_visits(stations, options.participants, options.days, options.seed)
        outage = _publish(stack, plan, say, options.outage, observer, processes)
        say("waiting for the spools to drain and the gateway to finish writing")
        _settle(stack, observer, processes)
        summary = _summarise(stack, observer, plan, options, started, outage)
        _write_outputs(stack, summary, options.out)
        print_summary(summary, options.out)
        if options.keep_running:
            cleanup.pop_all()
            _keep_running(stack, processes, state_dir, say)
    return summary


def _wait_online(
    observer: Observer, stations: list[str], processes: roles.Processes, timeout_s: float = 60
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        processes.check_alive()
        status = observer.snapshot().status
        if all(status.get(s) == "online" for s in stations):
            return
        time.sleep(0.2)
    raise DemoError(f"stations not online after {timeout_s:.0f} s: {processes.log_tails()}")


def _publish(
    stack: DemoStack,
    plan: roles.VisitPlan,
    say: _Say,
    with_outage: bool,
    observer: Observer,
    processes: roles.Processes,
) -> UplinkOutage | None:
    """Send every device message to its station broker; take the uplink away once on the way."""
    assert stack.central is not None
    outage_at = int(plan.device_messages * OUTAGE_AT) if with_outage else -1
    resume_at = int(plan.device_messages * (OUTAGE_AT + 0.2))
    outage: UplinkOutage | None = None
    down_since = reconnected_at = 0.0
    started = datetime.now(UTC)
    sent = 0
    with roles.DevicePublisher(stack) as devices, say.bar(plan.device_messages, "device messages") as advance:
        for publication in plan.publications():
            if sent == outage_at:
                say("uplink down: stopping the central broker; stations keep measuring into their spools")
                devices.flush()
                down_since, started = time.monotonic(), datetime.now(UTC)
                stack.central.stop()
            if down_since and sent == resume_at:
                devices.flush()  # everything sent while down is now in the stations' spools
                time.sleep(max(0.0, OUTAGE_MIN_S - (time.monotonic() - down_since)))
                stack.central.start()
                reconnected_at = time.time()
                duration = time.monotonic() - down_since
                spooled = resume_at - outage_at
                say(
                    f"uplink back after {duration:.1f} s; {spooled} messages were spooled meanwhile, draining"
                )
                outage = UplinkOutage(
                    started_at=started,
                    duration_s=round(duration, 2),
                    peak_spool_depth=spooled,
                    drained_after_s=None,
                )
                down_since = 0.0
            devices.publish(publication)
            processes.check_alive()
            sent += 1
            advance(1)
    if outage is not None:
        outage.peak_spool_depth = max(outage.peak_spool_depth, _peak_seen(observer))
        outage.drained_after_s = _wait_drained(observer, processes, reconnected_at, len(stack.stations))
        if outage.drained_after_s is not None:
            say(f"spools empty {outage.drained_after_s:.1f} s after the uplink came back")
    return outage


def _peak_seen(observer: Observer) -> int:
    return sum(observer.spool_depths().values())


def _wait_drained(
    observer: Observer, processes: roles.Processes, since: float, stations: int, timeout_s: float = 60
) -> float | None:
    """Seconds from reconnect until every station's heartbeat (sent after it) shows an empty spool."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        processes.check_alive()
        depths = roles.spool_depths(observer, newer_than=since)
        if len(depths) == stations and not any(depths.values()):
            return round(time.time() - since, 2)
        time.sleep(0.1)
    return None


def _settle(stack: DemoStack, observer: Observer, processes: roles.Processes) -> None:
    """Wait until the spools are empty and InfluxDB's point count has stopped moving."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    last, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        processes.check_alive()
        points = roles.data_points(roles.point_counts(stack))
        if points != last or not roles.gateway_idle(observer):
            last, stable_since = points, time.monotonic()
        elif time.monotonic() - stable_since > 3.0:
            return
        time.sleep(0.5)
    raise DemoError(f"pipeline did not settle in {SETTLE_TIMEOUT_S:.0f} s: {processes.log_tails()}")


def _summarise(
    stack: DemoStack,
    observer: Observer,
    plan: roles.VisitPlan,
    options: DemoOptions,
    started: datetime,
    outage: UplinkOutage | None,
) -> DemoSummary:
    seen = observer.snapshot()
    points = roles.point_counts(stack)
    reading_points = roles.reading_points(points)
    per_station_points = roles.reading_points_by_station(stack)
    alerts = roles.alerts(seen.alerts)
    reasons = observer.dead_letter_reasons()
    per_station = []
    for station in stack.stations:
        per_station.append(
            StationCounts(
                station_id=station,
                visits=plan.visits_by_station.get(station, 0),
                device_messages=plan.messages_by_station.get(station, 0),
                measurements_written=per_station_points.get(station, 0),
                alerts=sum(1 for a in alerts if a.station_id == station),
                dead_letters=sum(1 for d in seen.dead_letters if d.station_id == station),
            )
        )
    finished = datetime.now(UTC)
    return DemoSummary(
        started_at=started,
        finished_at=finished,
        duration_s=round((finished - started).total_seconds(), 1),
        stations=len(stack.stations),
        participants=options.participants,
        days=options.days,
        visits=plan.visits,
        device_messages=plan.device_messages,
        measurements_written=reading_points,
        points_by_measurement=dict(sorted(points.items())),
        dead_letters_by_reason=dict(sorted(reasons.items())),
        alerts=alerts,
        per_station=per_station,
        uplink_outage=outage,
    )


def _write_outputs(stack: DemoStack, summary: DemoSummary, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("trend-*.png"):
        old.unlink()
    for participant in summary.alerted_participants:
        trend = roles.participant_trend(
            stack, participant, [a for a in summary.alerts if a.participant == participant]
        )
        path = plot_trend(trend, out / f"trend-{participant}.png")
        summary.charts.append(path.name)
    (out / "summary.json").write_text(json.dumps(summary.model_dump(mode="json"), indent=2) + "\n")


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops a --keep-running demo as cleanly as Ctrl-C


def _keep_running(stack: DemoStack, processes: roles.Processes, state_dir: Path, say: _Say) -> None:
    assert stack.central is not None and stack.influxdb is not None
    say("services are up; Ctrl-C stops them")
    print(
        f"\n  MQTT (read-only):  mosquitto_sub -h {stack.central.host} -p {stack.central.port} "
        f"-u {OPS_USER} -P '{stack.passwords[OPS_USER]}' -t 'fw/v1/#' -v\n"
        f"  InfluxDB:          curl -sG {stack.influxdb.url}/query --data-urlencode db={roles.DATABASE} "
        "--data-urlencode 'q=SHOW MEASUREMENTS'\n"
        f"  state and logs:    {state_dir}\n"
    )
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        say("stopping")
    finally:
        processes.stop_all()
        stack.stop()
