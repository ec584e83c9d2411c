"""Every dashboard query and every alert rule, run on a real InfluxDB.

The data is line protocol built from grafana.catalog (the gateway's schema module and the
simulator → edge → gateway pipeline had not landed when this was written): two stations, a
declining and a stable participant visiting monthly, heartbeats, device tallies, gateway stats,
dead letters, a reading for every device kind. Each query is interpolated as Grafana would
(grafana.evaluate.substitute) and must return at least one non-empty series. Each alert rule is
evaluated (query → reduce → threshold) on a scenario built to trigger it and on a healthy one.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway import influx_schema
from gateway.influx.routing import split_by_policy
from grafana import alerting
from grafana import catalog as c
from grafana.evaluate import DashboardQuery, Variables, dashboard_queries, evaluate_rule, series, substitute
from grafana.provisioning import write_tree
from runtime.local_servers import InfluxDB
from telemetry.cases import CaseEvent, CaseEventKind, CaseState, Domain, Evidence

STATIONS = ("gwangju-buk-01", "gwangju-seo-02")
DECLINING = "a1" * 16  # pseudonyms are 32 hex characters (telemetry.pseudonym)
STABLE = "b2" * 16
DAY_NS = 86_400 * 10**9
MINUTE_NS = 60 * 10**9


def _tags(**tags: str) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(tags.items()))


def _point(measurement: str, tags: dict[str, str], fields: dict[str, float | int | str], at_ns: int) -> str:
    def value(v: float | int | str) -> str:
        if isinstance(v, str):
            return '"' + v.replace('"', '\\"') + '"'
        if isinstance(v, int):
            return f"{v}i"
        return repr(float(v))

    field_text = ",".join(f"{k}={value(v)}" for k, v in fields.items())
    return f"{measurement},{_tags(**tags)} {field_text} {at_ns}"


def _field_point(field: c.Field, value: float, at_ns: int, **tags: str) -> str:
    return _point(field.measurement, tags, {field.name: value}, at_ns)


# A plausible field per device kind for its readings measurement (names as in telemetry.devices).
READING_FIELDS: dict[str, tuple[str, float]] = {
    "profile": ("birth_year", 1948),
    "vitals": ("systolic_mmhg", 132.0),
    "body_composition": ("weight_kg", 58.4),
    "grip": ("grip_max_kg", 24.0),
    "gait": ("walk_time_s", 4.9),
    "balance": ("hold_time_s", 10.0),
    "sit_to_stand": ("five_rep_time_s", 11.5),
    "tug": ("total_time_s", 10.8),
    "cognition": ("score", 26.0),
    "hrv": ("rr_mean_ms", 820.0),
    "questionnaire": ("kfrail_items", 1.0),
    "health_screening": ("fasting_glucose_mg_dl", 101.0),
}


def _frailty(kfrail: float) -> tuple[str, int]:
    # K-FRAIL: 0 robust, 1-2 pre-frail, 3-5 frail
    if kfrail >= 3:
        return "frail", 2
    return ("pre_frail", 1) if kfrail >= 1 else ("robust", 0)


def visit_lines(participant: str, station: str, at_ns: int, decline: float) -> list[str]:
    """One screening visit; ``decline`` 0 (well) … 1 (much worse) shifts every metric."""
    who = {c.STATION_TAG: station, c.PARTICIPANT_TAG: participant}
    kfrail = round(1 + 3 * decline)
    category, level = _frailty(kfrail)
    lines = [
        _field_point(c.GAIT_SPEED, 1.15 - 0.4 * decline, at_ns, **who),
        _point(
            c.CADENCE.measurement,
            who,
            {c.CADENCE.name: 108 - 15 * decline, c.STRIDE_CV.name: 2.5 + 4 * decline},
            at_ns,
        ),
        _point(
            c.SWAY_AREA.measurement,
            who,
            {c.SWAY_AREA.name: 180 + 300 * decline, c.SWAY_VELOCITY.name: 9 + 8 * decline},
            at_ns,
        ),
        _field_point(c.CHAIR_STAND, 10.5 + 5 * decline, at_ns, **who),
        _point(
            c.GRIP.measurement,
            who,
            {c.GRIP.name: 24 - 6 * decline, c.READING_ID: f"m-grip-{at_ns}", "device_id": "grip-1"},
            at_ns,
        ),
        _point(
            c.SPPB.measurement,
            {**who, c.FRAILTY_CATEGORY_TAG: category},
            {
                c.SPPB.name: 11 - round(4 * decline),
                c.KFRAIL.name: kfrail,
                c.FRAILTY_LEVEL.name: level,
                c.SCORE_INPUTS.name: 8,
            },
            at_ns,
        ),
    ]
    for kind, (name, value) in READING_FIELDS.items():
        if kind != "grip":  # grip's readings measurement already carries grip_max_kg above
            # device_id and message_id are fields in gateway.influx_schema (cardinality), not tags
            fields: dict[str, float | int | str] = {
                name: value,
                c.READING_ID: f"m-{kind}-{at_ns}",
                "device_id": f"{kind}-1",
            }
            lines.append(_point(kind, who, fields, at_ns))
    return lines


def clinical_lines(now_ns: int) -> list[str]:
    lines: list[str] = []
    for month in range(6, 0, -1):
        at = now_ns - month * 30 * DAY_NS
        # the declining participant also visits the second station (cross-station history)
        lines += visit_lines(DECLINING, STATIONS[month % 2], at, decline=(6 - month) / 5)
        lines += visit_lines(STABLE, STATIONS[0], at + 3600 * 10**9, decline=0.0)
    # The decliner's mobility case, opened a month ago at the second station, then acknowledged.
    opened = _case_event(CaseEventKind.OPENED, now_ns - 30 * DAY_NS, now_ns - 30 * DAY_NS + 60 * 10**9)
    lines.append(_case_line(opened))
    acknowledged = opened.model_copy(
        update={
            "event_id": "ac" * 12,
            "event": CaseEventKind.ACKNOWLEDGED,
            "state": CaseState.ACKNOWLEDGED,
            "evidence": None,
            "actor": "kim.s",
            "processed_at": opened.processed_at + timedelta(days=1),
        }
    )
    return [*lines, _case_line(acknowledged)]


def _case_event(
    kind: CaseEventKind, visit_ns: int, processed_ns: int, severity: str = "warning"
) -> CaseEvent:
    at = datetime.fromtimestamp(visit_ns / 1e9, UTC)
    return CaseEvent(
        event_id=hashlib.sha256(f"{kind}{processed_ns}".encode()).hexdigest()[:24],
        case_id="case-" + "5e" * 10,
        participant=DECLINING,
        domain=Domain.MOBILITY,
        event=kind,
        state=CaseState.OPEN,
        severity=severity,  # type: ignore[arg-type]
        at=at,
        processed_at=datetime.fromtimestamp(processed_ns / 1e9, UTC),
        station_id=STATIONS[1],
        visit_id="visit-0000006",
        evidence=Evidence(rule="cusum", statistic=2.4, threshold=1.75, change={"gait_speed_mps": -0.32}),
    )


def _case_line(event: CaseEvent) -> str:
    from gateway.influx.case_log import encode_events

    return encode_events([event]).decode().rstrip("\n")


def fleet_lines(
    now_ns: int,
    *,
    offline: str | None = None,
    lag_s: float = 2.0,
    dead_letters: int = 2,
    silent_s: float = 90.0,
    stale: str | None = None,
    gateway_gone_min: int = 0,
    backlog_s: float | None = None,
    refused_from_min: int | None = None,
) -> list[str]:
    """An hour of fleet data, one heartbeat a minute per station and one gateway stats point a
    minute. ``offline``: that agent stopped 55 min ago and its Last Will says so; ``stale``: its
    heartbeats stop 12 minutes ago with no Last Will (a hung agent); ``gateway_gone_min``: the
    gateway's stats end that many minutes ago; ``backlog_s``: the first station's oldest spooled
    reading waits that long; ``refused_from_min``: its spool refuses readings from then on."""
    lines: list[str] = []
    for station in STATIONS:
        # a stopped agent's heartbeats end early
        last = 55 if station == offline else 12 if station == stale else 0
        for minute in range(60, last, -1):
            at = now_ns - minute * MINUTE_NS
            first = station == STATIONS[0]
            refused = refused_from_min is not None and first and minute <= refused_from_min
            lines.append(
                _point(
                    c.HEARTBEAT,
                    {c.STATION_TAG: station},
                    {
                        c.SPOOL_DEPTH.name: minute % 7,
                        c.SPOOL_OLDEST.name: backlog_s if backlog_s and first else float(minute % 5),
                        c.UPTIME.name: 3600.0 - 60 * minute,
                        # The station's follow-up funnel as its page counts it.
                        c.CASES_OPENED.name: 4,
                        c.CASES_LINKED.name: 2,
                        c.CASES_FOLLOWED_UP.name: 1,
                        c.OVERDUE_FOLLOW_UPS.name: minute % 3,
                        c.SPOOL_FULL_REFUSED.name: 12 if refused else 0,
                    },
                    at,
                )
            )
            lines.append(
                _point(
                    "station_device",
                    {c.STATION_TAG: station, "device_id": "grip-1", "device_kind": "grip"},
                    {
                        c.DEVICE_MESSAGES.name: 60 - minute,
                        c.DEVICE_SILENT.name: silent_s if station == STATIONS[0] else 30.0,
                    },
                    at,
                )
            )
        lines.append(_field_point(c.STATION_ONLINE, 1, now_ns - 61 * MINUTE_NS, **{c.STATION_TAG: station}))
        if station == offline:  # the broker published the agent's Last Will
            lines.append(
                _field_point(c.STATION_ONLINE, 0, now_ns - 54 * MINUTE_NS, **{c.STATION_TAG: station})
            )
    for minute in range(30, gateway_gone_min, -1):
        at = now_ns - minute * MINUTE_NS
        lines.append(
            _point(
                "gateway_stats",
                {c.GATEWAY_TAG: "gateway-1"},
                {
                    c.MESSAGES_TOTAL.name: 40 * 60 * (31 - minute),
                    c.MESSAGES_RATE.name: 40.0,
                    c.INGEST_LAG.name: lag_s if minute <= 3 else 1.0,
                    c.WRITE_LATENCY.name: 12.0,
                    c.WRITE_RETRIES.name: minute % 3,
                },
                at,
            )
        )
    for i in range(dead_letters):
        lines.append(
            _point(
                "dead_letter",
                {
                    c.STATION_TAG: STATIONS[0],
                    "reason": "out_of_range" if i % 2 else "malformed_json",
                    "source": "gateway",
                },
                {c.DEAD_LETTER_SIZE.name: 300 + i, "detail": "refused"},
                now_ns - (i + 1) * 20 * 10**9,  # distinct times: same time and tags would overwrite
            )
        )
    return lines


def now_ns() -> int:
    return time.time_ns()


@dataclass
class Database:
    """A database made by `frailwatch influx init`, written to as the gateway's writer does: each
    point into its measurement's retention policy (operational ones into "ops")."""

    server: InfluxDB
    name: str

    def run(self, q: str) -> dict[str, Any]:
        return self.server.query(q, self.name)

    def write(self, lines: list[str]) -> None:
        body = ("\n".join(lines) + "\n").encode()
        for policy, part in split_by_policy(body, influx_schema.NON_DEFAULT_POLICIES):
            self.server.write(part, self.name, rp=policy)


