"""``frailwatch cases``: replay as a subprocess (the interface other tools depend on), and list, show,
ack and resolve against a real InfluxDB through the case store."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from frailwatch import cases_cli
from frailwatch.cli import main
from gateway.influx import case_log
from gateway.influx.transport import V1Transport
from processing.cases import assess, fold
from telemetry.cases import CaseEventKind, CaseState, Domain, ResolveReason
from tests._cases_support import PARTICIPANT, SUBSTANTIAL, T0, history
from tests.conftest import InfluxTestDB

ROOT = Path(__file__).resolve().parents[1]
OTHER = "cd" * 16
REQUIRED = {"case_id", "participant", "domain", "event", "at", "severity"}


def _lines(shuffle: int | None = None) -> list[str]:
    visits = history(12, decline_at=6, drop=SUBSTANTIAL) + history(12, participant=OTHER)
    lines = [
        json.dumps(
            {
                "participant": v.participant,
                "station_id": v.station_id,
                "visit_id": v.visit_id,
                "at": v.at.isoformat().replace("+00:00", "Z"),
                "sex": v.sex,
                "measures": v.measures,
            }
        )
        for v in visits
    ]
    if shuffle is not None:
        random.Random(shuffle).shuffle(lines)
    return lines


def _replay(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "frailwatch.cli", "cases", "replay", "--input", str(path), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def test_replay_prints_one_json_case_event_per_line_whatever_the_line_order(tmp_path: Path) -> None:
    ordered, shuffled = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    ordered.write_text("\n".join(_lines()) + "\n")
    shuffled.write_text("\n\n".join(_lines(shuffle=7)) + "\n")
    first, second = _replay(ordered, "--json"), _replay(shuffled, "--json")
    assert first.returncode == 0 and second.returncode == 0, first.stderr
    assert first.stdout == second.stdout, "line order does not matter"
    events = [json.loads(line) for line in first.stdout.splitlines()]
    assert events and all(set(e) >= REQUIRED for e in events)
    assert {e["event"] for e in events} <= {"opened", "updated", "escalated", "resolved"}
    assert {e["participant"] for e in events} == {PARTICIPANT}, "the stable participant has no case"
    opened = [e for e in events if e["event"] == "opened"]
    assert len(opened) == 1 and opened[0]["domain"] == "mobility"
    visit_times = {v.visit_id: v.at for v in history(12)}
    for e in events:
        assert e["at"].endswith("Z")
        assert datetime.fromisoformat(e["at"]) == visit_times[e["visit_id"]], "at = the triggering visit"


def _replay_here(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> tuple[int, str, str]:
    """The same command in this process (the subprocess tests above cover the real entry point)."""
    code = main(["cases", "replay", "--input", str(path), *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_replay_runs_the_gateways_detector(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "v.jsonl"
    path.write_text("\n".join(_lines()) + "\n")
    printed = [json.loads(line) for line in _replay_here(capsys, path, "--json")[1].splitlines()]
    direct = assess(history(12, decline_at=6, drop=SUBSTANTIAL), [], T0)
    shown = [e for e in direct if e.event is not CaseEventKind.CLOSE_SUGGESTED]
    assert [(e["event_id"], e["event"]) for e in printed] == [(e.event_id, e.event.value) for e in shown]


def test_close_suggestions_are_printed_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    visits = history(6)
    drop = {**visits[0].measures, "gait_speed_mps": 0.85, "sppb_total": 9.0}
    rows = [v.model_dump(mode="json", exclude={"uncertain"}) for v in visits]
    rows += [
        {
            **rows[0],
            "visit_id": f"visit-{n:04d}",
            "at": (T0 + timedelta(days=60 * n)).isoformat(),
            "measures": drop,
        }
        for n in range(6, 9)
    ]
    rows += [
        {**rows[0], "visit_id": f"visit-{n:04d}", "at": (T0 + timedelta(days=60 * n)).isoformat()}
        for n in range(9, 15)
    ]
    path = tmp_path / "v.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    plain = {json.loads(line)["event"] for line in _replay_here(capsys, path, "--json")[1].splitlines()}
    asked = {
        json.loads(line)["event"]
        for line in _replay_here(capsys, path, "--json", "--close-suggestions")[1].splitlines()
    }
    assert "close_suggested" not in plain and "close_suggested" in asked and "opened" in plain


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (
            '{"participant": "p001", "station_id": "st-01", "visit_id": "visit-0099", '
            '"at": "2025-01-01T00:00:00Z"}',
            "participant",
        ),
        (
            '{"participant": "' + PARTICIPANT + '", "station_id": "st-01", "visit_id": "visit-0099", '
            '"at": "2025-01-01T00:00:00"}',
            "timezone",
        ),
        (
            '{"participant": "' + PARTICIPANT + '", "station_id": "st-01", "visit_id": "visit-0099", '
            '"at": "2025-01-01T00:00:00Z", "measures": {"gait_speed_mps": -1}}',
            "outside",
        ),
        (
            '{"participant": "' + PARTICIPANT + '", "station_id": "st-01", "visit_id": "visit-0099", '
            '"at": "2025-01-01T00:00:00Z", "colour": "red"}',
            "colour",
        ),
    ],
)
def test_a_bad_line_exits_2_with_one_stderr_line_naming_it(
    tmp_path: Path, bad: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _lines()
    lines.insert(4, bad)
    path = tmp_path / "v.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code, out, err = _replay_here(capsys, path, "--json")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "line 5" in err and message in err


def test_a_bad_line_through_the_real_entry_point(tmp_path: Path) -> None:
    path = tmp_path / "v.jsonl"
    path.write_text("\n".join([*_lines()[:2], "{not json", *_lines()[2:]]) + "\n")
    result = _replay(path, "--json")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and "line 3" in result.stderr


def test_a_missing_input_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _replay_here(capsys, tmp_path / "none.jsonl")
    assert code == 2 and "cannot read" in err


def test_the_cli_choices_are_the_contracts_enums() -> None:
    assert tuple(s.value for s in CaseState) == cases_cli.STATES
    assert tuple(d.value for d in Domain) == cases_cli.DOMAINS
    assert tuple(r.value for r in ResolveReason) == cases_cli.REASONS


# --- the store and the counsellor commands on a real InfluxDB ------------------------------------


def _transport(influxdb: InfluxTestDB) -> V1Transport:
    return V1Transport(influxdb.url, influxdb.database)


def _logged(influxdb: InfluxTestDB) -> list:  # type: ignore[type-arg]
    events = assess(history(12, decline_at=6, drop=SUBSTANTIAL), [], datetime.now(UTC))
    transport = _transport(influxdb)
    case_log.append(transport, events)
    transport.close()
    return events


def test_events_read_back_are_the_events_written_and_a_redelivery_adds_nothing(
    influxdb: InfluxTestDB,
) -> None:
    events = _logged(influxdb)
    transport = _transport(influxdb)
    case_log.append(transport, events)  # a redelivery, or a second replica
    back = case_log.read(transport, participant=PARTICIPANT)
    transport.close()
    assert back == sorted(events, key=lambda e: (e.processed_at, e.event_id))
    rows = influxdb.rows('SELECT count("event_id") FROM "case_event"')
    assert rows[0]["count"] == len(events), "one point per event id"
    tags = influxdb.rows('SHOW TAG KEYS FROM "case_event"')
    assert {r["tagKey"] for r in tags} == set(case_log.TAGS)


def test_a_late_visits_event_is_stamped_at_processing_time(influxdb: InfluxTestDB) -> None:
    """The events of visits measured months ago land at now in InfluxDB, so a rule looking back
    minutes on processing time sees them; the visit time is the ``at`` field."""
    events = _logged(influxdb)
    rows = influxdb.rows('SELECT "at", "event_id" FROM "case_event" WHERE time > now() - 10m')
    assert len(rows) == len(events)
    assert {r["at"] for r in rows} == {int(e.at.timestamp() * 1000) for e in events}
    assert all(e.at < datetime.now(UTC) - timedelta(days=7) for e in events)


def _cli(influxdb: InfluxTestDB, *args: str) -> int:
    return main(["cases", *args, "--url", influxdb.url, "--database", influxdb.database])


def test_ack_and_resolve_append_events_and_change_what_list_shows(
    influxdb: InfluxTestDB, capsys: pytest.CaptureFixture[str]
) -> None:
    events = _logged(influxdb)
    cid = events[0].case_id
    assert _cli(influxdb, "list", "--json") == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(c["case_id"], c["state"]) for c in listed] == [(cid, "open")]

    assert _cli(influxdb, "ack", cid, "--staff", "kim.s", "--note", "called, retest booked") == 0
    assert _cli(influxdb, "ack", cid, "--staff", "lee.j") == 2
    assert "already acknowledged" in capsys.readouterr().err
    assert _cli(influxdb, "list", "--state", "acknowledged", "--json") == 0
    assert [json.loads(x)["case_id"] for x in capsys.readouterr().out.splitlines()] == [cid]

    assert _cli(influxdb, "resolve", cid, "--staff", "kim.s", "--reason", "not_confirmed") == 0
    assert _cli(influxdb, "resolve", cid, "--staff", "kim.s", "--reason", "recovered") == 2
    assert "resolved" in capsys.readouterr().err
    transport = _transport(influxdb)
    case = fold(case_log.read(transport, case_id=cid))[cid]
    transport.close()
    assert case.state is CaseState.RESOLVED and case.reason is ResolveReason.NOT_CONFIRMED
    assert case.acknowledged_by == "kim.s" and case.notes == ("called, retest booked",)
    assert _cli(influxdb, "show", cid) == 0
    shown = capsys.readouterr().out
    assert "not_confirmed" in shown and "acknowledged" in shown and "by kim.s" in shown


def test_a_note_with_an_identifier_is_refused_and_nothing_is_written(
    influxdb: InfluxTestDB, capsys: pytest.CaptureFixture[str]
) -> None:
    events = _logged(influxdb)
    cid = events[0].case_id
    assert _cli(influxdb, "ack", cid, "--staff", "kim.s", "--note", "daughter 010-2345-6789") == 2
    assert "phone number" in capsys.readouterr().err
    assert _cli(influxdb, "ack", cid, "--staff", "880101-1234567") == 2
    assert _cli(influxdb, "ack", "case-" + "0" * 20, "--staff", "kim.s") == 2
    rows = influxdb.rows('SELECT count("event_id") FROM "case_event"')
    assert rows[0]["count"] == len(events)


def test_an_unreachable_influxdb_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    from runtime.local_servers import free_port

    code = main(["cases", "list", "--url", f"http://127.0.0.1:{free_port()}", "--database", "x"])
    assert code == 1 and "unavailable" in capsys.readouterr().err


def test_cases_commands_read_influx_settings_from_the_environment(
    influxdb: InfluxTestDB, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _logged(influxdb)
    monkeypatch.setenv("FRAILWATCH_GATEWAY_INFLUX_URL", influxdb.url)
    monkeypatch.setenv("FRAILWATCH_GATEWAY_INFLUX_DATABASE", influxdb.database)
    assert main(["cases", "list"]) == 0
    assert "1 case(s)" in capsys.readouterr().err
    assert os.environ["FRAILWATCH_GATEWAY_INFLUX_DATABASE"] == influxdb.database


def test_ack_and_resolve_change_what_the_open_cases_dashboard_shows(influxdb: InfluxTestDB) -> None:
    """The clinical "open decline cases" panel (grafana.queries.OPEN_CASES, run as Grafana would)
    lists the case as open, then acknowledged, and no longer once it is resolved."""
    from grafana.evaluate import Variables, series, substitute
    from grafana.queries import OPEN_CASES

    cid = _logged(influxdb)[0].case_id
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    query = substitute(OPEN_CASES, Variables(start_ms=now_ms - 86_400_000, end_ms=now_ms, stations=()))

    def shown() -> dict[str, str]:
        answer = influxdb.query(query)
        rows = {}
        for one in series(answer):
            record = dict(zip(one["columns"], one["values"][0], strict=True))
            rows[one["tags"]["case_id"]] = record["state"]
        return rows

    assert shown() == {cid: "open"}
    assert _cli(influxdb, "ack", cid, "--staff", "kim.s") == 0
    assert shown() == {cid: "acknowledged"}
    assert _cli(influxdb, "resolve", cid, "--staff", "kim.s", "--reason", "confirmed_referred") == 0
    assert shown() == {}
