"""Shared pieces of the station-page tests: one participant's visit as devices publish it, the
VisitResult the gateway would send for it (built with the real builder and scoring), an open case,
and a staff login."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from processing.results import build_visit_result
from processing.scoring import VisitInputs, score_visit
from telemetry.cases import Evidence
from telemetry.pseudonym import pseudonymise
from telemetry.results import HistoryVisit, OpenCase, VisitResult

MEMBER = "M-20417"
NAME = "김순자"
VISIT_ID = "v-gj-01-visit-0001"
CASE_ID = "case-" + "3" * 20
STAFF = ("counsellor.kim", "correct horse battery")
# The visit's readings: (kind, device id, payload). Grip 16.5 kg for a woman is below AWGS 2019's
# 18 kg; a 4 m walk in 5.1 s scores 3 SPPB points; TUG 14.2 s is at or above 13.5 s.
READINGS: list[tuple[str, str, dict[str, Any]]] = [
    ("profile", "kiosk-1", {"sex": "female", "birth_year": 1946, "height_cm": 155}),
    ("body_composition", "bia-1", {"weight_kg": 55.0, "height_cm": 155.0, "asmi_kg_m2": 5.2}),
    ("grip", "grip-1", {"trials": [{"hand": "right", "force_kg": 16.5}, {"hand": "left", "force_kg": 15.0}]}),
    ("gait", "walk-1", {"walk_distance_m": 4.0, "walk_time_s": 5.1}),
    ("sit_to_stand", "chair-1", {"five_rep_time_s": 13.2}),
    ("tug", "tug-1", {"total_time_s": 14.2}),
]
INPUTS = dict(
    sex="female",
    height_cm=155.0,
    weight_kg=55.0,
    asmi_kg_m2=5.2,
    grip_max_kg=16.5,
    gait_speed_mps=round(4.0 / 5.1, 3),
    walk_distance_m=4.0,
    walk_time_s=5.1,
    chair_stand_5x_s=13.2,
    side_by_side_s=10.0,
    semi_tandem_s=10.0,
    tandem_s=6.4,
    fatigue=True,
    resistance=False,
    ambulation=False,
    illness_count=2,
    weight_loss_pct_year=1.0,
)


def visit_start() -> dt.datetime:
    """The visit happens this morning, two hours ago (UTC), so it is on today's list."""
    return (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).replace(microsecond=0)


def device_documents(at: dt.datetime) -> list[tuple[str, dict[str, Any]]]:
    """(station-local topic, device JSON) for every reading of the visit, one minute apart."""
    out = []
    for i, (kind, device, payload) in enumerate(READINGS):
        document = {
            "participant_id": MEMBER,
            "name": NAME,
            "phone": "010-2345-6789",
            "measured_at": (at + dt.timedelta(minutes=i)).isoformat(),
            "visit_id": VISIT_ID,
            "payload": payload,
        }
        out.append((f"fwdev/v1/{kind}/{device}", document))
    return out


def open_case(participant: str, at: dt.datetime) -> OpenCase:
    return OpenCase(
        case_id=CASE_ID,
        domain="mobility",  # type: ignore[arg-type]
        state="open",  # type: ignore[arg-type]
        severity="warning",
        opened_at=at,
        updated_at=at,
        last_event="opened",  # type: ignore[arg-type]
        evidence=Evidence(
            rule="baseline_change",
            baseline={"gait_speed_mps": 0.92},
            current={"gait_speed_mps": 0.78},
            change={"gait_speed_mps": -0.14},
        ),
    )


def visit_result(
    key: bytes, at: dt.datetime, station: str = "gj-01", cases: bool = True, processed_after_s: float = 60
) -> VisitResult:
    participant = pseudonymise(key, MEMBER)
    inputs = VisitInputs(**INPUTS)  # type: ignore[arg-type]
    history = [
        HistoryVisit(
            at=at - dt.timedelta(days=days),
            station_id="gj-02",
            visit_id=f"v-gj-02-visit-{days:04d}",
            values={"gait_speed_mps": speed, "grip_max_kg": grip, "sppb_total": sppb},
        )
        for days, speed, grip, sppb in ((180, 0.95, 19.5, 11), (90, 0.92, 18.4, 10))
    ]
    last = at + dt.timedelta(minutes=len(READINGS) - 1)
    return build_visit_result(
        participant=participant,
        station_id=station,
        visit_id=VISIT_ID,
        at=last,
        inputs=inputs,
        scores=score_visit(inputs),
        processed_at=last + dt.timedelta(seconds=processed_after_s),
        tug_time_s=14.2,
        history=history,
        open_cases=[open_case(participant, last)] if cases else [],
    )


CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
NONCE_RE = re.compile(r'name="nonce" value="([0-9a-f]{32})"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)
