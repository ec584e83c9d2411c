"""The cohort simulator: reproducible, plausible, every device kind valid, CLI publishes as devices."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge.intake import to_message
from edge.simulate import KINDS, Cohort, Truth
from edge.simulate.cohort import MEASURED_RANGE
from edge.simulate.declines import DECLINE_KINDS
from edge.simulate.measurement import station_offsets
from edge.simulate.publish import stream
from processing.cases.measurement_error import MEASUREMENT_ERROR
from runtime.local_servers import Mosquitto
from telemetry.errors import ContractError

KEY = b"simulation-test-key-0123456789"


def test_same_seed_same_cohort_other_seed_differs() -> None:
    one, two, other = (
        Cohort(participants=30, seed=3),
        Cohort(participants=30, seed=3),
        Cohort(participants=30, seed=4),
    )
    assert one.participants == two.participants
    assert one.participants != other.participants


def test_cohort_is_plausible_and_has_decliners_and_roamers() -> None:
    cohort = Cohort(participants=400, decline_fraction=0.25, roam_fraction=0.3, seed=11)
    people = cohort.participants
    ages = [cohort.now.year - p.birth_year for p in people]
    assert min(ages) >= 65 and max(ages) <= 90
    assert {p.sex for p in people} == {"female", "male"}
    men = [p.grip_kg for p in people if p.sex == "male"]
    women = [p.grip_kg for p in people if p.sex == "female"]
    assert sum(men) / len(men) > sum(women) / len(women) + 5
    assert 0.9 < sum(p.gait_speed_mps for p in people) / len(people) < 1.3
    assert 0.15 < sum(p.declining for p in people) / len(people) < 0.35
    roamer = next(p for p in people if p.roams)
    assert len({station for q, _, station, _ in cohort.visits() if q == roamer}) > 1


def _by_member(cohort: Cohort) -> dict[str, list[Truth]]:
    out: dict[str, list[Truth]] = {}
    for visit in cohort.visits():
        truth = cohort.truth(*visit)
        out.setdefault(truth.member_id, []).append(truth)
    return {m: sorted(series, key=lambda t: t.visit) for m, series in out.items()}


def test_decliners_follow_their_kind_to_a_plateau_and_steady_levels_stay() -> None:
    """Each decliner's true level worsens by its kind's change (the benchmark's definitions,
    ×0.8–1.2) after a baseline of three visits — at once (step) or linearly (gradual) — then stays;
    only the kind's metrics move; a steady participant's level never does."""
    cohort = Cohort(participants=120, days=720, visit_every_days=30, decline_fraction=0.5, seed=5)
    seen: set[tuple[str, str]] = set()
    for member, series in _by_member(cohort).items():
        person = next(p for p in cohort.participants if p.member_id == member)
        first = series[0].level
        if person.decline is None:
            assert all(t.level == first and t.decline is None and t.decline_share == 0 for t in series)
            continue
        d = person.decline
        seen.add((d.kind, d.shape))
        kind = DECLINE_KINDS[d.kind]
        assert 0.8 <= d.factor <= 1.2
        stated = series[0].decline
        assert stated is not None and all(t.decline == stated for t in series)
        assert stated["kind"] == d.kind and stated["domain"] == kind.domain.value
        assert datetime.fromisoformat(stated["onset_at"]) > datetime.fromisoformat(series[2].measured_at)
        assert datetime.fromisoformat(stated["onset_at"]) <= datetime.fromisoformat(series[3].measured_at)
        shares = [t.decline_share for t in series]
        assert shares[:3] == [0.0, 0.0, 0.0] and shares == sorted(shares) and shares[-1] == 1.0
        if d.shape == "step":
            assert set(shares[3:]) == {1.0}
        else:
            assert 180 <= d.end_day - d.onset_day <= 360 and 0 < shares[3] < 1
        for t in series:
            for metric, level in t.level.items():
                change = kind.change.get(metric, 0.0) * d.factor * t.decline_share
                assert level == pytest.approx(first[metric] + change, abs=1e-3), (member, metric)
    assert seen == {(k, s) for k in DECLINE_KINDS for s in ("step", "gradual")}


def _steady_truths(participants: int = 300, visits: int = 12) -> list[list[Truth]]:
    cohort = Cohort(
        participants=participants,
        stations=["gj-01", "gj-02", "gj-03"],
        days=30 * visits,
        decline_fraction=0.0,
        roam_fraction=0.5,
        seed=21,
    )
    return list(_by_member(cohort).values())


def test_every_visit_measures_level_plus_station_offset_plus_the_tables_day_error() -> None:
    """What a visit measures is the true level, the station's fixed offset and a between-day error
    whose SD is the cited table's SEM; gait speed, chair stand and TUG share a day effect that
    makes each of them worse (their worsenings correlate 0.3, the detector's assumption: slower
    gait with slower chair stands), grip does not."""
    series = _steady_truths()
    measured = {
        "gait_speed_mps": lambda t: t.gait_speed_mps,
        "grip_max_kg": lambda t: t.grip_kg,
        "chair_stand_5x_s": lambda t: t.five_rep_s,
        "tug_time_s": lambda t: t.tug_s,
    }
    errors: dict[str, list[float]] = {m: [] for m in measured}
    for visits in series:
        for t in visits:
            assert t.station_offset == pytest.approx(station_offsets(t.station_id), abs=1e-5)
            for metric, value in measured.items():
                low, high, _ = MEASURED_RANGE[metric]
                expected = min(high, max(low, t.level[metric] + t.station_offset[metric] + t.error[metric]))
                assert value(t) == pytest.approx(expected, abs=0.051), metric  # rounded to 0.1 kg
                errors[metric].append(t.error[metric])
    for metric, values in errors.items():
        assert abs(statistics.fmean(values)) < 0.1 * MEASUREMENT_ERROR[metric].sem, metric
        assert statistics.stdev(values) == pytest.approx(MEASUREMENT_ERROR[metric].sem, rel=0.08), metric
    # lower gait speed is worse, a longer chair stand or TUG is worse
    assert statistics.correlation(errors["gait_speed_mps"], errors["chair_stand_5x_s"]) == pytest.approx(
        -0.3, abs=0.07
    )
    assert statistics.correlation(errors["chair_stand_5x_s"], errors["tug_time_s"]) == pytest.approx(
        0.3, abs=0.07
    )
    assert abs(statistics.correlation(errors["grip_max_kg"], errors["tug_time_s"])) < 0.07


def test_station_offsets_are_fixed_by_the_station_id_and_spread_as_the_table_says() -> None:
    """Every simulator process agrees on a station's offsets (seeded by its id alone, not by the
    cohort's seed), different stations differ, and over many stations the offsets spread with
    the table's station SD (sway: area ∝ amplitude², velocity ∝ amplitude × speed)."""
    one = Cohort(participants=3, stations=["nam-01"], days=30, seed=1)
    other = Cohort(participants=3, stations=["nam-01"], days=30, seed=99)
    (a,) = {json.dumps(one.truth(*v).station_offset) for v in one.visits()}
    (b,) = {json.dumps(other.truth(*v).station_offset) for v in other.visits()}
    assert a == b and json.loads(a) == pytest.approx(station_offsets("nam-01"), abs=1e-5)
    assert station_offsets("nam-01") != station_offsets("nam-02")
    offsets = [station_offsets(f"st-{n:04d}") for n in range(800)]
    for metric in ("gait_speed_mps", "grip_max_kg", "chair_stand_5x_s", "tug_time_s"):
        spread = statistics.stdev(o[metric] for o in offsets)
        assert spread == pytest.approx(MEASUREMENT_ERROR[metric].station_sd, rel=0.1), metric
    area = statistics.stdev(2 * o["sway_amplitude_log"] for o in offsets)
    velocity = statistics.stdev(o["sway_amplitude_log"] + o["sway_velocity_log"] for o in offsets)
    assert area == pytest.approx(MEASUREMENT_ERROR["sway_ellipse95_area_mm2"].station_sd, rel=0.1)
    assert velocity == pytest.approx(MEASUREMENT_ERROR["sway_mean_velocity_mm_s"].station_sd, rel=0.1)


