"""End to end in a real browser: simulated devices → station Mosquitto → `frailwatch edge run` (its page
on) → central Mosquitto (the deployment's ACL, per-station users) → `frailwatch gateway run` →
InfluxDB 1.x, and back down: the gateway's VisitResult on the station's results topic → the edge's
store → the page in headless Chromium (runtime/chromium.py).

One simulated participant (edge.simulate, seeded) declines over seven monthly visits at one station,
the last one happening now. What must hold: the visit page fills in with the result the gateway
computed (its scores are the score point's in InfluxDB, its open case is the one the gateway
opened); a counsellor's acknowledgement, prescription and resolution clicked on the page each reach
``case_event`` through the real broker and gateway; the clinical dashboard's open-cases query
(grafana.queries.OPEN_CASES) follows each change; and the station's follow-up funnel, reported in
its heartbeat, reaches the station dashboard's follow-up query (grafana.queries.FOLLOW_UP_FUNNEL).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge.page.accounts import Accounts
from edge.simulate.cohort import Cohort, DeviceMessage, Truth
from grafana import queries
from grafana.evaluate import Variables, series, substitute
from runtime.chromium import Browser, Page, chromium_binary
from runtime.local_servers import InfluxDB, free_port
from telemetry.pseudonym import pseudonymise
from tests._brokers import Brokers
from tests._drill_support import EdgeStandIn, wait_until
from tests._edge_support import EDGE_KEY, EdgeProcess, edge_settings_env
from tests._gateway_support import Central, start_central

pytestmark = [
    pytest.mark.drill,
    pytest.mark.skipif(
        chromium_binary() is None and not os.environ.get("CI"),
        reason="chromium not installed (scripts/setup.sh)",
    ),
]
STATION = "gj-01"
STAFF = ("counsellor.park", "correct horse battery")
VISIT_EVERY = timedelta(days=30)


@dataclass
class Stack:
    central: Central
    agent: EdgeProcess
    base: str
    participant: str
    last_visit: str
    truths: list[Truth]
    out: Path

    def open_cases(self) -> dict[str, dict[str, Any]]:
        """The clinical dashboard's open-cases table for this station, as Grafana would run it."""
        now = datetime.now(UTC)
        variables = Variables(
            start_ms=int((now - timedelta(days=30)).timestamp() * 1000),
            end_ms=int(now.timestamp() * 1000),
            stations=(STATION,),
        )
        answer = self.central.influx.query(substitute(queries.OPEN_CASES, variables), self.central.database)
        out = {}
        for one in series(answer):
            out[one["tags"]["case_id"]] = dict(zip(one["columns"], one["values"][0], strict=True))
        return out

    def funnel(self) -> dict[str, Any]:
        now = datetime.now(UTC)
        variables = Variables(
            start_ms=int((now - timedelta(days=1)).timestamp() * 1000),
            end_ms=int(now.timestamp() * 1000),
            stations=(STATION,),
        )
        answer = self.central.influx.query(
            substitute(queries.FOLLOW_UP_FUNNEL, variables), self.central.database
        )
        (one,) = series(answer)
        assert one["tags"]["station_id"] == STATION
        return dict(zip(one["columns"], one["values"][0], strict=True))

    def events(self, case_id: str) -> list[dict[str, Any]]:
        return self.central.rows(f'SELECT * FROM "case_event" WHERE "case_id" = \'{case_id}\'')


def _retimed(cohort: Cohort, now: datetime) -> tuple[list[Truth], list[DeviceMessage]]:
    """The participant's visits a month apart, the last one now, a reading a second within each."""
    visits = cohort.visits()
    truths, out = [], []
    for n, (p, visit, station, _at) in enumerate(visits):
        at = now - (len(visits) - 1 - n) * VISIT_EVERY - timedelta(seconds=40)
        truth, messages = cohort.messages(p, visit, station, at)
        truths.append(truth)
        for j, m in enumerate(messages):
            document = {**m.document, "measured_at": (at + timedelta(seconds=j)).isoformat()}
            out.append(DeviceMessage(m.station_id, m.topic, document))
    return truths, out


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, influxdb_server: InfluxDB) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("station-e2e")
    broker = Brokers(tmp)

    central = start_central(broker, influxdb_server, tmp, stations=(STATION,))
    agent: EdgeProcess | None = None
    try:
        central.gateway(client_id="gw-e2e")
        central.wait_subscribed()
        devices = broker(name="station")
        spool = tmp / "spool"
        accounts = Accounts(spool / "staff.sqlite3")
        accounts.add(*STAFF, display_name="박 상담사")
        accounts.close()
        port = free_port()
        env = edge_settings_env(
            STATION,
            devices,
            central.broker,
            spool,
            uplink_username=STATION,
            uplink_password=central.passwords[STATION],
            page_enabled="true",
            page_port=str(port),
        )
        agent = EdgeProcess(env, tmp / "edge.log").start()
        assert agent.wait_device_ready(), agent.log()
        assert wait_until(lambda: "results downlink subscribed" in agent.log(), 20), agent.log()
        # Seed 7: a substantial mobility decline, a step after the third of seven visits, measured
        # with realistic error (the decline-rates benchmark finds ≥ 95 % of these).
        cohort = Cohort(participants=1, stations=[STATION], days=210, decline_fraction=1.0, seed=7)
        truths, messages = _retimed(cohort, datetime.now(UTC))
        sender = EdgeStandIn(devices.host, devices.port)
        sender.send([(m.topic, json.dumps(m.document).encode()) for m in messages], timeout_s=120)
        sender.close()
        participant = pseudonymise(EDGE_KEY.encode(), truths[0].member_id)
        last_visit = messages[-1].document["visit_id"]

        def settled() -> bool:
            opened = central.rows('SELECT "event_id", "case_id" FROM "case_event" WHERE "event" = \'opened\'')
            return central.count("frailty", "inputs") >= len(truths) and bool(opened)

        assert wait_until(settled, 120), (
            central.rows('SELECT * FROM "frailty"'),
            central.rows('SELECT * FROM "case_event"'),
            central.logs(),
        )
        yield Stack(central, agent, f"http://127.0.0.1:{port}", participant, last_visit, truths, tmp)
    finally:
        if agent is not None:
            agent.stop()
        central.close()
        influxdb_server.query(f'DROP DATABASE "{central.database}"', method="POST")
        broker.kill()


