"""Every dashboard query and alert rule on what the real pipeline writes.

Once per module: a seeded cohort from ``edge.simulate`` (half of it declining, some roaming between
two stations, raw IMU and centre-of-pressure recordings, every value with realistic measurement
error) is published by station devices to two
station brokers → two ``frailwatch edge run`` agents → the central broker → ``frailwatch gateway
run`` → InfluxDB, plus a few bad readings that become dead letters at the edge and at the gateway.
The visits are re-timed to a screening day that is happening now (each participant's earlier
visits monthly before, back to six months), so the dashboards' own default time ranges and the alert
rules' short windows see them, as they would in operation.

Then every panel target, variable and annotation of every generated dashboard is interpolated the
way Grafana does (grafana.evaluate) with the dashboard's own time range and interval, and run; the
alert rules are evaluated query → reduce → threshold. What the case panels and the case rule show is
checked against the case-event log the pipeline wrote (who has a case is the detector's verdict on
noisy data; tests/test_cases_pipeline.py and test_gateway_e2e.py judge that against the truth).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from edge.simulate.cohort import Cohort, DeviceMessage, Truth
from gateway.influx import case_log
from gateway.influx.transport import V1Transport
from grafana import alerting
from grafana import catalog as c
from grafana.dashboards import build_all
from grafana.evaluate import (
    Instance,
    Variables,
    dashboard_queries,
    evaluate_rule,
    non_null_values,
    series,
    substitute,
)
from grafana.provisioning import dashboard_json
from processing.cases import fold
from runtime.local_servers import InfluxDB
from telemetry.cases import CaseEvent, CaseState, Domain
from telemetry.pseudonym import pseudonymise
from tests._brokers import Brokers
from tests._drill_support import PSEUDONYM_KEY, EdgeStandIn, Role, edge_env, wait_until
from tests._gateway_support import Central, start_central
from tests._simulate_support import surely_found

pytestmark = pytest.mark.drill

STATIONS = ("gj-01", "gj-02")
KEY = PSEUDONYM_KEY.encode()
PSEUDONYM = re.compile(r"^[0-9a-f]{32}$")
VISIT_EVERY = timedelta(days=30)


@dataclass
class Run:
    """The pipeline after it settled: the database, the cohort's truth, the running agents."""

    central: Central
    truths: list[Truth]
    messages: list[DeviceMessage]
    raw_identifiers: set[str]  # member ids, resident numbers, names, phones the devices sent
    agents: dict[str, Role]
    now_ms: int

    @property
    def everyone(self) -> set[str]:
        return {pseudonymise(KEY, t.member_id) for t in self.truths}

    @property
    def with_case(self) -> set[str]:
        """Participants the log says have a case (opened), whatever the simulator made them."""
        return {c.participant for c in fold(self.log()).values()}

    @property
    def with_open_case(self) -> set[str]:
        return {c.participant for c in fold(self.log()).values() if c.state is not CaseState.RESOLVED}

    def log(self) -> list[CaseEvent]:
        transport = V1Transport(self.central.influx.url, self.central.database)
        try:
            return case_log.read(transport)
        finally:
            transport.close()

    def run(self, query: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.central.influx.query(query, self.central.database)
        return answer


def _retimed(cohort: Cohort, today: datetime) -> tuple[list[Truth], list[DeviceMessage]]:
    """The cohort's visits as if each participant's last visit were part of a screening session
    happening now: visits 30 days apart, the last one about now; within a visit,
    one reading every second (the simulator spaces them 2 minutes, which would push the last
    visit's readings out of the rules' 15-minute window or into the future)."""
    by_participant: dict[str, list[Any]] = {}
    for visit in cohort.visits():
        by_participant.setdefault(visit[0].member_id, []).append(visit)
    truths: list[Truth] = []
    timed: list[tuple[datetime, DeviceMessage]] = []
    for n, visits in enumerate(by_participant.values()):
        # Readings measured about when they are published (as station devices do), so the ingest
        # lag the gateway reports for this session's visits is the pipeline's own.
        last = today - timedelta(seconds=30 - 4 * n)
        for p, visit, station, _at in visits:
            at = last - (len(visits) - 1 - visit) * VISIT_EVERY
            truth, messages = cohort.messages(p, visit, station, at)
            truths.append(truth)
            for j, m in enumerate(messages):
                measured = at + timedelta(seconds=j)
                document = {**m.document, "measured_at": measured.isoformat()}
                timed.append((measured, DeviceMessage(m.station_id, m.topic, document)))
    timed.sort(key=lambda item: item[0])
    return truths, [m for _, m in timed]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, influxdb_server: InfluxDB) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("grafana-pipeline")
    broker = Brokers(tmp)

    central = start_central(broker, influxdb_server, tmp, stations=STATIONS)
    agents: dict[str, Role] = {}
    try:
        central.gateway()
        station_brokers = {s: broker(name=f"station-{s}") for s in STATIONS}
        for s in STATIONS:
            env = edge_env(s, station_brokers[s], central.broker, central.passwords[s], tmp / f"spool-{s}")
            agents[s] = Role(f"edge-{s}", ["edge", "run"], env, tmp).start()
        central.wait_subscribed()
        cohort = Cohort(
            # Seven visits each: the case detector wants a baseline of three before it judges.
            # Seed 14: two substantial mobility step decliners, both seen at both stations (the
            # decline-rates benchmark finds ≥ 95 % of these), so the case panels have data.
            participants=6,
            stations=list(STATIONS),
            days=210,
            decline_fraction=0.5,
            seed=14,
            recordings=True,
        )
        truths, messages = _retimed(cohort, datetime.now(UTC))
        must_find = surely_found(cohort, truths, KEY)
        assert must_find and {t.declining for t in truths} == {True, False}, "the seed must give both"
        for s in STATIONS:
            devices = EdgeStandIn(station_brokers[s].host, station_brokers[s].port)
            devices.send(
                [(m.topic, json.dumps(m.document).encode()) for m in messages if m.station_id == s]
                + [("fwdev/v1/grip/grip-broken", b'{"participant_id": "M1000000", "payload": ')],
                timeout_s=90,
            )
            devices.close()
        # A reading that reaches the central broker with a station's credentials but is not a
        # contract message: the gateway's own dead letter (source=gateway).
        forged = central.edge(STATIONS[0])
        forged.send([(f"fw/v1/{STATIONS[0]}/data/grip/grip-x", b"not json")], timeout_s=20)
        forged.close()

        visits = len(truths)

        def settled() -> bool:
            events = central.rows('SELECT "event_id", "participant" FROM "case_event"')
            stations_beating = central.rows(
                'SELECT last("uptime_s") FROM "ops"."station_heartbeat" GROUP BY *'
            )
            return (
                central.count("frailty", "inputs") >= visits
                and central.count("frailty", "sppb_total") >= visits  # every visit complete
                and central.count("tug_features", "message_id") >= visits
                and set(must_find) <= {r["participant"] for r in events}
                and central.count("dead_letter", "size_bytes") >= 3
                and len(stations_beating) == len(STATIONS)
                and central.count("gateway_stats", "messages_per_s") >= 2
            )

        assert wait_until(settled, 90), central.logs()
        time.sleep(2.0)  # a stats sample and heartbeats after the last write
        raw = {x for p in cohort.participants for x in (p.member_id, p.resident_number, p.name, p.phone)}
        yield Run(central, truths, messages, raw, agents, time.time_ns() // 10**6)
    finally:
        for agent in agents.values():
            agent.stop()
        central.close()
        influxdb_server.query(f'DROP DATABASE "{central.database}"', method="POST")
        broker.kill()


# --- dashboards ---------------------------------------------------------------------------------

BOARDS = {name: json.loads(dashboard_json(board)) for name, board in build_all("en").items()}
_UNITS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "y": 365 * 86_400_000}