def _station_scores(cohort: Cohort, visit: tuple[Any, ...]) -> dict[str, float]:
    """SPPB and K-FRAIL as a station scores them from the visit's device readings."""
    from processing.scoring import VisitInputs, score_visit

    participant, _, _, at = visit
    _, messages = cohort.messages(*visit)
    given: dict[str, Any] = {"sex": participant.sex, "age_years": at.year - participant.birth_year}
    stances = {"side_by_side": "side_by_side_s", "semi_tandem": "semi_tandem_s", "tandem": "tandem_s"}
    for m in messages:
        kind, payload = m.topic.split("/")[2], m.document["payload"]
        if kind == "gait":
            given |= {"walk_distance_m": payload["walk_distance_m"], "walk_time_s": payload["walk_time_s"]}
        elif kind == "balance":
            given[stances[payload["stance"]]] = payload["hold_time_s"]
        elif kind == "sit_to_stand":
            given["chair_stand_5x_s"] = payload["five_rep_time_s"]
        elif kind == "questionnaire":
            given |= payload
    scores = score_visit(VisitInputs.model_validate(given))
    assert scores.sppb is not None and scores.kfrail is not None
    return {"sppb_total": scores.sppb.total, "kfrail_score": scores.kfrail.score}


def _pooled_sd(series: list[list[float]]) -> float:
    """Within-person SD over many people (pooled variance of each person's visits)."""
    squares = sum(sum((v - statistics.fmean(s)) ** 2 for v in s) for s in series)
    return math.sqrt(squares / sum(len(s) - 1 for s in series))


