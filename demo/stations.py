"""The station pages in the demo: each edge agent serves its page, and the demo checks what it shows.

Before the agents start, each station gets a roster (:func:`local_names`: the generated Korean name
of every simulated member id — never a real person's, and like any name it stays on the station
box) and a counsellor account (:data:`COUNSELLOR`, a random password per run). Each agent serves its
page on a free loopback port.

After the run, :func:`check` (the agents still running):

1. every scored visit (a ``frailty`` point in InfluxDB) has its result page at the station that
   served it, showing the result and the participant's local name — over HTTP, logged in;
2. in headless Chromium (skipped, and said so, when Debian's ``chromium`` is absent): one result
   page per station; one visit's A4 report printed to PDF and read back with ``pdftotext``, holding
   the visit's values; on one case a counsellor acknowledges, records a social prescription and sets
   a follow-up date for tomorrow, on another a follow-up a month ahead — each click must reach
   InfluxDB's case-event log through the real broker and gateway and appear in the clinical
   dashboard's recent-case-events panel (its InfluxQL from grafana/provisioning, run as Grafana runs it);
3. the overdue follow-up list at each of those stations, today and as it stands a few days later,
   equals the participants whose follow-up date has passed without a later visit.

Why "a few days later": the page (and the gateway) accept no follow-up date in the past, and the
cases open at processing time, so a back-dated action is refused centrally as "before the case
opened". Dates the page accepts are today or later, so nothing can be overdue today; the later
view is the station's page code over the station's own store with its clock moved on
(:func:`_page_later`), which is what the counsellor will see on that day.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from demo.stack import DATABASE, DemoStack
from demo.summary import StationPages
from gateway import influx_schema
from gateway.influx import case_log
from runtime.local_servers import free_port
from telemetry.pseudonym import pseudonymise

COUNSELLOR = "counsellor"
COUNSELLOR_DISPLAY = "상담사"
TIMEZONE = "Asia/Seoul"  # the stations' default page_timezone
LATER_DAYS = 3  # the overdue list is also looked at this many days on
SOON_DAYS, LATER_FOLLOW_UP_DAYS = 1, 30  # follow-up dates set: overdue in LATER_DAYS, and not
ACTION_TIMEOUT_S = 30.0
RECENT_EVENTS_PANEL = "alerts"  # the clinical dashboard whose panel lists case events with their actor

_PDFTOTEXT = "pdftotext"


def local_names(member_ids: list[str]) -> dict[str, str]:
    """The roster: each simulated member id's name as its kiosk registration gives it
    (:func:`edge.simulate.names.korean_name`), as an operator would import it from the member list."""
    from edge.simulate.names import korean_name

    return {member: korean_name(member) for member in member_ids}


@dataclass
class StationSetup:
    """What the demo gave the stations' pages: the roster, the account, the ports."""

    names: dict[str, str]  # member id -> local name
    password: str
    ports: dict[str, int] = field(default_factory=dict)

    def env(self, station: str) -> dict[str, str]:
        """The edge agent's page settings (``frailwatch edge run`` reads them from the environment)."""
        return {
            "FRAILWATCH_EDGE_PAGE_ENABLED": "true",
            "FRAILWATCH_EDGE_PAGE_HOST": "127.0.0.1",
            "FRAILWATCH_EDGE_PAGE_PORT": str(self.ports[station]),
            "FRAILWATCH_EDGE_PAGE_TIMEZONE": TIMEZONE,
        }

    def base(self, station: str) -> str:
        return f"http://127.0.0.1:{self.ports[station]}"


def page_answers(setup: StationSetup, station: str) -> bool:
    try:
        with httpx.Client(base_url=setup.base(station), trust_env=False, timeout=2) as client:
            return client.get("/login").status_code == 200
    except httpx.HTTPError:
        return False


def spool_dir(stack: DemoStack, station: str) -> Path:
    return stack.state_dir / f"edge-{station}" / "spool"