def _range_ms(board: dict[str, Any], now_ms: int) -> tuple[int, int]:
    """The dashboard's own default time range (``now-24h`` … ``now``), as Grafana opens it."""
    match = re.fullmatch(r"now-(\d+)([mhdy])", board["time"]["from"])
    assert match and board["time"]["to"] == "now", board["time"]
    return now_ms - int(match[1]) * _UNITS[match[2]], now_ms


def _variable(board: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((v for v in board.get("templating", {}).get("list", []) if v["name"] == name), None)


def _variables(run: Run, board: dict[str, Any], pseudonym: str) -> Variables:
    """What Grafana substitutes on opening: the default range and interval, station = All (every
    value the station variable's own query returns), the chosen participant."""
    start, end = _range_ms(board, run.now_ms)
    interval = _variable(board, "interval")
    stations: tuple[str, ...] = ()
    station_var = _variable(board, "station")
    if station_var is not None:
        query = substitute(str(station_var["query"]), Variables(start, end))
        stations = tuple(sorted(row[1] for s in series(run.run(query)) for row in s["values"]))
        assert stations, f"station variable found no stations: {query}"
    return Variables(
        start_ms=start,
        end_ms=end,
        interval=interval["current"]["value"] if interval else "1d",
        stations=stations,
        pseudonym=pseudonym,
    )


QUERIES = [q for name, board in BOARDS.items() for q in dashboard_queries(name, board)]


def _with_a_case(run: Run) -> str:
    """A participant with a case who visited both stations, if any (a cross-station history)."""
    stations: dict[str, set[str]] = {}
    for t in run.truths:
        stations.setdefault(pseudonymise(KEY, t.member_id), set()).add(t.station_id)
    return max(sorted(run.with_case), key=lambda p: len(stations[p]))


def _errors(answer: dict[str, Any]) -> list[str]:
    return [answer["error"]] if "error" in answer else [r["error"] for r in answer["results"] if "error" in r]


@pytest.mark.parametrize("item", QUERIES, ids=lambda q: f"{q.dashboard}:{q.where}")
def test_query_runs_and_has_data(item: Any, pipeline: Run) -> None:
    """No query errors, and every panel, variable and annotation has data for this cohort (the
    participant dashboard opened on a participant with a case who visited both stations)."""
    board = BOARDS[item.dashboard]
    query = substitute(item.query, _variables(pipeline, board, _with_a_case(pipeline)))
    answer = pipeline.run(query)
    assert not _errors(answer), (query, answer)
    found = [s for s in series(answer) if s.get("values")]
    assert found, f"{item.dashboard} {item.where}: no rows for {query}"
    if item.where.startswith("panel"):
        assert any(non_null_values(s) for s in found), f"only nulls: {query}"


def test_pseudonym_variable_lists_pseudonyms_only(pipeline: Run) -> None:
    board = BOARDS["participant"]
    variable = _variable(board, "pseudonym")
    assert variable is not None
    values: set[str] = set()
    for station in STATIONS:
        v = Variables(*_range_ms(board, pipeline.now_ms), stations=(station,))
        answer = pipeline.run(substitute(str(variable["query"]), v))
        here = {row[1] for s in series(answer) for row in s["values"]}
        visited = {pseudonymise(KEY, t.member_id) for t in pipeline.truths if t.station_id == station}
        assert here == visited, station
        values |= here
    assert all(PSEUDONYM.match(value) for value in values), values
    raw = {t.member_id for t in pipeline.truths}
    assert not values & raw
    every_tag = json.dumps(pipeline.run("SHOW TAG VALUES WITH KEY =~ /.*/"), ensure_ascii=False)
    assert not [x for x in pipeline.raw_identifiers if x in every_tag]


def test_participant_trends_show_what_each_visit_measured(pipeline: Run) -> None:
    """The trend panels of a participant with a case (cross-station) and of one without show, visit
    by visit, the walkway gait speed and grip each visit measured (the simulator's noisy day); one
    value per visit, not one per gait source."""
    board = BOARDS["participant"]
    by_title = {p["title"]: p["targets"][0]["query"] for p in board["panels"]}
    without = sorted(pipeline.everyone - pipeline.with_case)[:1]
    measured = {"Gait speed": lambda t: t.gait_speed_mps, "Grip (max)": lambda t: t.grip_kg}
    for pseudonym in (_with_a_case(pipeline), *without):
        mine = sorted(
            (t for t in pipeline.truths if pseudonymise(KEY, t.member_id) == pseudonym), key=lambda t: t.visit
        )
        v = _variables(pipeline, board, pseudonym)
        for title, value in measured.items():
            rows = sorted(
                (row[0], row[1])
                for s in series(pipeline.run(substitute(by_title[title], v)))
                if s["tags"].get("source", "walkway") == "walkway"  # the timed walk, not the IMU
                for row in s["values"]
            )
            # 4 m over the walk time to 0.01 s: the speed within 1 %; grip as sent.
            assert [y for _, y in rows] == pytest.approx([value(t) for t in mine], rel=0.01), (title, rows)


def test_case_annotations_are_each_participants_case_events(pipeline: Run) -> None:
    board = BOARDS["participant"]
    (annotation,) = board["annotations"]["list"]
    target = annotation["target"]
    with_case = pipeline.with_case
    for pseudonym in sorted(pipeline.everyone):
        v = _variables(pipeline, board, pseudonym)
        found = series(pipeline.run(substitute(target["query"], v)))
        if pseudonym not in with_case:
            assert not found, pseudonym
            continue
        assert found, pseudonym
        wanted = {target["textColumn"], *target["tagsColumn"].split(",")}
        for one in found:
            assert wanted <= set(one["columns"]) | set(one.get("tags", {})), (wanted, one)
        assert "opened" in {one["tags"]["event"] for one in found}


def test_open_cases_table_lists_everyone_with_an_open_case_and_no_one_else(pipeline: Run) -> None:
    board = BOARDS["alerts"]
    (item,) = [q for q in dashboard_queries("alerts", board) if q.where.startswith("panel")][:1]
    answer = pipeline.run(substitute(item.query, _variables(pipeline, board, "")))
    rows = series(answer)
    assert pipeline.with_open_case, "the seed's decliners have cases"
    assert {s["tags"][c.PARTICIPANT_TAG] for s in rows} == pipeline.with_open_case
    for one in rows:
        record = dict(zip(one["columns"], one["values"][0], strict=True))
        assert record["state"] in ("open", "acknowledged") and record["severity"] in (1, 2), record
        assert record["since"] <= record["latest"] <= pipeline.now_ms, record


# --- alert rules --------------------------------------------------------------------------------

RULES = {spec.uid: spec for spec in alerting.all_rules()}


def _evaluate(run: Run, uid: str, at_ms: int | None = None) -> list[Instance]:
    return evaluate_rule(RULES[uid], run.run, at_ms if at_ms is not None else time.time_ns() // 10**6)


def test_case_rule_fires_once_per_case_and_for_no_one_without_one(pipeline: Run) -> None:
    instances = _evaluate(pipeline, "fw-case-notice")
    firing = [i for i in instances if i.firing]
    assert {i.labels[c.PARTICIPANT_TAG] for i in firing} == pipeline.with_case
    opened = pipeline.central.rows(
        'SELECT "event_id", "case_id" FROM "case_event" WHERE "event" = \'opened\''
    )
    # One alert instance per case (its escalation has the other severity label).
    assert {i.labels["case_id"] for i in firing} == {r["case_id"] for r in opened}
    for i in firing:
        assert i.labels["domain"] in {d.value for d in Domain} and i.labels["severity"] in (
            "warning",
            "critical",
        )


def test_fleet_rules_have_data_and_are_quiet_on_a_healthy_fleet(pipeline: Run) -> None:
    """Stations online, devices just used, dead letters far below the spike threshold.

    The device-silent rule's trigger (a device quiet for 2 h in opening hours) cannot happen in a
    test that lasts seconds; tests/test_grafana_queries.py covers its firing on written data.
    """
    quiet = (
        "fw-station-offline",
        "fw-device-silent",
        "fw-dead-letter-spike",
        "fw-gateway-silent",
        "fw-influxdb-silent",
        "fw-heartbeat-stale",
        "fw-spool-backlog",
        "fw-spool-full",
    )
    assert set(quiet) | {"fw-gateway-lag", "fw-case-notice"} == set(RULES)
    for uid in quiet:
        instances = _evaluate(pipeline, uid)
        assert [i for i in instances if not i.reason], f"{uid}: no data from the pipeline"
        assert not [i for i in instances if i.firing], (uid, instances)
    for uid in ("fw-heartbeat-stale", "fw-spool-backlog", "fw-spool-full"):
        assert {i.labels[c.STATION_TAG] for i in _evaluate(pipeline, uid)} == set(STATIONS), uid
    online = {i.labels[c.STATION_TAG] for i in _evaluate(pipeline, "fw-station-offline")}
    assert online == set(STATIONS)
    devices = {
        (i.labels[c.STATION_TAG], i.labels["device_id"]) for i in _evaluate(pipeline, "fw-device-silent")
    }
    assert {s for s, _ in devices} == set(STATIONS)
    gateways = {g.env["FRAILWATCH_GATEWAY_CLIENT_ID"] for g in pipeline.central.gateways}
    lag = _evaluate(pipeline, "fw-gateway-lag")
    assert {i.labels[c.GATEWAY_TAG] for i in lag} == gateways
    assert not [i for i in lag if i.firing], lag
    assert {i.labels[c.GATEWAY_TAG] for i in _evaluate(pipeline, "fw-gateway-silent")} == gateways


def test_ingest_lag_is_in_seconds_and_saw_the_month_old_visits(pipeline: Run) -> None:
    """The earlier visits were measured one to six months before the gateway wrote them: the lag
    the panel and the rule read peaks at months, in seconds (a unit check)."""
    rows = pipeline.central.rows('SELECT max("ingest_lag_s") FROM "ops"."gateway_stats"')
    # Which old visit a 1-s stats sample catches depends on batching: 1 to 6 months, in seconds.
    month = VISIT_EVERY.total_seconds()
    assert 0.99 * month <= rows[0]["max"] <= 6 * month + 3600


def test_reading_counts_per_kind_and_station_match_what_was_sent(pipeline: Run) -> None:
    """The completeness panel counts readings, one per message, per kind and station."""
    board = BOARDS["cross_station"]
    (query,) = [q.query for q in dashboard_queries("cross_station", board) if c.READING_ID in q.query]
    answer = pipeline.run(substitute(query, _variables(pipeline, board, "")))
    counted = {(s["name"], s["tags"][c.STATION_TAG]): s["values"][0][1] for s in series(answer)}
    sent: dict[tuple[str, str], int] = {}
    for m in pipeline.messages:
        key = (m.topic.split("/")[2], m.station_id)
        sent[key] = sent.get(key, 0) + 1
    assert counted == sent


def test_every_opening_and_escalation_is_seen_by_the_case_rule(pipeline: Run) -> None:
    """Case events are filed at processing time, so each one raised in this session falls inside
    the rule's window, however old the visit that triggered it (the earlier visits are months old)."""
    events = pipeline.central.rows(
        'SELECT "case_id", "event", "severity", "at" FROM "case_event" '
        "WHERE \"event\" = 'opened' OR \"event\" = 'escalated'"
    )
    assert events
    seen = {
        (i.labels["case_id"], i.labels["severity"]) for i in _evaluate(pipeline, "fw-case-notice") if i.firing
    }
    missed = {(e["case_id"], e["severity"]) for e in events} - seen
    assert not missed, f"fw-case-notice never sees: {sorted(missed)}"


def test_station_offline_rule_fires_after_an_agent_stops(pipeline: Run) -> None:
    """Stop one edge agent (last in this module but one: it changes the shared fleet). The
    broker passes its offline status on; ten minutes later (the rule's pending period, replayed
    minute by minute with no new status) the rule fires for that station and only that one."""
    stopped = STATIONS[1]
    assert pipeline.agents[stopped].stop() == 0
    query = f'SELECT last("online") FROM "ops"."station_status" WHERE "station_id" = \'{stopped}\''
    assert wait_until(lambda: pipeline.central.rows(query)[0]["last"] == 0, 20), pipeline.central.logs()
    later = time.time_ns() // 10**6 + 11 * 60_000
    firing = {i.labels[c.STATION_TAG] for i in _evaluate(pipeline, "fw-station-offline", later) if i.firing}
    assert firing == {stopped}
    soon = {i.labels[c.STATION_TAG] for i in _evaluate(pipeline, "fw-station-offline") if i.firing}
    assert soon == set(), "fired before its 10-minute pending period"


def test_when_nothing_arrives_any_more_the_silence_rules_fire_for_what_the_pipeline_had(
    pipeline: Run,
) -> None:
    """Last in this module: stop every agent and the gateway, so nothing arrives any more. Right
    away nothing fires (pending periods); 12 minutes on (replayed minute by minute) the
    staleness rules fire for every station and the gateway replica the real pipeline wrote, the
    InfluxDB rule for the store as a whole — and the spool rules, with no backlog or refusal in
    the data, stay quiet."""
    for agent in pipeline.agents.values():
        agent.stop()
    gateways = {g.env["FRAILWATCH_GATEWAY_CLIENT_ID"] for g in pipeline.central.gateways}
    stats = 'SELECT count("messages_total") FROM "ops"."gateway_stats"'
    written = pipeline.central.rows(stats)[0]["count"]
    for gateway in pipeline.central.gateways:
        assert gateway.stop() == 0
    assert pipeline.central.rows(stats)[0]["count"] >= written
    stopped_ms = time.time_ns() // 10**6

    def firing(uid: str, at_ms: int) -> list[Instance]:
        return [i for i in _evaluate(pipeline, uid, at_ms) if i.firing]

    silence = ("fw-heartbeat-stale", "fw-gateway-silent", "fw-influxdb-silent")
    assert not [uid for uid in silence if firing(uid, stopped_ms)], "fired before its pending period"
    later = stopped_ms + 12 * 60_000
    assert {i.labels[c.STATION_TAG] for i in firing("fw-heartbeat-stale", later)} == set(STATIONS)
    assert {i.labels[c.GATEWAY_TAG] for i in firing("fw-gateway-silent", later)} == gateways
    (store,) = firing("fw-influxdb-silent", later)
    assert store.reason == "NoData"
    for uid in ("fw-spool-backlog", "fw-spool-full"):
        assert not firing(uid, later), uid