def test_sppb_and_kfrail_vary_between_visits_of_steady_people_as_the_table_says() -> None:
    """The scores a station computes from the noisy parts move between visits of people who do not
    change by about the table's SEM: SPPB 0.6 point (from the walk, the chair stands and the
    day's balance holds), K-FRAIL 0.6 item (answers flipping between visits)."""
    cohort = Cohort(participants=150, stations=["gj-01"], days=240, decline_fraction=0.0, seed=8)
    scores: dict[str, dict[str, list[float]]] = {"sppb_total": {}, "kfrail_score": {}}
    for visit in cohort.visits():
        for metric, value in _station_scores(cohort, visit).items():
            scores[metric].setdefault(visit[0].member_id, []).append(value)
    for metric, people in scores.items():
        sd = _pooled_sd(list(people.values()))
        assert sd == pytest.approx(MEASUREMENT_ERROR[metric].sem, abs=0.12), (metric, sd)


def test_without_measurement_error_a_visit_measures_the_true_level() -> None:
    """The noise-free cohort (pipeline-plumbing tests only): no offsets, no errors, true answers."""
    cohort = Cohort(participants=20, days=120, decline_fraction=0.5, seed=3, measurement_error=False)
    for visit in cohort.visits():
        truth, messages = cohort.messages(*visit)
        assert set(truth.station_offset.values()) == set(truth.error.values()) == {0.0}
        assert truth.gait_speed_mps == pytest.approx(truth.level["gait_speed_mps"], abs=1e-3)
        assert truth.five_rep_s == pytest.approx(truth.level["chair_stand_5x_s"], abs=0.01)
        answers = next(m.document["payload"] for m in messages if "/questionnaire/" in m.topic)
        true = visit[0].self_report
        assert (answers["fatigue"], answers["illness_count"]) == (true.fatigue, true.illness_count)


def test_every_device_kind_passes_the_edge_and_malformed_ones_are_refused() -> None:
    cohort = Cohort(participants=6, seed=2)
    kinds, good, refused = set(), 0, 0
    for _, message, broken in stream(cohort, malformed_share=0.1, seed=2):
        raw = json.dumps(message.document).encode()
        try:
            contract, _ = to_message(message.topic, raw, message.station_id, KEY)
        except ContractError:
            assert broken
            refused += 1
            continue
        assert not broken
        kinds.add(contract.device_kind)
        good += 1
    assert kinds == set(KINDS)
    assert refused > 0 and good > 0