def prepare(stack: DemoStack, member_ids: list[str]) -> StationSetup:
    """Roster and counsellor account in every station's files, before its agent starts (as an
    operator would with ``frailwatch edge roster import`` and ``frailwatch edge staff add``)."""
    from edge.page.accounts import Accounts
    from edge.station_store import StationStore

    setup = StationSetup(local_names(member_ids), secrets.token_urlsafe(18))
    for station in stack.stations:
        where = spool_dir(stack, station)
        store = StationStore(where / "station.sqlite3")
        try:
            store.import_roster(sorted(setup.names.items()), source="demo")
        finally:
            store.close()
        accounts = Accounts(where / "staff.sqlite3")
        try:
            accounts.add(COUNSELLOR, setup.password, COUNSELLOR_DISPLAY, replace=True)
        finally:
            accounts.close()
        setup.ports[station] = free_port()
    return setup


# --- what InfluxDB says was scored ----------------------------------------------------------------


@dataclass(frozen=True)
class ScoredVisit:
    station: str
    participant: str
    visit_ref: str
    at_ns: int
    values: dict[str, float]


def scored_visits(stack: DemoStack) -> list[ScoredVisit]:
    """Every visit with a score point, with the values its report prints (grip, gait speed)."""
    assert stack.influxdb is not None
    station_tag, participant_tag = influx_schema.STATION_TAG, influx_schema.PARTICIPANT_TAG
    query = (
        f'SELECT "visit_id", "grip_max_kg", "gait_speed_mps" FROM {influx_schema.qualified("frailty")} '
        f'GROUP BY "{station_tag}", "{participant_tag}"'
    )
    out = []
    for result in stack.influxdb.query(query, DATABASE).get("results", []):
        for one in result.get("series", []):
            tags = one.get("tags", {})
            for row in one["values"]:
                record = dict(zip(one["columns"], row, strict=True))
                values = {
                    k: float(record[k]) for k in ("grip_max_kg", "gait_speed_mps") if record[k] is not None
                }
                out.append(
                    ScoredVisit(
                        tags[station_tag],
                        tags[participant_tag],
                        str(record["visit_id"]),
                        int(record["time"]),
                        values,
                    )
                )
    return sorted(out, key=lambda v: v.at_ns)


# --- HTTP, logged in --------------------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def login(base: str, password: str) -> httpx.Client:
    """A client logged in as the counsellor (the login form's CSRF token, then the form)."""
    client = httpx.Client(base_url=base, trust_env=False, timeout=20)  # loopback: never a proxy
    form = client.get("/login")
    match = _CSRF.search(form.text)
    if form.status_code != 200 or match is None:
        raise RuntimeError(f"{base}/login answered {form.status_code} without a form")
    done = client.post(
        "/login", data={"csrf": match[1], "username": COUNSELLOR, "password": password, "next": "/visits"}
    )
    if done.status_code != 303:
        client.close()
        raise RuntimeError(f"{base}: login refused ({done.status_code})")
    return client


def _page_problem(client: httpx.Client, visit: ScoredVisit, name: str) -> str | None:
    answer = client.get(f"/visits/{visit.participant}/{visit.visit_ref}")
    if answer.status_code != 200:
        return f"HTTP {answer.status_code}"
    if 'id="pending"' in answer.text:
        return "result still pending"
    if name not in answer.text:
        return "local name not shown"
    return None


# --- the checks -------------------------------------------------------------------------------------


@dataclass
class _Context:
    stack: DemoStack
    setup: StationSetup
    pseudonym_key: str
    pages: StationPages
    visits: list[ScoredVisit]
    by_pseudonym: dict[str, str]  # pseudonym -> local name (on this machine only)
    work: Path
    say: Callable[[str], None]


