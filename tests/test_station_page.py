"""The station page over HTTP (Starlette's test client) on a real edge agent's stores: readings go
through the agent's intake, results through its downlink's accept, actions into its spool. No
broker is needed for these; tests/test_station_browser.py runs the same page in Chromium against
real brokers.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from edge.agent import EdgeAgent
from edge.page.accounts import Accounts
from edge.page.app import COOKIE, StationPage
from edge.settings import EdgeSettings
from telemetry import codec, topics
from telemetry.cases import CaseEvent
from telemetry.pseudonym import pseudonymise
from tests._station_support import (
    CASE_ID,
    MEMBER,
    NAME,
    NONCE_RE,
    STAFF,
    VISIT_ID,
    csrf_of,
    device_documents,
    open_case,
    visit_result,
    visit_start,
)

KEY = "station-page-test-key-0123456789"
# Starlette's test client warns that it will move from httpx to httpx2; httpx is what the lock has.
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")


@dataclass
class Station:
    agent: EdgeAgent
    client: TestClient
    at: dt.datetime

    @property
    def participant(self) -> str:
        return pseudonymise(KEY.encode(), MEMBER)

    @property
    def visit_url(self) -> str:
        return f"/visits/{self.participant}/{VISIT_ID}"

    def login(self, password: str = STAFF[1]) -> None:
        form = self.client.get("/login").text
        response = self.client.post(
            "/login",
            data={"csrf": csrf_of(form), "username": STAFF[0], "password": password, "next": "/visits"},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text

    def deliver(self, **kwargs: object) -> None:
        result = visit_result(KEY.encode(), self.at, **kwargs)  # type: ignore[arg-type]
        assert self.agent.downlink.accept(topics.results("gj-01"), codec.encode(result))

    def actions(self) -> list[CaseEvent]:
        rows = self.agent.spool.after(0, 1000)
        return [
            CaseEvent.model_validate_json(r.payload) for r in rows if r.topic == topics.case_actions("gj-01")
        ]

    def act(self, action: str, **fields: str) -> object:
        page = self.client.get(self.visit_url).text
        form_html = page.split(f'action="/cases/{CASE_ID}/{action}"', 1)[1]
        nonce = NONCE_RE.search(form_html)
        assert nonce is not None
        data = {"csrf": csrf_of(page), "nonce": nonce.group(1), "back": self.visit_url, **fields}
        return self.client.post(f"/cases/{CASE_ID}/{action}", data=data, follow_redirects=False)


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    settings = EdgeSettings(station_id="gj-01", spool_dir=tmp_path, pseudonym_key=KEY)  # type: ignore[arg-type]
    agent = EdgeAgent(settings)
    at = visit_start()
    for topic, document in device_documents(at):
        assert agent.accept(topic, json.dumps(document).encode())
    accounts = Accounts(tmp_path / "staff.sqlite3")
    accounts.add(*STAFF, display_name="김 상담사")
    page = StationPage(
        settings=settings,
        store=agent.station_store,
        pseudonyms=agent.pseudonyms,
        accounts=accounts,
        submit=agent.spool_case_event,
    )
    with TestClient(page.app(), base_url="http://station.local") as client:
        yield Station(agent, client, at)
    accounts.close()
    agent.spool.close()
    agent.station_store.close()


def test_pages_need_a_login_and_a_wrong_password_is_refused(station: Station) -> None:
    response = station.client.get("/visits", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    assert station.client.get(station.visit_url, follow_redirects=False).status_code == 303
    form = station.client.get("/login").text
    bad = station.client.post(
        "/login", data={"csrf": csrf_of(form), "username": STAFF[0], "password": "wrong password!"}
    )
    assert bad.status_code == 401 and "비밀번호가 맞지 않습니다" in bad.text
    before = station.client.cookies.get(COOKIE)
    station.login()
    assert station.client.cookies.get(COOKIE) != before, "login must start a new session"
    assert station.client.get("/visits").status_code == 200


def test_forms_without_the_csrf_token_or_from_another_site_are_refused(station: Station) -> None:
    station.login()
    page = station.client.get(station.visit_url).text
    assert station.client.post("/logout", data={"csrf": "forged"}).status_code == 403
    cross = station.client.post(
        "/logout", data={"csrf": csrf_of(page)}, headers={"origin": "http://evil.example"}
    )
    assert cross.status_code == 403
    assert station.client.get("/visits").status_code == 200  # still logged in


def test_security_headers_and_cookie_flags(station: Station) -> None:
    response = station.client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        moved = station.client.get("/lang/en", params={"next": target}, follow_redirects=False)
        assert moved.headers["location"] == "/visits", target  # never off the station page


def test_todays_visits_show_the_local_name_and_the_result_state(station: Station) -> None:
    station.login()
    page = station.client.get("/visits").text
    assert NAME in page and MEMBER in page and "중앙 채점 대기 중" in page
    assert '<html lang="ko">' in page
    station.deliver()
    page = station.client.get("/visits").text
    assert "결과 도착" in page and "중앙 채점 대기 중" not in page


def test_visit_shows_local_values_at_once_then_the_central_result(station: Station) -> None:
    station.login()
    pending = station.client.get(station.visit_url).text
    assert "16.5 kg" in pending and "14.2 s" in pending and 'id="pending"' in pending
    assert "판정은 채점 후에 나옵니다" in pending
    station.deliver()
    page = station.client.get(station.visit_url).text
    assert 'id="pending"' not in page
    # What the number means, which band, whose cut-off — from the result, in Korean.
    assert (
        "아시아 근감소증 진단 기준 AWGS 2019: 여성은 18 kg 미만이면 ‘근력 저하’입니다. "
        "결과: 이 기준에 해당합니다." in page
    )
    assert "4 m 4.82–6.2 s이면 4점 중 3점입니다" in page
    assert "낙상 위험 증가" in page and "13.5 s 이상" in page
    assert "SPPB" in page and "K-FRAIL" in page and "<svg" in page
    assert "gj-02" in page  # the history from another station
    station.client.get(f"/lang/en?next={station.visit_url}")
    english = station.client.get(station.visit_url).text
    assert '<html lang="en">' in english
    assert (
        "By the Asian sarcopenia criteria AWGS 2019, for women, below 18 kg counts as low muscle strength"
        in english
    )


def test_state_token_changes_when_the_result_arrives(station: Station) -> None:
    station.login()
    before = station.client.get(f"{station.visit_url}/state").json()["token"]
    station.deliver()
    assert station.client.get(f"{station.visit_url}/state").json()["token"] != before


def test_acknowledge_spools_a_case_event_once(station: Station) -> None:
    station.deliver()
    station.login()
    page = station.client.get(station.visit_url).text
    nonce = NONCE_RE.search(page.split(f'action="/cases/{CASE_ID}/acknowledge"', 1)[1])
    assert nonce is not None
    data = {"csrf": csrf_of(page), "nonce": nonce.group(1), "back": station.visit_url}
    first = station.client.post(f"/cases/{CASE_ID}/acknowledge", data=data, follow_redirects=False)
    assert first.status_code == 303
    again = station.client.post(f"/cases/{CASE_ID}/acknowledge", data=data)  # the same form sent twice
    assert again.status_code == 400 and "이미 확인한 사례입니다" in again.text
    [event] = station.actions()
    assert (event.event.value, event.state.value, event.actor) == ("acknowledged", "acknowledged", STAFF[0])
    assert event.participant == station.participant and event.station_id == "gj-01"
    assert MEMBER not in event.model_dump_json() and NAME not in event.model_dump_json()
    assert "확인함" in station.client.get(station.visit_url).text


def test_prescription_is_checked_for_identifiers_and_programme(station: Station) -> None:
    station.deliver()
    station.login()
    leak = station.act("prescribe", programme="walking-group", note="딸 연락처 010-9876-5432")
    assert leak.status_code == 400 and "개인 식별 정보" in leak.text  # type: ignore[attr-defined]
    unknown = station.act("prescribe", programme="bungee-jumping")
    assert unknown.status_code == 400 and "목록에 없는 프로그램" in unknown.text  # type: ignore[attr-defined]
    assert station.actions() == []
    ok = station.act("prescribe", programme="walking-group", health_activist="on", note="주 2회")
    assert ok.status_code == 303  # type: ignore[attr-defined]
    [event] = station.actions()
    assert event.prescription is not None and event.prescription.programme == "walking-group"
    assert event.prescription.health_activist and event.prescription.note == "주 2회"


def test_follow_up_date_and_resolution(station: Station) -> None:
    station.deliver()
    station.login()
    past = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    assert station.act("follow-up", follow_up_on=past).status_code == 400  # type: ignore[attr-defined]
    assert station.act("follow-up", follow_up_on="31/12/2026").status_code == 400  # type: ignore[attr-defined]
    later = (dt.date.today() + dt.timedelta(days=28)).isoformat()
    assert station.act("follow-up", follow_up_on=later).status_code == 303  # type: ignore[attr-defined]
    assert station.act("resolve", reason="").status_code == 400  # type: ignore[attr-defined]
    assert station.act("resolve", reason="not_confirmed", note="재검 정상").status_code == 303  # type: ignore[attr-defined]
    kinds = [(e.event.value, e.state.value) for e in station.actions()]
    assert kinds == [("follow_up_set", "acknowledged"), ("resolved", "resolved")]
    assert station.actions()[0].follow_up_on == dt.date.fromisoformat(later)
    page = station.client.get(station.visit_url).text
    assert f'action="/cases/{CASE_ID}/resolve"' not in page  # a resolved case takes no more actions


def test_bad_downlink_results_are_dead_lettered_and_nothing_is_stored(station: Station) -> None:
    downlink, spool = station.agent.downlink, station.agent.spool
    good = visit_result(KEY.encode(), station.at)
    document = json.loads(codec.encode(good))
    document["measures"][0]["value"] = 999999.0  # the band flag no longer agrees
    bad = [
        (topics.results("gj-01"), b"{not json"),
        (topics.results("gj-01"), json.dumps({**json.loads(codec.encode(good)), "name": NAME}).encode()),
        (topics.results("gj-01"), json.dumps(document).encode()),
        (topics.results("gj-01"), codec.encode(visit_result(KEY.encode(), station.at, station="gj-02"))),
        ("fw/v1/gj-01/other", codec.encode(good)),
    ]
    for topic, raw in bad:
        assert downlink.accept(topic, raw) is False
    reasons = [reason for reason, _ in spool.dead_letters()]
    assert reasons == ["malformed_json", "unknown_field", "invalid", "topic_mismatch", "unknown_topic"]
    assert station.agent.station_store.result_count() == 0
    letters = [r for r in spool.after(0, 100) if r.topic.endswith("/deadletter")]
    assert len(letters) == len(bad) and not any(NAME.encode() in r.payload for r in letters)


def test_an_older_result_never_replaces_a_newer_one(station: Station) -> None:
    store = station.agent.station_store
    newer = visit_result(KEY.encode(), station.at, processed_after_s=120, cases=False)
    older = visit_result(KEY.encode(), station.at, processed_after_s=60)
    assert store.put_result(newer) is True
    assert store.put_result(older) is False
    stored = store.result(station.participant, VISIT_ID)
    assert stored is not None and stored.processed_at == newer.processed_at and stored.open_cases == []


def test_a_repeated_result_is_kept_once_and_a_rebuilt_one_replaces_it_unchanged(station: Station) -> None:
    """The gateway's redelivery sends the same result again (an MQTT repeat: same processed_at) or
    rebuilds it (same content, newer processed_at); either way the visit shows one result and its
    case stays as it was."""
    store, downlink = station.agent.station_store, station.agent.downlink
    result = visit_result(KEY.encode(), station.at, processed_after_s=60)
    assert downlink.accept(topics.results("gj-01"), codec.encode(result))
    changes = store.changes
    assert downlink.accept(topics.results("gj-01"), codec.encode(result))  # the same bytes again
    assert store.changes == changes, "a repeat writes nothing"
    rebuilt = visit_result(KEY.encode(), station.at, processed_after_s=65)
    assert downlink.accept(topics.results("gj-01"), codec.encode(rebuilt))
    assert store.result_count() == 1
    stored = store.result(station.participant, VISIT_ID)
    assert stored is not None and stored.processed_at == rebuilt.processed_at
    assert [(c.case_id, c.open) for c in store.cases_for(station.participant)] == [(CASE_ID, True)]


def test_case_no_longer_listed_by_a_newer_result_is_closed(station: Station) -> None:
    store = station.agent.station_store
    assert store.put_result(visit_result(KEY.encode(), station.at, processed_after_s=60))
    assert [c.open for c in store.cases_for(station.participant)] == [True]
    assert store.put_result(visit_result(KEY.encode(), station.at, processed_after_s=120, cases=False))
    assert [c.open for c in store.cases_for(station.participant)] == [False]


def test_follow_up_page_lists_overdue_participants_and_counts(station: Station) -> None:
    """A second participant last seen 20 days ago whose follow-up date passed 5 days ago is overdue;
    the visiting participant with a prescription counts as linked but not followed up yet."""
    store = station.agent.station_store
    other_member, other = "M-30001", pseudonymise(KEY.encode(), "M-30001")
    station.agent.pseudonyms.remember(other, other_member)
    store.import_roster([(other_member, "박영수")])
    long_ago = station.at - dt.timedelta(days=20)
    result = visit_result(KEY.encode(), long_ago, cases=False)
    today = dt.date.today()
    case = open_case(other, long_ago).model_copy(
        update={
            "case_id": "case-" + "4" * 20,
            "follow_up_on": today - dt.timedelta(days=5),
            "follow_up_set_at": long_ago + dt.timedelta(days=1),
            "updated_at": long_ago + dt.timedelta(days=1),
        }
    )
    store.put_result(result.model_copy(update={"participant": other, "open_cases": [case]}))
    station.deliver()
    station.login()
    station.act("prescribe", programme="nutrition")
    page = station.client.get("/follow-up").text
    assert "박영수" in page and other_member in page and ">5<" in page
    assert NAME not in page.split("<table", 1)[1]  # the visitor is not overdue
    assert 'id="funnel-opened">2<' in page and 'id="funnel-linked">1<' in page
    assert 'id="funnel-followed">0<' in page


def test_staff_and_roster_commands(tmp_path: Path) -> None:
    env = {
        "FRAILWATCH_EDGE_STATION_ID": "gj-01",
        "FRAILWATCH_EDGE_SPOOL_DIR": str(tmp_path),
        "PATH": "/usr/bin",
    }

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "frailwatch.cli", "edge", *args]
        return subprocess.run(
            command, input=stdin, capture_output=True, text=True, env=env, timeout=60, check=False
        )

    added = run("staff", "add", "nurse.lee", "--password-stdin", stdin="long enough secret\n")
    assert added.returncode == 0, added.stderr
    assert run("staff", "add", "nurse.lee", "--password-stdin", stdin="another secret!\n").returncode == 2
    short = run("staff", "add", "nurse.park", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "at least" in short.stderr
    phone = run("staff", "add", "01012345678", "--password-stdin", stdin="long enough secret\n")
    assert phone.returncode == 2 and "phone" in phone.stderr
    accounts = Accounts(tmp_path / "staff.sqlite3")
    assert accounts.authenticate("nurse.lee", "long enough secret")
    assert not accounts.authenticate("nurse.lee", "long enough secreT")
    stored = accounts._db.execute("SELECT password_hash FROM staff").fetchone()[0]
    assert stored.startswith("scrypt$") and "long enough" not in stored
    accounts.close()
    csv = tmp_path / "roster.csv"
    csv.write_text("member_id,name\nM-1,홍길동\nM-2,이영희\n", encoding="utf-8")
    imported = run("roster", "import", str(csv))
    assert imported.returncode == 0 and imported.stdout.startswith("2 names"), imported.stderr
    (tmp_path / "bad.csv").write_text("id,fullname\nM-1,x\n", encoding="utf-8")
    assert run("roster", "import", str(tmp_path / "bad.csv")).returncode == 2


def test_five_failed_logins_lock_the_account(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "staff.sqlite3")
    accounts.add(*STAFF)
    for _ in range(5):
        assert not accounts.authenticate(STAFF[0], "not the password")
    assert not accounts.authenticate(*STAFF), "locked for 15 minutes even with the right password"
    assert not accounts.authenticate("nobody", "whatever password")
    accounts.close()


def test_programmes_and_time_zone_come_from_the_station_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import ValidationError

    from edge.settings import load

    for name in ("FRAILWATCH_EDGE_PROGRAMMES", "FRAILWATCH_EDGE_PAGE_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "station.toml"
    config.write_text(
        'station_id = "gj-01"\npage_timezone = "Asia/Seoul"\n'
        '[programmes.tai-chi]\nko = "태극권 교실"\nen = "Tai chi class"\n',
        encoding="utf-8",
    )
    settings = load(config)
    assert settings.programmes == {"tai-chi": {"ko": "태극권 교실", "en": "Tai chi class"}}
    config.write_text('station_id = "gj-01"\npage_timezone = "Mars/Olympus"\n', encoding="utf-8")
    with pytest.raises(ValidationError, match="unknown time zone"):
        load(config)
    config.write_text('station_id = "gj-01"\n[programmes."Tai Chi!"]\nko = "x"\nen = "x"\n', encoding="utf-8")
    with pytest.raises(ValidationError):
        load(config)