def _recording_messages(cohort: Cohort) -> list[tuple[Truth, dict[str, Any]]]:
    """(truth, {kind: contract payload with a recording}) per visit, through the edge intake."""
    out = []
    for visit in cohort.visits():
        truth, messages = cohort.messages(*visit)
        payloads = {}
        for message in messages:
            contract, _ = to_message(message.topic, json.dumps(message.document).encode(), "gj-01", KEY)
            if getattr(contract.payload, "recording", None) is not None:
                kind = contract.device_kind.value
                if getattr(contract.payload, "eyes", "open") == "closed":
                    kind = "balance_eyes_closed"  # the second centre-of-pressure trial
                payloads[kind] = contract.payload
                assert len(json.dumps(message.document)) < 150_000, "a realistic size, not megabytes"
        out.append((truth, payloads))
    return out


def test_recordings_are_made_from_the_noisy_day_and_pass_the_edge() -> None:
    """The raw signals are synthesised from what the visit measured (level + station offset + the
    day's error), not from the true level: a kernel analysing them measures the noisy day."""
    from edge.simulate.recordings import sway_truth

    cohort = Cohort(
        participants=2, days=90, visit_every_days=30, decline_fraction=1.0, seed=8, recordings=True
    )
    person = cohort.participants[0]
    mine = [(t, p) for t, p in _recording_messages(cohort) if t.member_id == person.member_id]
    assert len(mine) == 3
    for truth, payloads in mine:
        assert set(payloads) == {"gait", "balance", "balance_eyes_closed", "sit_to_stand", "tug"}
        gait, balance, rec = payloads["gait"], payloads["balance"], truth.recordings
        assert rec is not None
        # Lower-back IMU, 100 Hz, ~30 s; the walk's straight speed is the visit's measured speed.
        assert gait.recording.channels == ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
        assert gait.recording.fs_hz == 100.0 and 28 <= gait.recording.duration_s <= 33
        assert rec["gait"]["straight_speed_mps"] == truth.gait_speed_mps
        assert truth.gait_speed_mps != pytest.approx(truth.level["gait_speed_mps"], abs=1e-3)
        assert rec["gait"]["n_samples"] == gait.recording.n_samples
        assert gait.sensor_height_m == rec["gait"]["sensor_height_m"]
        # Centre of pressure, 30 s side-by-side: a second balance reading beside the SPPB hold, its
        # sway scaled by the station's platform and the day.
        assert balance.recording.channels == ("cop_x", "cop_y") and balance.recording.duration_s == 30.0
        assert balance.stance == "side_by_side" and balance.hold_time_s == 30.0
        amplitude = math.exp(truth.station_offset["sway_amplitude_log"] + truth.error["sway_amplitude_log"])
        speed = math.exp(truth.station_offset["sway_velocity_log"] + truth.error["sway_velocity_log"])
        age = datetime.fromisoformat(truth.measured_at).year - person.birth_year
        assert rec["balance"]["rms_ap_mm"] == pytest.approx(
            sway_truth(age, "open", amplitude, speed).rms_ap_mm, abs=1e-4
        )
        assert amplitude != pytest.approx(1.0, abs=1e-3)
        assert rec["sit_to_stand"]["n_reps"] == 5
        assert abs(rec["sit_to_stand"]["five_rep_time_s"] - truth.five_rep_s) < 0.15 * truth.five_rep_s
        assert abs(rec["tug"]["total_time_s"] - truth.tug_s) < 0.25 * truth.tug_s