def check(
    stack: DemoStack,
    setup: StationSetup,
    pseudonym_key: str,
    open_cases: list[tuple[str, str]],
    say: Callable[[str], None],
) -> StationPages:
    """Run the station checks (see the module docstring); ``open_cases``: (case id, pseudonym) of
    the cases the run left open."""
    started = time.monotonic()
    key = pseudonym_key.encode()
    pages = StationPages(account=COUNSELLOR, ports=dict(setup.ports))
    ctx = _Context(
        stack=stack,
        setup=setup,
        pseudonym_key=pseudonym_key,
        pages=pages,
        visits=scored_visits(stack),
        by_pseudonym={pseudonymise(key, m): n for m, n in setup.names.items()},
        work=stack.state_dir / "station-pages",  # names and PDFs stay in the state dir, on this machine
        say=say,
    )
    ctx.work.mkdir(parents=True, exist_ok=True)
    _result_pages(ctx)
    from runtime.chromium import chromium_binary

    if chromium_binary() is None:
        pages.browser = "skipped: chromium is not installed (scripts/setup.sh installs it)"
        say(f"station pages: browser checks {pages.browser}")
    else:
        if shutil.which(_PDFTOTEXT) is None:
            pages.failures.append("pdftotext is not installed (poppler-utils, scripts/setup.sh)")
        try:
            _in_browser(ctx, open_cases)
        except Exception as error:  # a browser check that breaks is a failed check, not a crashed demo
            pages.failures.append(f"browser checks stopped: {type(error).__name__}: {error}"[:400])
    pages.duration_s = round(time.monotonic() - started, 1)
    return pages


def _result_pages(ctx: _Context) -> None:
    pages = ctx.pages
    pages.scored_visits = len(ctx.visits)
    for station in ctx.stack.stations:
        mine = [v for v in ctx.visits if v.station == station]
        with contextlib.closing(login(ctx.setup.base(station), ctx.setup.password)) as client:
            for visit in mine:
                problem = _page_problem(client, visit, ctx.by_pseudonym.get(visit.participant, "\0"))
                if problem is None:
                    pages.result_pages += 1
                else:
                    pages.missing.append(f"{station}/{visit.visit_ref}: {problem}")
    if pages.missing:
        pages.failures.append(f"{len(pages.missing)} of {pages.scored_visits} result pages missing or wrong")
    ctx.say(f"station pages: {pages.result_pages} of {pages.scored_visits} scored visits' results shown")


def _in_browser(ctx: _Context, open_cases: list[tuple[str, str]]) -> None:
    from runtime.chromium import Browser

    browser = Browser.start(ctx.work / "chromium-profile")
    try:
        page = browser.new_page()
        latest = {v.station: v for v in ctx.visits}  # each station's latest scored visit
        for visit in latest.values():
            _show(page, ctx, visit)
            ctx.pages.pages_in_browser += 1
        if ctx.visits:
            _print(page, ctx, ctx.visits[-1])
        _actions(page, ctx, open_cases)
    finally:
        browser.close()


def _goto(page: Any, ctx: _Context, url: str) -> None:
    """Open ``url``, logging in first if the station asks. The stations share the host 127.0.0.1
    and a browser's cookies ignore the port, so each station's login replaces the last one's."""
    page.goto(url)
    if page.js("location.pathname") == "/login":
        _browser_login(page, ctx.setup.password)
        page.goto(url)


def _browser_login(page: Any, password: str) -> None:
    page.wait_for("document.activeElement && document.activeElement.id === 'username'")
    page.type(COUNSELLOR)
    page.tab()
    page.type(password)
    page.enter()
    page.wait_for("location.pathname !== '/login' && document.readyState === 'complete'")


def _visit_url(ctx: _Context, visit: ScoredVisit) -> str:
    return f"{ctx.setup.base(visit.station)}/visits/{visit.participant}/{visit.visit_ref}"


