"""The demo from start to finish: servers, gateway, stations, simulated visits, outage, summary.

Every moving part is the real one: Debian's Mosquitto and InfluxDB, the gateway and edge agents
started through ``frailwatch gateway``/``frailwatch edge`` as an operator would, devices
publishing raw readings on each station's own broker. See :mod:`demo.roles` for the
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
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from demo import checks, outcomes, roles
from demo import stations as station_pages
from demo.charts import plot_trend
from demo.observer import Observer
from demo.processes import RoleFailed
from demo.report import depths_line, print_summary
from demo.stack import OPS_USER, DemoStack, station_ids
from demo.summary import DemoSummary, SimulatedPerson, StationCounts, UplinkOutage
from runtime.local_servers import ServiceError

OUTAGE_AT = 0.35  # share of the device messages published before the uplink goes down
OUTAGE_MIN_S = 4.0  # long enough that every station spools while the broker is away
SETTLE_TIMEOUT_S = 120.0


class DemoError(RuntimeError):
    """The demo could not run to the end; the message says which part failed."""


class DemoOptions(BaseModel):
    stations: int = Field(3, ge=1, le=20)
    # 20 people × 12 monthly visits: as many visits as 40 × 6 (the same run time), and a year is what
    # the case detector needs to judge the simulated declines — three visits of baseline, and up to
    # 12 months for a gradual decline to develop (README: "The local demo in detail").
    participants: int = Field(20, ge=1, le=5000)
    days: int = Field(360, ge=1, le=3650)
    decline_fraction: float = Field(0.4, ge=0.0, le=1.0)
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
    stack = DemoStack(state_dir, stations)
    with contextlib.ExitStack() as cleanup:
        if own_state and not options.keep_running:
            cleanup.callback(shutil.rmtree, state_dir, True)
        cleanup.callback(stack.stop)
        say(f"starting Mosquitto and InfluxDB in {state_dir}")
        stack.start()
        assert stack.central is not None and stack.influxdb is not None
        roles.init_database(stack)
        say(f"planning {options.days} days of visits for {options.participants} participants")
        plan = roles.plan_visits(
            stations, options.participants, options.days, options.seed, options.decline_fraction
        )
        pages = station_pages.prepare(stack, plan.member_ids())
        # The stations' local names are raw identifiers too: they must stay on the station boxes.
        scanner = checks.IdentifierScanner(plan.raw_identifiers() | set(pages.names.values()))
        observer = Observer(stack.central.host, stack.central.port, stack.passwords[OPS_USER])
        observer.start()
        cleanup.callback(observer.stop)

        say("starting the gateway")
        processes = roles.Processes(state_dir)
        cleanup.callback(processes.stop_all)
        gateway = roles.start_gateway(stack, processes)
        say(f"starting {len(stations)} edge agents: {', '.join(stations)}")
        pseudonym_key = secrets.token_hex(32)  # demo-only; a deployment keeps one key for good
        for station in stations:
            roles.start_edge(stack, station, processes, pseudonym_key, pages.env(station))
        _wait_online(observer, stations, processes)
        _wait_stations(stack, pages, processes)
        # Not one device message before the gateway's subscription exists: the broker would hand
        # it to nobody (the edge's "no matching subscribers" check sees only an empty broker).
        _wait_gateway(gateway, processes)

        say(
            f"sending {plan.visits} visits: {plan.device_messages} device messages, "
            f"{plan.faults} of them deliberately faulty"
        )
        outage = _publish(stack, plan, say, options.outage, observer, processes)
        say("waiting for the spools to drain and the gateway to finish writing")
        _settle(stack, observer, processes)
        summary = _summarise(stack, observer, plan, options, started, outage)
        people = roles.simulated_people(plan, pseudonym_key)
        outcomes.count(summary, people)  # the cases against the simulator's truth
        say("checking the station pages: result pages, the printed report, counsellor actions, follow-up")
        open_cases = [(c.case_id, c.participant) for c in summary.cases if c.state == "open"]
        summary.station_pages = station_pages.check(stack, pages, pseudonym_key, open_cases, say)
        say("checking InfluxDB against what was sent, and looking for raw identifiers everywhere")
        influx_scan = checks.scan_influxdb(stack, scanner)
        if not options.keep_running:
            processes.stop_all()  # their last log lines too are scanned
        log_scan = checks.scan_files(sorted(state_dir.rglob("*.log")), scanner)
        text = _summary_json(summary)  # scanned before the privacy result goes in
        summary.privacy = checks.privacy(
            scanner,
            influxdb=influx_scan,
            logs=log_scan,
            outputs=(len(scanner.hits(text)), len(text)),
        )
        _write_outputs(stack, summary, options.out, started, {p.pseudonym: p for p in people})
        print_summary(summary, options.out)
        if options.keep_running:
            cleanup.pop_all()
            _keep_running(stack, processes, state_dir, say, pages)
    problems = summary.problems
    if problems:
        raise DemoError("the run's own checks failed: " + "; ".join(problems))
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


def _wait_stations(
    stack: DemoStack, pages: station_pages.StationSetup, processes: roles.Processes, timeout_s: float = 60
) -> None:
    """Every agent subscribed at its station broker and its page answering."""
    deadline = time.monotonic() + timeout_s
    waiting = list(stack.stations)
    while waiting and time.monotonic() < deadline:
        processes.check_alive()
        waiting = [
            s for s in waiting if not (roles.edge_ready(stack, s) and station_pages.page_answers(pages, s))
        ]
        if waiting:
            time.sleep(0.2)
    if waiting:
        raise DemoError(
            f"stations {', '.join(waiting)} not ready after {timeout_s:.0f} s: {processes.log_tails()}"
        )


def _wait_gateway(gateway: roles.GatewayProbe, processes: roles.Processes, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        processes.check_alive()
        if gateway.connected():
            return
        time.sleep(0.1)
    raise DemoError(f"gateway not subscribed after {timeout_s:.0f} s: {processes.log_tails()}")


def _publish(
    stack: DemoStack,
    plan: roles.VisitPlan,
    say: _Say,
    with_outage: bool,
    observer: Observer,
    processes: roles.Processes,
) -> UplinkOutage | None:
    """Send every device message to its station broker; take the uplink away once on the way and
    watch the spools drain before measuring on."""
    assert stack.central is not None
    outage_at = int(plan.device_messages * OUTAGE_AT) if with_outage else -1
    resume_at = int(plan.device_messages * (OUTAGE_AT + 0.2))
    outage: UplinkOutage | None = None
    down_since = 0.0
    started = datetime.now(UTC)
    sent = 0
    by_station: dict[str, int] = {}
    filling: list[tuple[float, int]] = []
    with roles.DevicePublisher(stack) as devices, say.bar(plan.device_messages, "device messages") as advance:
        for publication in plan.publications():
            if sent == outage_at:
                devices.flush()
                # The outage starts with the stations' intake caught up: the readings sent so far
                # are spooled (or dead-lettered, and that letter went out) before the link drops.
                _wait_intake(observer, processes, by_station)
                say("uplink down: central broker stopped; the stations keep measuring into their spools")
                down_since, started = time.monotonic(), datetime.now(UTC)
                stack.central.stop()
            if down_since and sent == resume_at:
                devices.flush()  # everything sent while down is now in the stations' spools
                _wait_intake(observer, processes, by_station, heartbeats=False)
                filling += _sample_spools(stack, down_since + OUTAGE_MIN_S, t0=down_since)
                stack.central.start()
                duration = time.monotonic() - down_since
                say(f"uplink back after {duration:.1f} s; {resume_at - outage_at} readings arrived meanwhile")
                say(f"spooled on the stations' disks meanwhile: {depths_line(filling, 'not readable')}")
                outage = _watch_drain(stack, observer, processes, say)
                outage.started_at, outage.duration_s = started, round(duration, 2)
                outage.readings_during_outage = resume_at - outage_at
                outage.filling = filling
                down_since = 0.0
            elif down_since:
                # The devices keep measuring through the outage, spread over most of it.
                share = (sent - outage_at) / max(1, resume_at - outage_at)
                time.sleep(max(0.0, down_since + 0.8 * OUTAGE_MIN_S * share - time.monotonic()))
                if time.monotonic() - (filling[-1][0] + down_since if filling else down_since) >= 0.5:
                    filling += _sample_spools(stack, 0.0, t0=down_since)
            devices.publish(publication)
            processes.check_alive()
            sent += 1
            by_station[publication.station] = by_station.get(publication.station, 0) + 1
            advance(1)
    _wait_intake(observer, processes, by_station)
    return outage


def _wait_intake(
    observer: Observer,
    processes: roles.Processes,
    sent: dict[str, int],
    timeout_s: float = 120,
    heartbeats: bool = True,
) -> None:
    """Until every station's heartbeat counts each reading its devices sent (accepted or refused).
    With the uplink down (no heartbeats) only the station brokers' queues can be waited for."""
    if not heartbeats:
        time.sleep(0.5)  # the agents take a few hundred readings a second from their local broker
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        processes.check_alive()
        taken = roles.intake_counts(observer)
        if all(taken.get(station, 0) >= n for station, n in sent.items()):
            return
        time.sleep(0.1)
    raise DemoError(f"station intake did not catch up in {timeout_s:.0f} s: {processes.log_tails()}")