@contextmanager
def database(server: InfluxDB) -> Iterator[Database]:
    name = f"grafana_{uuid.uuid4().hex[:10]}"
    server.init_frailwatch(name)
    try:
        yield Database(server, name)
    finally:
        server.query(f'DROP DATABASE "{name}"', method="POST")


@pytest.fixture(scope="module")
def filled(influxdb_server: InfluxDB) -> Iterator[tuple[Database, int]]:
    """One database with the whole healthy scenario, shared by the query tests."""
    name = f"grafana_{uuid.uuid4().hex[:10]}"
    influxdb_server.init_frailwatch(name)
    db = Database(influxdb_server, name)
    now = now_ns()
    db.write(clinical_lines(now) + fleet_lines(now))
    yield db, now
    influxdb_server.query(f'DROP DATABASE "{name}"', method="POST")


def _built_dashboards(tmp: Path) -> dict[str, dict[str, Any]]:
    write_tree(tmp / "provisioning", "en")
    return {p.stem: json.loads(p.read_text()) for p in (tmp / "provisioning" / "dashboards").rglob("*.json")}


DASHBOARD_QUERIES: list[DashboardQuery] = [
    query
    for name, board in _built_dashboards(Path(tempfile.mkdtemp())).items()
    for query in dashboard_queries(name, board)
]