def _show(page: Any, ctx: _Context, visit: ScoredVisit) -> None:
    _goto(page, ctx, _visit_url(ctx, visit))
    page.wait_for("document.readyState === 'complete' && !document.getElementById('pending')")
    text = page.text()
    if ctx.by_pseudonym[visit.participant] not in text or "AWGS 2019" not in text:
        ctx.pages.failures.append(f"{visit.station}/{visit.visit_ref} in Chromium: name or result not shown")


def _print(page: Any, ctx: _Context, visit: ScoredVisit) -> None:
    """The visit's A4 report as Chromium prints it, read back: the name and the visit's values."""
    from edge.page.texts import number

    _goto(page, ctx, _visit_url(ctx, visit) + "/print")
    pdf = ctx.work / "report.pdf"
    data = page.pdf(pdf)
    text = subprocess.run(
        [_PDFTOTEXT, "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    wanted = {metric: number(value, metric) for metric, value in visit.values.items()}
    found = {
        m: shown for m, shown in wanted.items() if re.search(rf"(?<![\d.]){re.escape(shown)}(?![\d.])", text)
    }
    ctx.pages.pdf_bytes = len(data)
    ctx.pages.pdf_values = found
    name_ok = ctx.by_pseudonym[visit.participant] in text
    ctx.pages.pdf_ok = bool(wanted) and found == wanted and name_ok and data[:5] == b"%PDF-"
    if not ctx.pages.pdf_ok:
        ctx.pages.failures.append(f"printed report lacks {sorted(set(wanted) - set(found)) or ['the name']}")
    ctx.say(f"station pages: A4 report printed ({len(data)} bytes), values {', '.join(found.values())}")


# --- counsellor actions and follow-up ---------------------------------------------------------------


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo(TIMEZONE)).date()


def _latest_visit_of(ctx: _Context, participant: str) -> ScoredVisit | None:
    mine = [v for v in ctx.visits if v.participant == participant]
    return mine[-1] if mine else None


def _submitted(page: Any) -> None:
    page.wait_for("document.readyState === 'complete' && document.querySelector('.notice') !== null")


def _actions(page: Any, ctx: _Context, open_cases: list[tuple[str, str]]) -> None:
    """Acknowledge, prescribe and set a follow-up (tomorrow) on one case, a follow-up a month on
    on another; then their arrival centrally and the overdue lists."""
    pages = ctx.pages
    usable = [(c, p, v) for c, p in open_cases if (v := _latest_visit_of(ctx, p)) is not None]
    others = [u for u in usable[1:] if usable and u[1] != usable[0][1]]
    if not usable or not others:
        pages.failures.append("the actions need open cases of two participants with a scored visit")
        return
    (first, first_p, first_v), (second, second_p, second_v) = usable[0], others[0]
    today = _today()
    soon, later = today + dt.timedelta(days=SOON_DAYS), today + dt.timedelta(days=LATER_FOLLOW_UP_DAYS)
    started = time.time()
    url = _visit_url(ctx, first_v)
    _goto(page, ctx, url)
    page.wait_for(f"document.getElementById('ack-{first}') !== null")
    page.click(f"#ack-{first}")
    _submitted(page)
    page.goto(url)
    page.js(f"document.getElementById('programme-{first}').selectedIndex = 1")
    page.click(f"form[action='/cases/{first}/prescribe'] button[type=submit]")
    _submitted(page)
    _follow_up(page, ctx, url, first, soon)
    _follow_up(page, ctx, _visit_url(ctx, second_v), second, later)
    pages.action_case = first
    pages.follow_ups = {first_p: soon.isoformat(), second_p: later.isoformat()}
    follow_up_station = {first_p: first_v.station, second_p: second_v.station}
    wanted = {
        (first, "acknowledged"),
        (first, "prescribed"),
        (first, "follow_up_set"),
        (second, "follow_up_set"),
    }
    stored = _stored(ctx, (first, second))
    deadline = time.monotonic() + ACTION_TIMEOUT_S
    while not stored >= wanted and time.monotonic() < deadline:
        time.sleep(0.25)
        stored = _stored(ctx, (first, second))
    pages.action_events = sorted(f"{c}:{e}" for c, e in stored & wanted)
    if not stored >= wanted:
        pages.failures.append(f"counsellor actions not in InfluxDB: {sorted(wanted - stored)}")
    panel = _dashboard_events(ctx, (first, second))
    pages.dashboard_events = sorted(f"{c}:{e}" for c, e in panel & wanted)
    if not panel >= wanted:
        pages.failures.append(
            f"counsellor actions not in the dashboard's case-event panel: {sorted(wanted - panel)}"
        )
    ctx.say(
        f"station pages: {len(stored & wanted)} counsellor actions clicked in Chromium reached InfluxDB "
        f"in {time.time() - started:.1f} s; {len(panel & wanted)} show in the clinical dashboard's query"
    )
    _overdue(page, ctx, follow_up_station, {first_p: soon, second_p: later}, started)


def _follow_up(page: Any, ctx: _Context, url: str, case_id: str, on: dt.date) -> None:
    _goto(page, ctx, url)
    page.js(f"document.getElementById('date-{case_id}').value = '{on.isoformat()}'")
    page.click(f"form[action='/cases/{case_id}/follow-up'] button[type=submit]")
    _submitted(page)


def _stored(ctx: _Context, case_ids: tuple[str, ...]) -> set[tuple[str, str]]:
    """(case id, event) of the counsellor's events in InfluxDB's case-event log."""
    assert ctx.stack.influxdb is not None
    rows = [r for cid in case_ids for r in ctx.stack.influxdb.rows(case_log.query(case_id=cid), DATABASE)]
    return {(str(r["case_id"]), str(r["event"])) for r in rows if r.get("actor") == COUNSELLOR}


def _dashboard_events(ctx: _Context, case_ids: tuple[str, ...]) -> set[tuple[str, str]]:
    """The clinical dashboard's recent-case-events panel, its InfluxQL from the provisioning tree,
    substituted the way Grafana opens the dashboard (its default range, every station)."""
    import grafana
    from grafana.evaluate import Variables, dashboard_queries, series, substitute

    assert ctx.stack.influxdb is not None
    board_file = Path(grafana.__file__).parent / "provisioning" / "dashboards" / "clinical" / "alerts.json"
    board = json.loads(board_file.read_text())
    queries = [
        q
        for q in dashboard_queries(RECENT_EVENTS_PANEL, board)
        if q.where.startswith("panel") and '"actor"' in q.query
    ]
    if not queries:
        ctx.pages.failures.append("the clinical dashboard has no panel listing case events with their actor")
        return set()
    now_ms = int(time.time() * 1000)
    span = re.fullmatch(r"now-(\d+)d", board["time"]["from"])  # the dashboard's default range
    days = int(span[1]) if span else 30
    variables = Variables(
        start_ms=now_ms - days * 86_400_000, end_ms=now_ms, stations=tuple(ctx.stack.stations)
    )
    answer = ctx.stack.influxdb.query(substitute(queries[0].query, variables), DATABASE)
    out = set()
    for one in series(answer):
        tags = one.get("tags", {})
        if tags.get("case_id") not in case_ids:
            continue
        for row in one["values"]:
            if dict(zip(one["columns"], row, strict=True)).get("actor") == COUNSELLOR:
                out.add((str(tags["case_id"]), str(tags["event"])))
    return out


def _expected_overdue(ctx: _Context, follow_ups: dict[str, dt.date], on: dt.date, set_at: float) -> set[str]:
    """Participants whose follow-up date is before ``on`` with no visit since it was set, on or
    after the date (any station: InfluxDB's score points)."""
    tz = ZoneInfo(TIMEZONE)
    out = set()
    for participant, date in follow_ups.items():
        if date >= on:
            continue
        came_back = any(
            v.participant == participant
            and v.at_ns / 1e9 >= set_at
            and dt.datetime.fromtimestamp(v.at_ns / 1e9, tz).date() >= date
            for v in ctx.visits
        )
        if not came_back:
            out.add(participant)
    return out


_ROW = re.compile(r'<table class="overdue">.*?<tbody>(.*?)</tbody>', re.S)
_CELL = re.compile(r"<tr>\s*<td>(?:<a [^>]*>)?([^<]*)")


def _overdue_names(html: str) -> list[str]:
    rows = _ROW.search(html)
    return [] if rows is None else [name.strip() for name in _CELL.findall(rows[1])]


def _overdue(
    page: Any, ctx: _Context, station_of: dict[str, str], follow_ups: dict[str, dt.date], set_at: float
) -> None:
    """Each station's overdue list today (in Chromium) and in LATER_DAYS days (the page over the
    station's store, its clock moved on) against :func:`_expected_overdue`."""
    pages = ctx.pages
    today = _today()
    later = today + dt.timedelta(days=LATER_DAYS)
    for station in sorted(set(station_of.values())):
        here = {p: d for p, d in follow_ups.items() if station_of[p] == station}
        for day, html in ((today, _overdue_today(page, ctx, station)), (later, _page_later(ctx, station))):
            expected = _expected_overdue(ctx, here, day, set_at)
            shown = _overdue_names(html)
            names = {ctx.by_pseudonym[p]: p for p in here}
            pages.overdue_expected[f"{station} {day}"] = sorted(expected)
            pages.overdue_shown[f"{station} {day}"] = sorted(names.get(n, "?") for n in shown)
            if sorted(shown) != sorted(ctx.by_pseudonym[p] for p in expected):
                pages.failures.append(
                    f"{station} overdue list on {day}: {len(shown)} shown, {len(expected)} expected"
                )
    total = sum(len(v) for v in pages.overdue_expected.values())
    ctx.say(f"station pages: overdue follow-up lists checked today and on {later} ({total} overdue expected)")


def _overdue_today(page: Any, ctx: _Context, station: str) -> str:
    _goto(page, ctx, ctx.setup.base(station) + "/follow-up")
    return str(page.js("document.documentElement.outerHTML"))


def _page_later(ctx: _Context, station: str) -> str:
    """The station's follow-up page as it will read in LATER_DAYS days: the page's own code over
    the station's own store and pseudonym table, with its clock moved on (read only; its own
    throw-away staff file, so nothing of the station's changes)."""
    from edge.page.accounts import Accounts
    from edge.page.app import StationPage
    from edge.page.server import PageServer
    from edge.pseudonyms import PseudonymStore
    from edge.settings import EdgeSettings
    from edge.station_store import StationStore

    where = spool_dir(ctx.stack, station)
    settings = EdgeSettings(
        station_id=station, pseudonym_key=ctx.pseudonym_key, spool_dir=where, page_timezone=TIMEZONE
    )
    store = StationStore(where / "station.sqlite3")
    pseudonyms = PseudonymStore(where / "pseudonyms.sqlite3")
    staff_file = ctx.work / f"staff-later-{station}.sqlite3"
    accounts = Accounts(staff_file)
    accounts.add(COUNSELLOR, ctx.setup.password, replace=True)
    moved = dt.timedelta(days=LATER_DAYS)

    def refuse(_event: Any) -> bool:
        raise RuntimeError("the later view takes no actions")

    page = StationPage(
        settings=settings,
        store=store,
        pseudonyms=pseudonyms,
        accounts=accounts,
        submit=refuse,
        clock=lambda: dt.datetime.now(dt.UTC) + moved,
    )
    server = PageServer(page, "127.0.0.1", free_port())
    server.start()
    try:
        with contextlib.closing(login(f"http://127.0.0.1:{server.port}", ctx.setup.password)) as client:
            return client.get("/follow-up").text
    finally:
        server.stop()
        store.close()
        pseudonyms.close()