@pytest.fixture(scope="module")
def page(stack: Stack) -> Iterator[Page]:
    """A counsellor logged in (each test can run alone, or on its own xdist worker)."""
    browser = Browser.start(stack.out / "chromium-profile")
    try:
        page = browser.new_page()
        _login(stack, page)
        yield page
    finally:
        browser.close()


def _login(stack: Stack, page: Page) -> None:
    page.goto(stack.base + "/login")
    assert page.wait_for("document.activeElement && document.activeElement.id === 'username'")
    page.type(STAFF[0])
    page.tab()
    page.type(STAFF[1])
    page.enter()
    page.wait_for("location.pathname === '/visits' && document.readyState === 'complete'")


def test_the_gateways_result_appears_on_the_station_page(stack: Stack, page: Page) -> None:
    page.goto(f"{stack.base}/visits/{stack.participant}/{stack.last_visit}")
    # Filled in by the page itself once the gateway's result is in (it polls its state).
    page.wait_for("document.body.innerText.includes('AWGS 2019') && !document.getElementById('pending')", 90)
    (point,) = stack.central.rows(
        f'SELECT "sppb_total", "grip_max_kg" FROM "frailty" WHERE "visit_id" = \'{stack.last_visit}\''
    )
    # The history table: the seven visits the gateway read back, this one last with its scores.
    rows = page.js(
        "[...document.querySelectorAll('table.history tbody tr')]"
        ".map(r => [...r.querySelectorAll('td')].map(c => c.innerText))"
    )
    assert len(rows) == len(stack.truths), rows
    _date, station, _gait, sppb, grip, *_ = rows[-1]
    assert station == STATION and sppb == str(point["sppb_total"]), (rows[-1], point)
    assert float(grip) == pytest.approx(point["grip_max_kg"], abs=0.05)
    assert float(grip) == pytest.approx(stack.truths[-1].grip_kg, abs=0.05)  # the simulated reading
    case_id = _case(stack)  # the gateway opened it for the declining participant
    assert page.js(f"document.getElementById('case-{case_id}') !== null")
    assert stack.open_cases()[case_id]["state"] == "open"


def _case(stack: Stack) -> str:
    """The participant's mobility case (the seed's decline is in mobility)."""
    where = "\"event\" = 'opened' AND \"domain\" = 'mobility'"
    (opened,) = stack.central.rows(f'SELECT "event_id", "case_id" FROM "case_event" WHERE {where}')
    return str(opened["case_id"])


def _submitted(page: Page) -> None:
    page.wait_for("document.readyState === 'complete' && document.querySelector('.notice') !== null")


def test_counsellor_actions_reach_influxdb_and_the_open_cases_query(stack: Stack, page: Page) -> None:
    case_id = _case(stack)
    visit = f"{stack.base}/visits/{stack.participant}/{stack.last_visit}"
    page.goto(visit)
    page.click(f"#ack-{case_id}")
    _submitted(page)

    def stored(kind: str) -> list[dict[str, Any]]:
        return [e for e in stack.events(case_id) if e["event"] == kind]

    assert wait_until(lambda: len(stored("acknowledged")) == 1, 30), stack.central.logs()
    (ack,) = stored("acknowledged")
    assert ack["actor"] == STAFF[0] and ack["station_id"] == STATION and ack["state"] == "acknowledged"
    assert wait_until(lambda: stack.open_cases()[case_id]["state"] == "acknowledged", 10)

    # A social prescription: the station's funnel (its heartbeat) counts the case as linked.
    page.goto(visit)
    page.js(f"document.getElementById('programme-{case_id}').selectedIndex = 1")
    page.click(f"form[action='/cases/{case_id}/prescribe'] button[type=submit]")
    _submitted(page)
    assert wait_until(lambda: len(stored("prescribed")) == 1, 30), stack.central.logs()
    assert wait_until(lambda: stack.funnel()["cases_linked"] == 1, 20), stack.funnel()
    funnel = stack.funnel()
    assert funnel["cases_opened"] >= 1 and funnel["cases_followed_up"] == 0

    # Resolved: the case leaves the open-cases table and counts as followed up.
    page.goto(visit)
    page.js(f"document.getElementById('reason-{case_id}').value = 'confirmed_referred'")
    page.click(f"form[action='/cases/{case_id}/resolve'] button[type=submit]")
    _submitted(page)
    assert wait_until(lambda: len(stored("resolved")) == 1, 30), stack.central.logs()
    assert wait_until(lambda: case_id not in stack.open_cases(), 10)
    assert wait_until(lambda: stack.funnel()["cases_followed_up"] == 1, 20), stack.funnel()
    assert not [
        r for r in stack.central.rows('SELECT * FROM "dead_letter"') if "cases" in str(r.get("topic"))
    ]
    # The dashboard's numbers are the station page's own.
    page.goto(stack.base + "/follow-up")
    shown = page.js(
        "['opened', 'linked', 'followed'].map(k => document.getElementById('funnel-' + k).innerText)"
    )
    funnel = stack.funnel()
    assert [int(v) for v in shown] == [
        funnel["cases_opened"],
        funnel["cases_linked"],
        funnel["cases_followed_up"],
    ]