def test_readings_are_the_same_with_or_without_recordings() -> None:
    """Load tests send readings only; those readings (and their ids) are the ones a recording run
    sends, because the recordings draw from their own random stream."""
    plain = Cohort(participants=3, seed=4)
    rich = Cohort(participants=3, seed=4, recordings=True)
    for visit_plain, visit_rich in zip(plain.visits(), rich.visits(), strict=True):
        truth_plain, messages_plain = plain.messages(*visit_plain)
        truth_rich, messages_rich = rich.messages(*visit_rich)
        assert truth_plain.recordings is None and truth_rich.recordings is not None
        stripped = [
            {
                **m.document,
                "payload": {
                    k: v
                    for k, v in m.document["payload"].items()
                    if k not in ("recording", "sensor_height_m")
                },
            }
            for m in messages_rich
            if "recording" not in m.document["payload"]
            or m.document["payload"].get("stance") != "side_by_side"
        ]
        assert stripped == [m.document for m in messages_plain]
        assert len(messages_rich) == len(messages_plain) + 2


def test_recording_truth_is_what_the_gait_and_balance_analyses_find() -> None:
    """The truth file is an oracle for the gateway: the landed analyses recover it."""
    import numpy as np

    from processing.balance import analyze_balance
    from processing.gait import analyze_gait

    cohort = Cohort(
        participants=3, days=60, visit_every_days=30, decline_fraction=0.5, seed=12, recordings=True
    )
    for truth, payloads in _recording_messages(cohort):
        gait, balance, rec = payloads["gait"], payloads["balance"], truth.recordings
        assert rec is not None
        imu = gait.recording.as_array().astype(np.float64)
        found = analyze_gait(imu[:, :3], 100.0, gyr=imu[:, 3:], sensor_height_m=gait.sensor_height_m)
        assert abs(found.cadence_spm - rec["gait"]["cadence_spm"]) < 1.0
        assert abs(found.walking_speed_mps - rec["gait"]["walking_speed_mps"]) < 0.05
        assert found.n_turns == rec["gait"]["n_turns"]
        sway = analyze_balance(balance.recording.as_array().astype(np.float64), 100.0)
        assert abs(sway.ellipse95_area_mm2 / rec["balance"]["ellipse95_area_mm2"] - 1) < 0.02
        assert abs(sway.mean_velocity_mm_s / rec["balance"]["mean_velocity_mm_s"] - 1) < 0.05
        closed_payload, closed = payloads["balance_eyes_closed"], rec["balance_eyes_closed"]
        assert closed_payload.eyes == "closed" and closed["eyes"] == "closed"
        shut = analyze_balance(closed_payload.recording.as_array().astype(np.float64), 100.0)
        assert abs(shut.ellipse95_area_mm2 / closed["ellipse95_area_mm2"] - 1) < 0.02
        romberg = shut.mean_velocity_mm_s / sway.mean_velocity_mm_s
        assert romberg > 1.2 and abs(romberg / closed["romberg_mean_velocity"] - 1) < 0.05


def test_cli_publishes_as_devices_with_a_truth_file(mosquitto: Mosquitto, tmp_path: Path) -> None:
    received = tmp_path / "received.txt"
    sub = subprocess.Popen(
        [
            "mosquitto_sub",
            "-h",
            mosquitto.host,
            "-p",
            str(mosquitto.port),
            "-t",
            "fwdev/v1/#",
            "-q",
            "1",
            "-v",
        ],
        stdout=received.open("wb"),
    )
    try:
        import time

        time.sleep(0.5)  # mosquitto_sub has no readiness signal; a fresh broker subscribes fast
        truth = tmp_path / "truth.jsonl"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "frailwatch.cli",
                "simulate",
                "--participants",
                "4",
                "--stations",
                "gj-01",
                "--days",
                "40",
                "--visit-every",
                "20",
                "--broker",
                f"gj-01={mosquitto.host}:{mosquitto.port}",
                "--truth",
                str(truth),
            ],
            env={**os.environ},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        time.sleep(0.5)
    finally:
        sub.terminate()
        sub.wait(5)
    lines = received.read_text().splitlines()
    visits = [json.loads(line) for line in truth.read_text().splitlines()]
    assert len(visits) == 8
    # Recordings are on by default: two more (30 s centre-of-pressure, eyes open and closed)
    # balance readings per visit.
    assert len(lines) == len(visits) * Cohort(participants=1, recordings=True).messages_per_visit
    assert {line.split("/")[2] for line in lines} == set(KINDS)
    recorded = {"gait", "balance", "balance_eyes_closed", "sit_to_stand", "tug"}
    assert all(set(v["recordings"]) == recorded for v in visits)
    gait = [json.loads(line.split(" ", 1)[1]) for line in lines if line.split("/")[2] == "gait"]
    assert all(g["payload"]["recording"]["fs_hz"] == 100.0 for g in gait)


