"""The VisitResult wire model and its builder: bands at the published cut-offs, the comparison with
earlier visits, strictness of the model, and that the builder imports no edge or Numba code.

Cut-offs in the tests are written out from docs/scoring.md (the independent oracle); the
builder reads them from processing.scoring.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from processing.results import build_visit_result
from processing.scoring import VisitInputs, score_visit
from telemetry import codec
from telemetry.errors import ContractError, Reason
from telemetry.results import MAX_HISTORY, CutoffBand, HistoryVisit, PointsBand, VisitResult, decode_result

AT = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
WHO = "0123456789abcdef0123456789abcdef"


def result(history: list[HistoryVisit] | None = None, tug: float | None = None, **inputs: Any) -> VisitResult:
    visit = VisitInputs(**inputs)
    return build_visit_result(
        participant=WHO,
        station_id="gj-01",
        visit_id="visit-000000",
        at=AT,
        inputs=visit,
        scores=score_visit(visit),
        processed_at=AT + timedelta(seconds=1),
        tug_time_s=tug,
        history=history or [],
    )


def band(r: VisitResult, metric: str, criterion: str) -> CutoffBand | PointsBand:
    measure = next(m for m in r.measures if m.metric == metric)
    return next(b for b in measure.bands if b.criterion == criterion)


def flagged(r: VisitResult, metric: str, criterion: str) -> bool:
    b = band(r, metric, criterion)
    assert isinstance(b, CutoffBand)
    return b.flagged


@pytest.mark.parametrize(
    ("sex", "grip", "low"),
    [("male", 27.99, True), ("male", 28.0, False), ("female", 17.99, True), ("female", 18.0, False)],
)
def test_awgs_grip_band_at_its_cut_off(sex: str, grip: float, low: bool) -> None:
    r = result(sex=sex, grip_max_kg=grip)
    assert flagged(r, "grip_max_kg", "low_muscle_strength") is low
    assert band(r, "grip_max_kg", "low_muscle_strength").reference == "awgs_2019"


@pytest.mark.parametrize(
    ("metric", "value", "criterion", "flag"),
    [
        ("gait_speed_mps", 0.999, "slow_gait_speed", True),
        ("gait_speed_mps", 1.0, "slow_gait_speed", False),
        ("chair_stand_5x_s", 11.99, "slow_chair_stand", False),
        ("chair_stand_5x_s", 12.0, "slow_chair_stand", True),
        ("asmi_kg_m2", 6.99, "low_muscle_mass", True),
        ("asmi_kg_m2", 7.0, "low_muscle_mass", False),
    ],
)
def test_awgs_performance_and_mass_bands(metric: str, value: float, criterion: str, flag: bool) -> None:
    assert flagged(result(sex="male", **{metric: value}), metric, criterion) is flag


def test_tug_fall_risk_from_13_5_s_and_configurable() -> None:
    assert flagged(result(tug=13.49), "tug_time_s", "raised_fall_risk") is False
    assert flagged(result(tug=13.5), "tug_time_s", "raised_fall_risk") is True
    visit = VisitInputs()
    stricter = build_visit_result(
        participant=WHO,
        station_id="gj-01",
        visit_id=None,
        at=AT,
        inputs=visit,
        scores=score_visit(visit),
        processed_at=AT,
        tug_time_s=12.5,
        tug_fall_risk_s=12.0,
    )
    b = band(stricter, "tug_time_s", "raised_fall_risk")
    assert isinstance(b, CutoffBand) and b.flagged and b.cutoff == 12.0
    assert stricter.visit_ref == "day-2026-11-20"


@pytest.mark.parametrize(
    ("distance", "time", "points", "low", "high"),
    [
        (4.0, 4.81, 4, None, 4.82),
        (4.0, 4.82, 3, 4.82, 6.20),
        (4.0, 6.21, 2, 6.20, 8.70),
        (4.0, 8.71, 1, 8.70, None),
        (3.0, 3.61, 4, None, 3.62),
        (3.0, 6.53, 1, 6.52, None),
    ],
)
def test_sppb_walk_points_band(distance: float, time: float, points: int, low: Any, high: Any) -> None:
    b = band(result(walk_distance_m=distance, walk_time_s=time), "walk_time_s", "sppb_gait")
    assert isinstance(b, PointsBand)
    assert (b.points, b.low, b.high, b.course_m) == (points, low, high, distance)


def test_walk_on_another_course_gets_no_sppb_band() -> None:
    r = result(walk_distance_m=6.0, walk_time_s=6.0)
    assert next(m for m in r.measures if m.metric == "walk_time_s").bands == []


@pytest.mark.parametrize(
    ("seconds", "points"), [(11.19, 4), (11.2, 3), (13.7, 2), (16.7, 1), (60.0, 1), (60.01, 0)]
)
def test_sppb_chair_points_band(seconds: float, points: int) -> None:
    b = band(result(chair_stand_5x_s=seconds), "chair_stand_5x_s", "sppb_chair")
    assert isinstance(b, PointsBand) and b.points == points
    assert (b.low is None or b.low < seconds) and (b.high is None or seconds <= b.high)


@pytest.mark.parametrize(("hold", "points"), [(2.99, 0), (3.0, 1), (9.99, 1), (10.0, 2)])
def test_sppb_tandem_points(hold: float, points: int) -> None:
    b = band(result(tandem_s=hold), "tandem_s", "sppb_balance")
    assert isinstance(b, PointsBand) and (b.points, b.max_points) == (points, 2)


@pytest.mark.parametrize(
    ("sex", "bmi", "weak_at"),
    [("male", 24.0, 29.0), ("male", 27.0, 31.0), ("female", 22.9, 17.0), ("female", 30, 21.0)],
)
def test_fried_weakness_cut_off_by_bmi(sex: str, bmi: float, weak_at: float) -> None:
    r = result(sex=sex, grip_max_kg=weak_at, bmi_kg_m2=bmi)
    assert flagged(r, "grip_max_kg", "weakness") is True
    assert band(r, "grip_max_kg", "weakness").cutoff == weak_at  # type: ignore[union-attr]
    assert (
        flagged(result(sex=sex, grip_max_kg=weak_at + 0.01, bmi_kg_m2=bmi), "grip_max_kg", "weakness")
        is False
    )


FULL = dict(
    sex="female",
    height_cm=155,
    weight_kg=55,
    grip_max_kg=16.5,
    gait_speed_mps=0.85,
    walk_distance_m=4,
    walk_time_s=5.1,
    chair_stand_5x_s=13.2,
    side_by_side_s=10,
    semi_tandem_s=10,
    tandem_s=6.4,
    asmi_kg_m2=5.2,
    fatigue=True,
    resistance=True,
    ambulation=False,
    illness_count=5,
    weight_loss_pct_year=1.0,
    exhaustion_days_per_week=4,
    activity_kcal_week=200,
)


def test_instruments_carry_their_components() -> None:
    s = result(**FULL).scores
    assert s.sppb is not None and (s.sppb.total, s.sppb.balance, s.sppb.gait, s.sppb.chair) == (9, 3, 3, 3)
    assert s.sppb.low_performance is True and s.sppb.low_performance_cutoff == 9
    assert s.awgs is not None and s.awgs.status == "severe_sarcopenia"
    assert s.kfrail is not None and (s.kfrail.score, s.kfrail.category) == (3, "frail")
    assert s.fried is not None and s.fried.count == 3 and s.fried.slowness is False  # 15 ft in 5.83 s
    assert s.fried.slow_walk_cutoff_s == 7.0  # height ≤ 159 cm (woman)
    assert s.fried.weak_grip_cutoff_kg == 17.0 and s.missing == {}


def test_partial_visit_says_what_is_missing() -> None:
    s = result(grip_max_kg=20.0).scores
    assert s.sppb is None and s.kfrail is None and s.fried is None
    assert "sex" in s.missing["fried"] and "chair_stand_5x_s" in s.missing["sppb"]


def _visit(days_before: int, station: str = "gj-02", **values: float) -> HistoryVisit:
    return HistoryVisit(
        at=AT - timedelta(days=days_before),
        station_id=station,
        visit_id=f"visit-{days_before:06d}",
        values=values,  # type: ignore[arg-type]
    )


def test_comparison_against_the_median_of_earlier_visits_at_any_station() -> None:
    history = [
        _visit(270, gait_speed_mps=0.90),
        _visit(180, "gj-01", gait_speed_mps=1.00),
        _visit(90, gait_speed_mps=0.96),
    ]
    r = result(history=list(reversed(history)), gait_speed_mps=0.91, grip_max_kg=20.0)
    gait = next(c for c in r.comparisons if c.metric == "gait_speed_mps")
    assert gait.baseline == pytest.approx(0.96) and gait.previous == pytest.approx(0.96)
    assert gait.earlier_visits == 3 and gait.change_from_baseline == pytest.approx(-0.05)
    assert gait.verdict == "worse"  # exactly the small meaningful change (0.05 m/s) counts
    assert next(c for c in r.comparisons if c.metric == "grip_max_kg").verdict == "first_visit"
    assert [h.at for h in r.history] == sorted(h.at for h in r.history)
    assert r.history[-1].values == {"gait_speed_mps": 0.91, "grip_max_kg": 20.0}


@pytest.mark.parametrize(("now", "verdict"), [(0.93, "steady"), (1.02, "better"), (0.90, "worse")])
def test_comparison_verdict(now: float, verdict: str) -> None:
    r = result(history=[_visit(90, gait_speed_mps=0.96)], gait_speed_mps=now)
    assert r.comparisons[0].verdict == verdict


def test_higher_is_worse_for_chair_stand() -> None:
    r = result(history=[_visit(90, chair_stand_5x_s=12.0)], chair_stand_5x_s=13.8)
    assert r.comparisons[0].verdict == "worse"  # 1.8 s slower ≥ 1.7 s


def test_this_visit_in_the_history_counts_once_and_history_is_capped() -> None:
    history = [_visit(30 * k, gait_speed_mps=1.0) for k in range(1, 20)]
    this_again = HistoryVisit(
        at=AT, station_id="gj-01", visit_id="visit-000000", values={"gait_speed_mps": 0.5}
    )
    r = result(history=[*history, this_again], gait_speed_mps=0.95)
    assert len(r.history) == MAX_HISTORY
    assert r.history[-1].values["gait_speed_mps"] == 0.95
    assert r.comparisons[0].earlier_visits == 19  # compared with all earlier visits, not the 11 shown


def test_round_trip_and_size() -> None:
    r = result(history=[_visit(90, gait_speed_mps=0.96, sppb_total=10)], tug=12.0, **FULL)
    wire = codec.encode(r)
    assert decode_result(wire, "gj-01") == r
    assert len(wire) < 16_000


@pytest.mark.parametrize(
    "inputs",
    [
        {},
        {"grip_max_kg": 20.0},
        {"chair_stand_5x_s": 12.5},
        {"walk_unable": True, "chair_stand_unable": True},
    ],
)
def test_partial_visits_survive_the_wire(inputs: dict[str, Any]) -> None:
    """The encoder leaves None out, so every optional field must default to None on decode."""
    r = result(**inputs)
    assert decode_result(codec.encode(r), "gj-01") == r


def test_every_optional_wire_field_defaults_to_none() -> None:
    import typing

    import telemetry.results as wire

    models = [v for v in vars(wire).values() if isinstance(v, type) and issubclass(v, wire.WireModel)]
    assert len(models) > 10
    for model in models:
        for name, field in model.model_fields.items():
            nullable = type(None) in typing.get_args(field.annotation)
            assert not (nullable and field.is_required()), (
                f"{model.__name__}.{name} may be None but has no default"
            )


def _document() -> dict[str, Any]:
    return json.loads(codec.encode(result(**FULL)))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(name="Kim"), Reason.UNKNOWN_FIELD),
        (lambda d: d.update(participant="880101-1234567"), Reason.INVALID),
        (lambda d: d["measures"][0]["bands"][0].update(flagged=False), Reason.INVALID),
        (lambda d: d["measures"][0].update(value=float("nan")), Reason.NOT_FINITE),
        (lambda d: d.update(measures=d["measures"] * 3), Reason.OUT_OF_RANGE),
        (lambda d: d["scores"]["kfrail"].update(score=5), Reason.INVALID),
        (lambda d: d.update(schema_version=2), Reason.SCHEMA_VERSION),
        (lambda d: d.update(at="2026-11-21T02:00:00Z"), Reason.INVALID),
    ],
)
def test_bad_results_are_refused_with_a_reason(change: Any, reason: Reason) -> None:
    document = _document()
    change(document)
    raw = json.dumps(document)
    with pytest.raises(ContractError) as caught:
        decode_result(raw, "gj-01")
    assert caught.value.reason is reason, caught.value


def test_result_for_another_station_and_oversize_are_refused() -> None:
    wire = codec.encode(result(**FULL))
    with pytest.raises(ContractError) as caught:
        decode_result(wire, "gj-02")
    assert caught.value.reason is Reason.TOPIC_MISMATCH
    with pytest.raises(ContractError) as caught:
        decode_result(wire + b" " * 70_000, "gj-01")
    assert caught.value.reason is Reason.OVERSIZE


def _case(**extra: Any) -> dict[str, Any]:
    return {
        "case_id": "case-" + "a" * 20,
        "domain": "mobility",
        "state": "open",
        "severity": "warning",
        "opened_at": "2026-11-01T00:00:00Z",
        "updated_at": "2026-11-01T00:00:00Z",
        "last_event": "opened",
        **extra,
    }


@pytest.mark.parametrize(
    "case",
    [
        _case(state="resolved"),
        _case(prescription={"programme": "walking-club", "note": "call 010-1234-5678"}),
        _case(assignee="880101-1234567"),
    ],
)
def test_open_cases_are_open_and_carry_no_identifiers(case: dict[str, Any]) -> None:
    document = _document()
    document["open_cases"] = [case]
    with pytest.raises(ContractError):
        decode_result(json.dumps(document), "gj-01")
    document["open_cases"] = [_case(prescription={"programme": "walking-club", "note": "weekly"})]
    assert decode_result(json.dumps(document), "gj-01").open_cases[0].prescription is not None


def test_builder_imports_no_edge_gateway_or_numba_code() -> None:
    code = (
        "import sys, processing.results, telemetry.results; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('numba', 'scipy', 'edge', 'gateway', 'influxdb_client', 'httpx')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