def _sample_spools(
    stack: DemoStack, until: float, t0: float, every_s: float = 0.5
) -> list[tuple[float, int]]:
    """Total spool depth every ``every_s`` until ``until`` (monotonic; at least once), as
    (seconds since ``t0``, depth)."""
    samples: list[tuple[float, int]] = []
    while True:
        depth = roles.station_spool_depths(stack)
        if depth is not None:
            samples.append((round(time.monotonic() - t0, 2), depth))
        if time.monotonic() >= until:
            return samples
        time.sleep(min(every_s, max(0.0, until - time.monotonic())))


def _watch_drain(
    stack: DemoStack, observer: Observer, processes: roles.Processes, say: _Say, timeout_s: float = 60
) -> UplinkOutage:
    """The stations' spools from the broker's return until empty, then every uplink's heartbeat."""
    since, t0 = time.time(), time.monotonic()
    samples: list[tuple[float, int]] = []
    drained: float | None = None
    while time.monotonic() - t0 < timeout_s:
        processes.check_alive()
        depth = roles.station_spool_depths(stack)
        if depth is not None and (not samples or samples[-1][1] != depth):
            samples.append((round(time.monotonic() - t0, 2), depth))
        if depth == 0 and drained is None:
            drained = round(time.monotonic() - t0, 2)
        # Every station has reported over its restored uplink: measuring may go on.
        if drained is not None and len(roles.spool_depths(observer, newer_than=since)) == len(stack.stations):
            break
        time.sleep(0.05)
    say(
        f"spool depth over all stations: {depths_line(samples, 'not readable')}"
        + (
            f" (empty {drained:.1f} s after the broker came back)"
            if drained is not None
            else " (not drained)"
        )
    )
    return UplinkOutage(
        started_at=datetime.now(UTC),
        duration_s=0.0,
        readings_during_outage=0,
        peak_spool_depth=max((depth for _, depth in samples), default=0),
        drained_after_s=drained,
        drain=samples,
    )


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
    cases = roles.cases(seen.case_events)
    reasons = observer.dead_letter_reasons()
    per_station = []
    for station in stack.stations:
        per_station.append(
            StationCounts(
                station_id=station,
                visits=plan.visits_by_station.get(station, 0),
                device_messages=plan.messages_by_station.get(station, 0),
                measurements_written=per_station_points.get(station, 0),
                cases=sum(1 for c in cases if c.station_id == station),
                participants_with_case=len({c.participant for c in cases if c.station_id == station}),
                faults_injected=plan.faults_by_station.get(station, 0),
                dead_letters=sum(1 for d in seen.dead_letters if d.station_id == station),
            )
        )
    consistency = checks.consistency(
        stack,
        genuine_messages=plan.genuine_messages,
        faults_injected=plan.faults,
        reading_measurements=roles.READING_MEASUREMENTS,
        dead_letters_seen=len(seen.dead_letters),
        case_events_seen=len({e.event_id for e in seen.case_events}),
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
        cases=cases,
        cases_per_participant=dict(sorted(Counter(c.participant for c in cases).items())),
        per_station=per_station,
        uplink_outage=outage,
        consistency=consistency,
    )