def test_cli_publishes_contract_messages_straight_to_central(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """Load-test mode: pseudonymised, contract-valid messages on the central topics, no raw ids."""
    import time

    from telemetry import decode

    received = tmp_path / "central.txt"
    sub = subprocess.Popen(
        ["mosquitto_sub", "-h", mosquitto.host, "-p", str(mosquitto.port), "-t", "fw/v1/#", "-q", "1"],
        stdout=received.open("wb"),
    )
    try:
        time.sleep(0.5)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "frailwatch.cli",
                "simulate",
                "--participants",
                "3",
                "--stations",
                "gj-01,gj-02",
                "--days",
                "20",
                "--visit-every",
                "20",
                "--central",
                f"{mosquitto.host}:{mosquitto.port}",
                "--rate",
                "500",
                "--no-recordings",
            ],
            env={**os.environ, "FRAILWATCH_EDGE_PSEUDONYM_KEY": KEY.decode()},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        time.sleep(0.5)
    finally:
        sub.terminate()
        sub.wait(5)
    blob = received.read_bytes()
    cohort = Cohort(participants=3, stations=["gj-01", "gj-02"], days=20, visit_every_days=20, seed=1)
    for p in cohort.participants:
        for raw in (p.member_id, p.resident_number, p.name, p.phone):
            assert raw.encode() not in blob
    # Recordings hold no newlines (base64), so the stream splits into one JSON message per line.
    messages = [decode(line) for line in blob.splitlines() if line]
    assert len(messages) == 3 * cohort.messages_per_visit
    assert {m.station_id for m in messages} == {"gj-01", "gj-02"} or len(
        {m.station_id for m in messages}
    ) >= 1


def test_cli_refuses_an_unusable_recording_rate_with_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "frailwatch.cli", "simulate", "--recording-hz", "5", "--participants", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["--recording-hz 5.0 is outside 10–1000 Hz"]


# --- the simulator's clock ------------------------------------------------------------------------

A_YEAR = timedelta(days=365)


def _run_simulate(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "frailwatch.cli", "simulate", *args],
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _subscribe(broker: Mosquitto, out: Path) -> subprocess.Popen[bytes]:
    sub = subprocess.Popen(
        ["mosquitto_sub", "-h", broker.host, "-p", str(broker.port), "-t", "fwdev/v1/#", "-q", "1"],
        stdout=out.open("wb"),
    )
    time.sleep(0.5)  # mosquitto_sub has no readiness signal; a fresh broker subscribes fast
    return sub


