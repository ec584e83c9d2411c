"""`frailwatch grafana push` and the decline annotations, against a local HTTP server that plays
Grafana's API and checks each request (auth, paths, bodies, folder references)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from grafana import alerting
from grafana.annotations import AnnotationError, annotation_body, post_case_event
from grafana.dashboards import DASHBOARDS
from grafana.push import connect, push
from telemetry.cases import CaseEvent, CaseEventKind, CaseState, Domain, Evidence

TOKEN = "glsa_test_token"


@dataclass
class FakeGrafana:
    """State a Grafana would keep, plus every request seen and every check that failed."""

    folders: dict[str, str] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    contact_points: dict[str, dict[str, Any]] = field(default_factory=dict)
    mute_timings: dict[str, dict[str, Any]] = field(default_factory=dict)
    policy: dict[str, Any] | None = None
    annotations: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    fail_annotations: bool = False

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        self.requests.append((method, path))
        if method == "POST" and path == "/api/folders":
            if body["uid"] in self.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            self.folders[body["uid"]] = body["title"]
            return 200, {"uid": body["uid"], "title": body["title"]}
        if method == "POST" and path == "/api/dashboards/db":
            board = body["dashboard"]
            if body.get("folderUid") not in self.folders:
                self.problems.append(
                    f"dashboard {board.get('uid')} in unknown folder {body.get('folderUid')}"
                )
            if body.get("overwrite") is not True:
                self.problems.append("dashboard pushed without overwrite")
            for panel in board.get("panels", []):
                for target in panel.get("targets", []):
                    if not target.get("rawQuery") or target["datasource"]["type"] != "influxdb":
                        self.problems.append(f"target not raw InfluxQL: {target}")
            self.dashboards[board["uid"]] = body
            return 200, {"status": "success", "uid": board["uid"], "version": 1}
        if path == "/api/v1/provisioning/alert-rules" and method == "GET":
            return 200, list(self.rules.values())
        if path.startswith("/api/v1/provisioning/alert-rules"):
            if body.get("folderUID") not in self.folders:
                self.problems.append(f"rule {body.get('uid')} in unknown folder {body.get('folderUID')}")
            if body.get("condition") not in {q["refId"] for q in body.get("data", [])}:
                self.problems.append(f"rule {body.get('uid')} condition names no query")
            if method == "PUT" and path.rsplit("/", 1)[1] not in self.rules:
                return 404, {"message": "rule not found"}
            if method == "POST" and body["uid"] in self.rules:
                return 409, {"message": "rule exists"}
            self.rules[body["uid"]] = body
            return (201 if method == "POST" else 200), body
        if path == "/api/v1/provisioning/contact-points":
            if method == "GET":
                return 200, list(self.contact_points.values())
            self.contact_points[body["uid"]] = body
            return 202, body
        if path.startswith("/api/v1/provisioning/contact-points/") and method == "PUT":
            self.contact_points[body["uid"]] = body
            return 202, body
        if path == "/api/v1/provisioning/mute-timings":
            if method == "GET":
                return 200, list(self.mute_timings.values())
            self.mute_timings[body["name"]] = body
            return 201, body
        if path.startswith("/api/v1/provisioning/mute-timings/") and method == "PUT":
            self.mute_timings[body["name"]] = body
            return 200, body
        if path == "/api/v1/provisioning/policies" and method == "PUT":
            receivers = {p["name"] for p in self.contact_points.values()}
            unknown = _policy_receivers(body) - receivers
            if unknown:
                self.problems.append(f"policy routes to unknown receivers {unknown}")
            self.policy = body
            return 202, {"message": "policies updated"}
        if path == "/api/annotations" and method == "POST":
            if self.fail_annotations:
                return 500, {"message": "database is locked"}
            self.annotations.append(body)
            return 200, {"id": len(self.annotations), "message": "Annotation added"}
        return 404, {"message": f"no route {method} {path}"}


def _policy_receivers(node: dict[str, Any]) -> set[str]:
    found = {node["receiver"]} if "receiver" in node else set()
    for child in node.get("routes", []):
        found |= _policy_receivers(child)
    return found


def _handler(state: FakeGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                status, answer = 401, {"message": "invalid API key"}
            else:
                status, answer = state.handle(
                    self.command, self.path.split("?")[0], json.loads(raw) if raw else None
                )
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

    return Handler


@pytest.fixture
def grafana() -> Iterator[tuple[FakeGrafana, str]]:
    state = FakeGrafana()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_push_uploads_folders_dashboards_rules_and_routing(grafana: tuple[FakeGrafana, str]) -> None:
    state, url = grafana
    report = push(connect(url, TOKEN), "en")
    assert not state.problems, state.problems
    assert set(state.folders) == set(alerting.FOLDER_UIDS.values())
    assert set(state.dashboards) == {spec.uid for spec in DASHBOARDS.values()} == set(report.dashboards)
    assert set(state.rules) == {spec.uid for spec in alerting.all_rules()}
    assert {p["type"] for p in state.contact_points.values()} == {"email", "webhook"}
    assert alerting.OPENING_HOURS in state.mute_timings
    assert state.policy is not None and state.policy["receiver"] == alerting.OPS_RECEIVER
    fleet = state.dashboards["frailwatch-fleet"]
    assert fleet["folderUid"] == alerting.FOLDER_UIDS["folder.ops"]


def test_second_push_updates_in_place(grafana: tuple[FakeGrafana, str]) -> None:
    state, url = grafana
    push(connect(url, TOKEN), "en")
    first = len(state.requests)
    push(connect(url, TOKEN), "ko")
    assert not state.problems, state.problems
    second = state.requests[first:]
    assert ("POST", "/api/v1/provisioning/alert-rules") not in second  # existing rules are PUT
    assert sum(1 for r in second if r[0] == "PUT" and "/alert-rules/" in r[1]) == len(alerting.all_rules())
    assert state.dashboards["frailwatch-fleet"]["dashboard"]["title"] != "Fleet (stations and gateway)"


def test_push_command_line(grafana: tuple[FakeGrafana, str]) -> None:
    state, url = grafana
    done = subprocess.run(
        [sys.executable, "-m", "frailwatch.cli", "grafana", "push", "--url", url, "--token", TOKEN],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(rf"pushed 5 dashboards, {len(alerting.all_rules())} alert rules", done.stdout)
    assert len(state.dashboards) == 5


def test_push_with_a_wrong_token_fails_clearly(grafana: tuple[FakeGrafana, str]) -> None:
    _, url = grafana
    done = subprocess.run(
        [sys.executable, "-m", "frailwatch.cli", "grafana", "push", "--url", url, "--token", "wrong"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "refused or unreachable" in done.stderr and "Traceback" not in done.stderr


def test_push_refuses_a_url_that_is_not_http() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "frailwatch.cli",
            "grafana",
            "push",
            "--url",
            "grafana:3000",
            "--token",
            TOKEN,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "not a Grafana URL" in done.stderr


def _event() -> CaseEvent:
    return CaseEvent(
        event_id="ab" * 12,
        case_id="case-" + "cd" * 10,
        participant="c3" * 16,
        domain=Domain.MOBILITY,
        event=CaseEventKind.OPENED,
        state=CaseState.OPEN,
        severity="critical",
        at=datetime(2026, 11, 20, 10, 30, tzinfo=UTC),
        processed_at=datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
        station_id="gwangju-buk-01",
        visit_id="visit-000123",
        evidence=Evidence(rule="cusum", statistic=6.2, threshold=5.0, change={"gait_speed_mps": -0.25}),
    )


def test_case_annotation_posted_on_the_participant_dashboard(grafana: tuple[FakeGrafana, str]) -> None:
    state, url = grafana
    annotation_id = post_case_event(connect(url, TOKEN), _event())
    assert annotation_id == 1
    (posted,) = state.annotations
    assert posted["dashboardUID"] == "frailwatch-participant"
    # At the visit that opened it (not the processing time), so it sits on the trend's point.
    assert posted["time"] == int(datetime(2026, 11, 20, 10, 30, tzinfo=UTC).timestamp() * 1000)
    assert {"case", "mobility", "opened", "critical", "gwangju-buk-01"} <= set(posted["tags"])
    assert "c3" * 16 in posted["text"] and "cusum" in posted["text"]


def test_case_annotation_failure_is_a_specific_error(grafana: tuple[FakeGrafana, str]) -> None:
    state, url = grafana
    state.fail_annotations = True
    with pytest.raises(AnnotationError, match=r"case case-(cd){10} at gwangju-buk-01"):
        post_case_event(connect(url, TOKEN), _event())


def test_annotation_of_an_action_names_who_acted() -> None:
    action = _event().model_copy(
        update={
            "event": CaseEventKind.ACKNOWLEDGED,
            "state": CaseState.ACKNOWLEDGED,
            "evidence": None,
            "actor": "kim.s",
        }
    )
    body = annotation_body(action)
    assert "acknowledged" in body["tags"] and "kim.s" in body["text"]