def _write_outputs(
    stack: DemoStack,
    summary: DemoSummary,
    out: Path,
    started: datetime,
    truth: dict[str, SimulatedPerson],
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("trend-*.png"):
        old.unlink()
    for participant in summary.participants_with_case:
        trend = roles.participant_trend(
            stack, participant, [c for c in summary.cases if c.participant == participant]
        )
        trend.simulated = truth.get(participant)
        path = plot_trend(trend, out / f"trend-{participant}.png")
        summary.charts.append(path.name)
    summary.finished_at = datetime.now(UTC)
    summary.duration_s = round((summary.finished_at - started).total_seconds(), 1)
    (out / "summary.json").write_text(_summary_json(summary))


def _summary_json(summary: DemoSummary) -> str:
    return json.dumps(summary.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops a --keep-running demo as cleanly as Ctrl-C


def _keep_running(
    stack: DemoStack,
    processes: roles.Processes,
    state_dir: Path,
    say: _Say,
    pages: station_pages.StationSetup,
) -> None:
    assert stack.central is not None and stack.influxdb is not None
    say("services are up; Ctrl-C stops them")
    print(
        f"\n  MQTT (read-only):  mosquitto_sub -h {stack.central.host} -p {stack.central.port} "
        f"-u {OPS_USER} -P '{stack.passwords[OPS_USER]}' -t 'fw/v1/#' -v\n"
        f"  InfluxDB:          curl -sG {stack.influxdb.url}/query --data-urlencode db={roles.DATABASE} "
        "--data-urlencode 'q=SHOW MEASUREMENTS'\n"
        f"  state and logs:    {state_dir}\n"
        + "".join(
            f"  station page:      {pages.base(station)}/  ({station_pages.COUNSELLOR} / {pages.password})\n"
            for station in stack.stations
        )
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