def _documents(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _simulate_into(broker: Mosquitto, received: Path, *args: str) -> list[dict[str, Any]]:
    """``frailwatch simulate`` with ``args`` against ``broker``, every device document mosquitto_sub
    saw on it, in order (an independent client: the simulator's own counts are not trusted)."""
    sub = _subscribe(broker, received)
    try:
        result = _run_simulate(*args)
        assert result.returncode == 0, result.stderr
        time.sleep(0.5)  # the last deliveries to mosquitto_sub
    finally:
        sub.terminate()
        sub.wait(5)
    return _documents(received)


def test_a_cohort_with_its_clock_a_year_ahead_lives_in_that_year() -> None:
    """The clock injected a year ahead: the simulated year ends the day before it, ages count in
    its year, and no reading is in its future (with the old fixed 2026-03-02 start and ages from
    2026, neither held a year on)."""
    ahead = datetime.now(UTC) + A_YEAR
    cohort = Cohort(participants=40, days=365, visit_every_days=30, seed=3, now=ahead, recordings=False)
    assert cohort.now == ahead
    assert all(65 <= ahead.year - p.birth_year <= 90 for p in cohort.participants)
    assert all(p.resident_number.startswith(f"{p.birth_year % 100:02d}") for p in cohort.participants)
    day = datetime(ahead.year, ahead.month, ahead.day, tzinfo=UTC)
    times = []
    for visit in cohort.visits():
        _, messages = cohort.messages(*visit)
        times += [datetime.fromisoformat(m.document["measured_at"]) for m in messages]
    assert max(times) < day, "a reading on or after the clock's day"
    assert min(times) >= day - timedelta(days=365)
    assert max(times) > day - timedelta(days=30), "the simulated year reaches up to the clock"


def test_cli_with_the_clock_a_year_ahead_publishes_that_year(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """`frailwatch simulate --now` (the clock, injected) through a real broker: every reading
    mosquitto_sub sees lies in the year before that clock, with ages counted in its year."""
    ahead = (datetime.now(UTC) + A_YEAR).replace(microsecond=0)
    documents = _simulate_into(
        mosquitto,
        tmp_path / "received.txt",
        *("--participants", "3", "--stations", "gj-01", "--days", "365", "--visit-every", "60"),
        *("--broker", f"gj-01={mosquitto.host}:{mosquitto.port}", "--no-recordings"),
        *("--now", ahead.isoformat()),
    )
    expected = Cohort(participants=3, stations=["gj-01"], days=365, visit_every_days=60, now=ahead)
    assert len(documents) == len(expected.visits()) * expected.messages_per_visit
    times = [datetime.fromisoformat(d["measured_at"]) for d in documents]
    assert ahead - timedelta(days=366) < min(times) and max(times) < ahead
    births = [d["payload"]["birth_year"] for d in documents if "birth_year" in d["payload"]]
    assert births and all(65 <= ahead.year - b <= 90 for b in births)


def test_a_years_simulation_passes_a_real_edge_agent_today(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    """What docker-compose.yml runs (365 days), with the real clock, through `frailwatch edge run`:
    no reading is refused as more than 24 h in the future (the fixed 2026-03-02 start put the
    last three months there), every one reaches the central broker."""
    from tests._edge_support import CentralCapture, EdgeProcess, edge_settings_env, wait_until

    devices, central = mosquitto_factory(name="station"), mosquitto_factory(name="central")
    capture = CentralCapture(central)
    agent = EdgeProcess(
        edge_settings_env("gj-01", devices, central, tmp_path / "spool"), tmp_path / "edge.log"
    )
    agent.start()
    try:
        assert agent.wait_device_ready(), agent.log()[-3000:]
        result = _run_simulate(
            *("--participants", "3", "--stations", "gj-01", "--days", "365", "--visit-every", "60"),
            *("--broker", f"gj-01={devices.host}:{devices.port}", "--no-recordings"),
        )
        assert result.returncode == 0, result.stderr
        sent = int(result.stderr.split("published ")[1].split()[0])
        expected = Cohort(participants=3, stations=["gj-01"], days=365, visit_every_days=60)
        assert sent == len(expected.visits()) * expected.messages_per_visit

        def letters() -> list[dict[str, Any]]:
            return [json.loads(m.payload) for m in capture.snapshot() if m.topic.endswith("/deadletter")]

        assert wait_until(lambda: len(capture.data()) + len(letters()) >= sent, 40), agent.log()[-3000:]
        assert letters() == [], "readings refused"
        assert len({d["message_id"] for d in capture.data()}) == sent
    finally:
        agent.stop()
        capture.close()


def test_stations_simulated_apart_never_share_a_member_id(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    """One simulator per station, as docker-compose.yml runs them (own seed each): different
    people, so no member id in common (before, both drew M1000000, M1000001, ...)."""
    seen: dict[str, set[str]] = {}
    for seed, station in enumerate(("gwangsan-01", "nam-01"), start=1):
        broker = mosquitto_factory(name=station)
        documents = _simulate_into(
            broker,
            tmp_path / f"{station}.txt",
            *("--participants", "5", "--stations", station, "--days", "30", "--seed", str(seed)),
            *("--broker", f"{station}={broker.host}:{broker.port}", "--no-recordings"),
        )
        seen[station] = {d["participant_id"] for d in documents}
    assert len(seen["gwangsan-01"]) == len(seen["nam-01"]) == 5
    assert not seen["gwangsan-01"] & seen["nam-01"]


def test_a_roaming_participant_keeps_one_member_id_at_every_station() -> None:
    cohort = Cohort(participants=40, stations=["gj-01", "gj-02"], roam_fraction=0.5, days=120, seed=9)
    ids = [p.member_id for p in cohort.participants]
    assert len(set(ids)) == len(ids)
    stations_of: dict[str, set[str]] = {}
    for visit in cohort.visits():
        _, messages = cohort.messages(*visit)
        for m in messages:
            stations_of.setdefault(m.document["participant_id"], set()).add(m.station_id)
    roamers = {p.member_id for p in cohort.participants if p.roams}
    assert roamers and all(stations_of[r] == {"gj-01", "gj-02"} for r in roamers if len(stations_of[r]) > 1)
    assert any(len(stations_of[r]) > 1 for r in roamers)
    assert all(len(stations_of[p.member_id]) == 1 for p in cohort.participants if not p.roams)


def test_each_visit_sends_eyes_open_and_eyes_closed_stances_for_a_romberg_ratio(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """Through a real broker: every visit has a 30 s side-by-side centre-of-pressure trial with
    eyes open and one with eyes closed; the balance analysis of the two gives the Romberg ratio
    the truth file states (eyes closed sway more)."""
    import numpy as np

    from processing.balance import analyze_balance
    from telemetry.recording import Recording

    truth = tmp_path / "truth.jsonl"
    documents = _simulate_into(
        mosquitto,
        tmp_path / "received.txt",
        *("--participants", "2", "--stations", "gj-01", "--days", "60", "--visit-every", "30"),
        *("--broker", f"gj-01={mosquitto.host}:{mosquitto.port}", "--truth", str(truth)),
        *("--decline-fraction", "0.5", "--seed", "4"),
    )
    trials: dict[tuple[str, str], dict[str, Any]] = {}
    for d in documents:
        payload = d["payload"]
        if payload.get("recording") is not None and "stance" in payload:
            key = (d["participant_id"], d["visit_id"])
            assert payload["stance"] == "side_by_side" and payload["hold_time_s"] == 30.0
            assert payload["eyes"] not in trials.setdefault(key, {}), "one trial per eyes state"
            trials[key][payload["eyes"]] = payload
    truths = sorted(_documents(truth), key=lambda t: (t["member_id"], t["visit"]))
    assert len(trials) == len(truths) == 4
    # visit ids carry the visit's time (v-<station>-<YYYYmmddHHMM>-<hex>): sorted = visit order
    for (_member, _visit_id), t in zip(sorted(trials), truths, strict=True):
        both = trials[(_member, _visit_id)]
        assert _member == t["member_id"] and set(both) == {"open", "closed"}
        sway = {
            eyes: analyze_balance(
                Recording.model_validate(p["recording"]).as_array().astype(np.float64), 100.0
            )
            for eyes, p in both.items()
        }
        opened = t["recordings"]["balance"]
        assert abs(sway["open"].mean_velocity_mm_s / opened["mean_velocity_mm_s"] - 1) < 0.05
        ratio = sway["closed"].mean_velocity_mm_s / sway["open"].mean_velocity_mm_s
        assert ratio > 1.2, "eyes closed must sway more"
        stated = t["recordings"]["balance_eyes_closed"]["romberg_mean_velocity"]
        assert abs(ratio / stated - 1) < 0.05