def test_every_dashboard_has_queries() -> None:
    boards = {q.dashboard for q in DASHBOARD_QUERIES}
    assert boards == {"fleet", "station", "participant", "cross_station", "alerts"}
    assert len(DASHBOARD_QUERIES) >= 35


@pytest.mark.parametrize("item", DASHBOARD_QUERIES, ids=lambda q: f"{q.dashboard}:{q.where}")
def test_dashboard_query_returns_series(item: DashboardQuery, filled: tuple[Database, int]) -> None:
    db, now = filled
    variables = Variables(
        start_ms=(now - 400 * DAY_NS) // 10**6,
        end_ms=now // 10**6,
        interval="1d",
        stations=STATIONS,
        pseudonym=DECLINING,
    )
    answer = db.run(substitute(item.query, variables))
    found = [s for s in series(answer) if s.get("values")]
    assert found, f"{item.dashboard} {item.where} returned nothing: {substitute(item.query, variables)}"


def test_pseudonym_variable_lists_participants_of_selected_station(filled: tuple[Database, int]) -> None:
    db, now = filled
    variable = next(q for q in DASHBOARD_QUERIES if q.dashboard == "participant" and "pseudonym" in q.where)
    only_second = Variables(start_ms=0, end_ms=now // 10**6, stations=(STATIONS[1],))
    values = {row[1] for s in series(db.run(substitute(variable.query, only_second))) for row in s["values"]}
    assert values == {DECLINING}  # the stable participant never visited the second station


def test_participant_trend_spans_both_stations(filled: tuple[Database, int]) -> None:
    db, now = filled
    gait = next(q for q in DASHBOARD_QUERIES if q.dashboard == "participant" and c.GAIT_SPEED.name in q.query)
    v = Variables(start_ms=(now - 400 * DAY_NS) // 10**6, end_ms=now // 10**6, pseudonym=DECLINING)
    found = series(db.run(substitute(gait.query, v)))
    assert {s["tags"][c.STATION_TAG] for s in found} == set(STATIONS)
    speeds = sorted((row[0], row[1]) for s in found for row in s["values"])
    assert speeds[0][1] > speeds[-1][1]  # declining


# --- alert rules ------------------------------------------------------------------------------


RULES = {spec.uid: spec for spec in alerting.all_rules()}
Scenario = Callable[[int], list[str]]


def _escalated_late(now: int) -> list[str]:
    """The case escalates now on a visit measured a month ago that reached the centre only now."""
    return [
        *clinical_lines(now),
        _case_line(_case_event(CaseEventKind.ESCALATED, now - 30 * DAY_NS, now - 4 * MINUTE_NS, "critical")),
    ]


def _updated_now(now: int) -> list[str]:
    """New evidence for the open case now: an update, which does not notify."""
    return [
        *clinical_lines(now),
        _case_line(_case_event(CaseEventKind.UPDATED, now - 4 * MINUTE_NS, now - 3 * MINUTE_NS)),
    ]


# rule uid: (triggering scenario, healthy scenario, labels the firing instance must carry)
SCENARIOS: dict[str, tuple[Scenario, Scenario, dict[str, str]]] = {
    "fw-case-notice": (
        _escalated_late,
        _updated_now,
        {
            c.PARTICIPANT_TAG: DECLINING,
            "domain": "mobility",
            "severity": "critical",
            "case_id": "case-" + "5e" * 10,
        },
    ),
    "fw-station-offline": (
        lambda now: fleet_lines(now, offline=STATIONS[1]),
        fleet_lines,
        {c.STATION_TAG: STATIONS[1]},
    ),
    "fw-device-silent": (
        lambda now: fleet_lines(now, silent_s=3 * 3600.0),
        fleet_lines,
        {c.STATION_TAG: STATIONS[0], "device_id": "grip-1"},
    ),
    "fw-gateway-lag": (lambda now: fleet_lines(now, lag_s=95.0), fleet_lines, {c.GATEWAY_TAG: "gateway-1"}),
    "fw-dead-letter-spike": (
        lambda now: fleet_lines(now, dead_letters=alerting.DEAD_LETTER_SPIKE + 10),
        fleet_lines,
        {c.STATION_TAG: STATIONS[0]},
    ),
    "fw-gateway-silent": (
        lambda now: fleet_lines(now, gateway_gone_min=12),
        fleet_lines,
        {c.GATEWAY_TAG: "gateway-1"},
    ),
    "fw-influxdb-silent": (lambda now: fleet_lines(now, gateway_gone_min=12), fleet_lines, {}),
    "fw-heartbeat-stale": (
        lambda now: fleet_lines(now, stale=STATIONS[1]),
        fleet_lines,
        {c.STATION_TAG: STATIONS[1]},
    ),
    "fw-spool-backlog": (
        lambda now: fleet_lines(now, backlog_s=alerting.SPOOL_BACKLOG_S + 600.0),
        fleet_lines,
        {c.STATION_TAG: STATIONS[0]},
    ),
    "fw-spool-full": (
        lambda now: fleet_lines(now, refused_from_min=3),
        fleet_lines,
        {c.STATION_TAG: STATIONS[0]},
    ),
}


def test_every_rule_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(RULES)


@pytest.mark.parametrize("uid", sorted(SCENARIOS))
def test_rule_fires_on_its_scenario_and_not_when_healthy(uid: str, influxdb_server: InfluxDB) -> None:
    spec = RULES[uid]
    trigger, healthy, labels = SCENARIOS[uid]
    outcomes = {}
    for name, scenario in (("trigger", trigger), ("healthy", healthy)):
        with database(influxdb_server) as db:
            now = now_ns()
            db.write(scenario(now))
            outcomes[name] = evaluate_rule(spec, db.run, now // 10**6)
    firing = [i for i in outcomes["trigger"] if i.firing]
    assert firing, f"{uid} did not fire on its scenario: {outcomes['trigger']}"
    assert any(labels.items() <= i.labels.items() for i in firing), (labels, firing)
    # the healthy scenario has data for the rule (not "no data") and nothing fires
    if uid != "fw-case-notice":  # no recent opening or escalation is exactly "no series" for that rule
        assert [i for i in outcomes["healthy"] if not i.reason], f"{uid}: the healthy scenario gave no data"
    assert not [i for i in outcomes["healthy"] if i.firing], outcomes["healthy"]


def test_when_nothing_arrives_the_gateway_and_influxdb_rules_fire(influxdb_server: InfluxDB) -> None:
    """An initialised database that nothing is written to (no gateway ever ran, or all are
    dead): the rules for whom no data means a dead component fire on it — after their pending
    period, evaluated minute by minute — and no other rule fires."""
    with database(influxdb_server) as db:
        now = now_ns() // 10**6
        firing = {
            uid: [i for i in evaluate_rule(spec, db.run, now) if i.firing] for uid, spec in RULES.items()
        }
    assert {uid for uid, fired in firing.items() if fired} == {"fw-gateway-silent", "fw-influxdb-silent"}
    assert all(i.reason == "NoData" and i.labels == {} for uid in firing for i in firing[uid])


def test_a_dead_influxdb_fires_the_influxdb_rule_and_only_it(
    influxdb_factory: Callable[[], InfluxDB],
) -> None:
    """InfluxDB stopped: every query fails. fw-influxdb-silent alerts on the error; every other
    rule keeps its last state (one alert for one outage, not an error per rule)."""
    server = influxdb_factory()
    server.init_frailwatch("fw")
    db = Database(server, "fw")
    now = now_ns()
    db.write(fleet_lines(now))
    assert not [i for i in evaluate_rule(RULES["fw-influxdb-silent"], db.run, now // 10**6) if i.firing]
    server.stop()
    outcomes = {uid: evaluate_rule(spec, db.run, now // 10**6) for uid, spec in RULES.items()}
    fired = {uid for uid, instances in outcomes.items() if any(i.firing for i in instances)}
    assert fired == {"fw-influxdb-silent"}
    assert all(i.reason == "Error" for instances in outcomes.values() for i in instances)


def test_spool_refusals_during_an_outage_fire_when_their_heartbeats_arrive(influxdb_server: InfluxDB) -> None:
    """Heartbeats stop during a 3-hour uplink outage; the first ones after it carry the refusals
    made meanwhile: the rule sees the rise across the gap. An agent restart (counter back to 0)
    is no rise."""
    spec = RULES["fw-spool-full"]
    station = {c.STATION_TAG: STATIONS[0]}
    results = {}
    for name, before, after in (("outage", 0, 7), ("restart", 5, 0)):
        with database(influxdb_server) as db:
            now = now_ns()
            lines = [
                _point(c.HEARTBEAT, station, {c.SPOOL_FULL_REFUSED.name: before}, now - m * MINUTE_NS)
                for m in range(240, 200, -1)
            ] + [
                _point(c.HEARTBEAT, station, {c.SPOOL_FULL_REFUSED.name: after}, now - m * MINUTE_NS)
                for m in range(4, 0, -1)
            ]
            db.write(lines)
            results[name] = [(i.labels, i.firing) for i in evaluate_rule(spec, db.run, now // 10**6)]
    assert results == {"outage": [(station, True)], "restart": [(station, False)]}


def test_a_fresh_heartbeat_bucket_is_not_a_stale_station(influxdb_server: InfluxDB) -> None:
    """Evaluated seconds after a 5-minute bucket began, before the next heartbeat: that newest
    bucket is empty, yet the rule does not fire — its pending period never holds through it."""
    spec = RULES["fw-heartbeat-stale"]
    with database(influxdb_server) as db:
        bucket_ns = 5 * MINUTE_NS
        start = (now_ns() // bucket_ns) * bucket_ns - bucket_ns  # the previous bucket's start
        at = start + bucket_ns + 10 * 10**9  # 10 s into the current bucket
        station = {c.STATION_TAG: STATIONS[0]}
        db.write(
            [
                _point(c.HEARTBEAT, station, {c.UPTIME.name: 1.0 * k}, at - 20 * 10**9 - k * 30 * 10**9)
                for k in range(60)
            ]
        )
        now_state = [i for i in evaluate_rule(replace(spec, pending="0s"), db.run, at // 10**6)]
        assert [i.value for i in now_state] == [0.0], "the newest bucket is empty at that moment"
        assert not [i for i in evaluate_rule(spec, db.run, at // 10**6) if i.firing]


def test_substitute_refuses_unknown_variables() -> None:
    with pytest.raises(ValueError, match=r"\$unknown"):
        substitute("SELECT x FROM y WHERE a = '$unknown'", Variables(start_ms=0, end_ms=1))


def test_station_offline_waits_for_its_pending_period(influxdb_server: InfluxDB) -> None:
    """An agent that stopped 3 minutes ago is not yet an alert; after 12 minutes it is."""
    spec = RULES["fw-station-offline"]
    results = {}
    for minutes_ago in (3, 12):
        with database(influxdb_server) as db:
            now = now_ns()
            station = {c.STATION_TAG: STATIONS[0]}
            db.write(
                [
                    _field_point(c.STATION_ONLINE, 1, now - 2 * 3600 * 10**9, **station),
                    _field_point(c.STATION_ONLINE, 0, now - minutes_ago * MINUTE_NS, **station),
                ]
            )
            (instance,) = evaluate_rule(spec, db.run, now // 10**6)
            results[minutes_ago] = instance.firing
    assert results == {3: False, 12: True}


def test_case_annotation_columns_exist_in_its_result(filled: tuple[Database, int]) -> None:
    """Grafana builds each annotation's text and tags from named columns (tags become columns)."""
    db, now = filled
    board = _built_dashboards(Path(tempfile.mkdtemp()))["participant"]
    (annotation,) = board["annotations"]["list"]
    target = annotation["target"]
    v = Variables(start_ms=(now - 400 * DAY_NS) // 10**6, end_ms=now // 10**6, pseudonym=DECLINING)
    found = series(db.run(substitute(target["query"], v)))
    assert found
    wanted = {target["textColumn"], *target["tagsColumn"].split(",")}
    for one in found:
        assert wanted <= set(one["columns"]) | set(one.get("tags", {})), (wanted, one)
