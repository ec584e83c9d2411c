"""A seeded cohort of older adults visiting screening stations, with known truth.

Baselines follow Korean community norms (KFACS/AWGS 2019 ranges): grip ~ 28±6 kg (men) and
18±4 kg (women) falling with age, usual gait speed ~ 1.1±0.2 m/s, five chair stands ~ 11±2.5 s.

**Declines.** A configurable share of participants declines, each of one kind of
:mod:`edge.simulate.declines` (the decline-rates benchmark's definitions: substantial mobility,
moderate mobility, strength only; as a step or gradually over 6–12 months, then a plateau), drawn
with equal chances. A decline starts between the participant's third and fourth visit, so a
personal baseline of three visits exists. Mobility declines slow the walk and lengthen the chair
stands and TUG (the SPPB follows from them, as the station scores it); a strength-only decline
weakens grip. Self-reports and balance do not decline. Steady participants do not age within the
simulated span (the benchmark's ageing, −0.01 m/s a year, is far below any error here).

**Measurement error** (:mod:`edge.simulate.measurement`, from the cited between-day SEM table
:data:`processing.cases.measurement_error.MEASUREMENT_ERROR`): every visit measures the person's
true level plus the station's fixed offsets plus the day's error, for what the devices report
*and* for the values the raw recordings are synthesised from, so an analysis of a recording
measures the noisy day, as in the field. Questionnaire answers flip between visits as often as the
table's K-FRAIL SEM implies. ``measurement_error=False`` measures the true level exactly (only for
tests of pipeline plumbing).

**Truth.** Each visit's :class:`Truth` says what was measured (``gait_speed_mps``, ``grip_kg``, …:
the noisy day's values), the person's true ``level`` that day, the station's ``station_offset`` and
the day's ``error`` (measured = level + offset + error, before rounding), and who declines, how
and when (``decline``: kind, domain, shape, size, onset and end; ``decline_share``: how much of it
was reached at this visit).

Time is relative to the simulator's clock (``now``, the system clock unless given): the
simulated ``days`` are the days before ``now``'s UTC day, so every reading is in the past
whenever the simulator runs, and birth years are ``now``'s year minus the age. Member ids carry the
participant's home station (``M-<station>-<n>``), so cohorts simulated separately for different
stations (one simulator per station, as in docker-compose.yml) never share an id; only a roaming
participant, on purpose, is seen at several stations under one id.

With ``recordings=True`` (the ``frailwatch simulate`` default; off by default in this API so
existing callers keep their small, fast visits), gait, sit-to-stand and TUG readings carry a
lower-back IMU recording and two extra 30 s balance readings carry the centre of pressure, side
by side with eyes open and with eyes closed (the pair a Romberg ratio needs), made by the
NumPy-only signal models (:mod:`edge.simulate.recordings`); their realised truth is in
``Truth.recordings``. About 290 kB of device JSON and 0.25 s of CPU per visit at 100 Hz. Off,
every visit sends the scalar readings only (load tests).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np

from edge.simulate import measurement as me
from edge.simulate.declines import DECLINE_KINDS, GRADUAL_DAYS, SHAPES, SIZE_FACTOR, Decline, Shape, decline
from edge.simulate.names import korean_name
from telemetry.cases import Domain

KINDS = (
    "profile",
    "vitals",
    "body_composition",
    "grip",
    "gait",
    "balance",
    "sit_to_stand",
    "tug",
    "cognition",
    "hrv",
    "questionnaire",
    "health_screening",
)
WALK_M = 4.0  # the SPPB's 4 m usual-pace walk
HOLD_S = 10.0  # every SPPB stance is timed to 10 s
BASELINE_VISITS = 3  # a decline starts after this many visits (the detector's baseline)
APPLIED = ("gait_speed_mps", "grip_max_kg", "chair_stand_5x_s", "tug_time_s")  # what a decline changes
#: What a device can report (low, high, decimals): a very fast chair stand plus a large error on
#: the fast side is still ≥ 4 s, as no one stands up five times quicker.
MEASURED_RANGE = {
    "gait_speed_mps": (0.2, 2.5, 3),
    "grip_max_kg": (2.0, 90.0, 1),
    "chair_stand_5x_s": (4.0, 60.0, 2),
    "tug_time_s": (4.0, 120.0, 2),
}


@dataclass(frozen=True)
class SelfReport:
    """A participant's true questionnaire state (the answers without recall error)."""

    fatigue: bool
    resistance: bool
    ambulation: bool
    illness_count: int
    exhaustion_days_per_week: int
    activity_kcal_week: float

    @property
    def kfrail_score(self) -> int:
        """True K-FRAIL score (no true weight loss: nobody in the cohort loses weight)."""
        return int(self.fatigue) + int(self.resistance) + int(self.ambulation) + int(self.illness_count >= 5)


@dataclass(frozen=True)
class Participant:
    member_id: str
    resident_number: str
    name: str
    phone: str
    sex: str
    birth_year: int
    height_cm: float
    weight_kg: float
    grip_kg: float
    gait_speed_mps: float
    five_rep_s: float
    tug_s: float
    tandem_capacity_s: float  # how long they could hold the tandem stance (the test stops at 10 s)
    self_report: SelfReport
    decline: Decline | None
    home_station: str
    roams: bool
    index: int  # position in the cohort: seeds the participant's per-visit random streams

    @property
    def declining(self) -> bool:
        return self.decline is not None


@dataclass(frozen=True)
class Truth:
    """What was simulated for one visit (one JSON line of the ground-truth file).

    ``gait_speed_mps`` … ``balance_hold_s`` are what the visit measured (level + station offset +
    the day's error): what the devices report and the recordings are made from. ``level`` is the
    person's true level that day, ``station_offset`` and ``error`` the two error terms (metric
    units; sway and the balance hold as log factors)."""

    member_id: str
    station_id: str
    visit: int
    measured_at: str
    declining: bool
    gait_speed_mps: float
    grip_kg: float
    five_rep_s: float
    tug_s: float
    balance_hold_s: float
    decline: dict[str, Any] | None = None  # kind, domain, shape, factor, onset/end (day and time), change
    decline_share: float = 0.0  # share of the decline reached at this visit
    level: dict[str, float] = field(default_factory=dict)
    station_offset: dict[str, float] = field(default_factory=dict)
    error: dict[str, float] = field(default_factory=dict)
    # Per recording kind (gait, balance, sit_to_stand, tug): the realised truth of the raw signal.
    recordings: dict[str, dict[str, Any]] | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DeviceMessage:
    """A reading as a station device publishes it: raw identifiers, station-local topic."""

    station_id: str
    topic: str
    document: dict[str, Any]


def _self_report(rng: np.random.Generator) -> SelfReport:
    """True answers of a community-dwelling older adult (FrailWatch choice, plausible shares: about
    half robust by K-FRAIL, a few frail)."""
    return SelfReport(
        fatigue=bool(rng.random() < 0.2),
        resistance=bool(rng.random() < 0.2),
        ambulation=bool(rng.random() < 0.1),
        illness_count=int(min(11, rng.poisson(1.8))),
        exhaustion_days_per_week=int(rng.choice(8, p=[0.5, 0.2, 0.15, 0.07, 0.04, 0.02, 0.01, 0.01])),
        activity_kcal_week=float(np.exp(rng.normal(math.log(1400.0), 0.6))),
    )


def _decline(rng: np.random.Generator, first_day: int, every: int) -> Decline:
    """A decline of a random kind and shape, starting between the third and the fourth visit."""
    kind = str(rng.choice(list(DECLINE_KINDS)))
    shape = cast(Shape, str(rng.choice(SHAPES)))
    factor = float(rng.uniform(*SIZE_FACTOR))
    onset = first_day + (BASELINE_VISITS - 1 + float(rng.uniform(0.0, 1.0))) * every
    days = float(rng.uniform(*GRADUAL_DAYS)) if shape == "gradual" else 0.0
    return decline(kind, shape, factor, onset, days)


def _participant(
    rng: np.random.Generator,
    n: int,
    stations: list[str],
    decline_fraction: float,
    roam_fraction: float,
    year: int,
    every: int,
) -> Participant:
    """Participant ``n``, ``age`` years old in ``year`` (the simulator's present)."""
    sex = "female" if rng.random() < 0.55 else "male"
    age = int(rng.integers(65, 91))
    birth_year = year - age
    male = sex == "male"
    height = float(rng.normal(166 if male else 152, 5.5))
    bmi = float(rng.normal(24, 2.8))
    grip = float(max(8.0, rng.normal(34 if male else 21, 5) - 0.35 * (age - 65)))
    gait = float(np.clip(rng.normal(1.25 - 0.012 * (age - 65), 0.15), 0.45, 1.7))
    five = float(np.clip(rng.normal(9.5 + 0.12 * (age - 65), 1.8), 5.5, 25))
    declining = bool(rng.random() < decline_fraction)
    home = stations[n % len(stations)]
    identity = {
        # The home station in the id: simulators run apart for other stations draw other ids.
        "member_id": f"M-{home}-{n:05d}",
        "resident_number": f"{birth_year % 100:02d}"
        + f"{int(rng.integers(1, 13)):02d}{int(rng.integers(1, 29)):02d}-"
        + f"{1 if male else 2}{int(rng.integers(100000, 999999))}",
        "name": korean_name(f"M-{home}-{n:05d}"),
        "phone": f"010-{int(rng.integers(1000, 9999))}-{int(rng.integers(1000, 9999))}",
    }
    roams = bool(rng.random() < roam_fraction)
    # Tandem stance (FrailWatch choice): most community participants hold it the full 10 s, fewer
    # with age (median 30 s at 65, halving about every 14 years).
    tandem = float(np.exp(rng.normal(math.log(30.0) - 0.05 * (age - 65), 0.7)))
    return Participant(
        **identity,
        sex=sex,
        birth_year=birth_year,
        height_cm=round(height, 1),
        weight_kg=round(bmi * (height / 100) ** 2, 1),
        grip_kg=round(grip, 1),
        gait_speed_mps=round(gait, 3),
        five_rep_s=round(five, 2),
        tug_s=round(float(np.clip(3 / gait * 2 + 3, 6, 30)), 2),
        tandem_capacity_s=round(tandem, 2),
        self_report=_self_report(rng),
        decline=_decline(rng, n % every, every) if declining else None,
        home_station=home,
        roams=roams,
        index=n,
    )


def default_start(now: datetime, days: int) -> datetime:
    """09:30 Korean time (00:30 UTC) ``days`` days before ``now``'s UTC day: the simulated days
    end the day before ``now``, so no reading lies in the simulator's future."""
    day = now.astimezone(UTC).date() - timedelta(days=days)
    return datetime(day.year, day.month, day.day, 0, 30, tzinfo=UTC)


class Cohort:
    """M participants visiting N stations over D days (one visit every ``visit_every_days``).

    ``now`` is the simulator's clock reading (default: the system clock): the D days end the day
    before it (:func:`default_start`) and ages are counted in its year. ``start`` overrides the
    first day (tests that need fixed dates). ``measurement_error=False`` makes every visit measure
    the true level exactly (tests of pipeline plumbing only; the field is never like that).
    """

    def __init__(
        self,
        participants: int = 20,
        stations: list[str] | None = None,
        days: int = 90,
        visit_every_days: int = 30,
        decline_fraction: float = 0.2,
        roam_fraction: float = 0.2,
        seed: int = 1,
        start: datetime | None = None,
        recordings: bool = False,
        recording_fs_hz: float = 100.0,
        now: datetime | None = None,
        measurement_error: bool = True,
    ) -> None:
        self.now = (now if now is not None else datetime.now(UTC)).astimezone(UTC)
        self.stations = stations or ["gj-01", "gj-02"]
        self.recordings = recordings
        self.recording_fs_hz = recording_fs_hz
        self.days = days
        self.visit_every_days = visit_every_days
        self.start = start if start is not None else default_start(self.now, days)
        self.seed = seed
        self.measurement_error = measurement_error
        rng = np.random.default_rng(seed)
        year, every = self.now.year, visit_every_days
        self.participants = [
            _participant(rng, n, self.stations, decline_fraction, roam_fraction, year, every)
            for n in range(participants)
        ]

    @property
    def messages_per_visit(self) -> int:
        """One reading per device kind, two more balance stances (the SPPB needs all three) and,
        with recordings, two 30 s centre-of-pressure trials (eyes open, eyes closed)."""
        return len(KINDS) + 2 + (2 if self.recordings else 0)

    def visits(self) -> list[tuple[Participant, int, str, datetime]]:
        """(participant, visit index, station, time) in time order."""
        out = []
        for n, p in enumerate(self.participants):
            for visit, day in enumerate(range(n % self.visit_every_days, self.days, self.visit_every_days)):
                station = self.stations[(n + visit) % len(self.stations)] if p.roams else p.home_station
                at = self.start + timedelta(days=day, minutes=(n * 7) % 480)
                out.append((p, visit, station, at))
        out.sort(key=lambda v: v[3])
        return out

    def day_of(self, at: datetime) -> float:
        """Days since the cohort's first day (the time scale of :class:`Decline`)."""
        return (at - self.start).total_seconds() / 86_400.0

    def level(self, p: Participant, at: datetime) -> dict[str, float]:
        """The person's true level at ``at``: their baseline worsened by the decline reached."""
        change = p.decline.change_on(self.day_of(at)) if p.decline is not None else {}
        return {
            "gait_speed_mps": p.gait_speed_mps + change.get("gait_speed_mps", 0.0),
            "grip_max_kg": p.grip_kg + change.get("grip_max_kg", 0.0),
            "chair_stand_5x_s": p.five_rep_s + change.get("chair_stand_5x_s", 0.0),
            "tug_time_s": p.tug_s + change.get("tug_time_s", 0.0),
            "tandem_capacity_s": p.tandem_capacity_s,
            "kfrail_score": float(p.self_report.kfrail_score),
        }

    def _errors(self, p: Participant, visit: int, station: str) -> tuple[dict[str, float], me.DayErrors]:
        if not self.measurement_error:
            return dict(me.NO_OFFSETS), me.NO_ERRORS
        # Its own stream: the day's errors are the same with recordings on or off.
        return dict(me.station_offsets(station)), me.day_errors(
            np.random.default_rng([self.seed, 1_000_000 + p.index, visit, 2])
        )

    def truth(self, p: Participant, visit: int, station: str, at: datetime) -> Truth:
        level = self.level(p, at)
        offsets, errors = self._errors(p, visit, station)

        def measured(metric: str) -> float:
            low, high, digits = MEASURED_RANGE[metric]
            value = level[metric] + offsets[metric] + errors.values[metric]
            return round(float(np.clip(value, low, high)), int(digits))

        hold = min(HOLD_S, level["tandem_capacity_s"] * math.exp(errors.values["hold_log"]))
        share = p.decline.share(self.day_of(at)) if p.decline is not None else 0.0
        return Truth(
            member_id=p.member_id,
            station_id=station,
            visit=visit,
            measured_at=at.isoformat(),
            declining=p.declining,
            gait_speed_mps=measured("gait_speed_mps"),
            grip_kg=measured("grip_max_kg"),
            five_rep_s=measured("chair_stand_5x_s"),
            tug_s=measured("tug_time_s"),
            balance_hold_s=round(hold, 1),
            decline=self._decline_json(p),
            decline_share=round(share, 4),
            level={k: round(v, 4) for k, v in level.items()},
            station_offset={k: round(v, 5) for k, v in offsets.items()},
            error={k: round(v, 5) for k, v in errors.values.items()},
        )

    def _decline_json(self, p: Participant) -> dict[str, Any] | None:
        if p.decline is None:
            return None
        d = p.decline
        stated = d.as_json()
        return {
            **stated,
            # What is imposed; the SPPB follows from the timed parts, as the station scores it.
            "change": {m: v for m, v in stated["change"].items() if m in APPLIED},
            "onset_at": (self.start + timedelta(days=d.onset_day)).isoformat(),
            "end_at": (self.start + timedelta(days=d.end_day)).isoformat(),
        }

    def messages(
        self, p: Participant, visit: int, station: str, at: datetime
    ) -> tuple[Truth, list[DeviceMessage]]:
        """Every device kind's reading for one visit, as the devices publish them."""
        truth = self.truth(p, visit, station, at)
        _, errors = self._errors(p, visit, station)
        rng = np.random.default_rng([self.seed, 1_000_000 + p.index, visit])
        # No member id in it; hex, as a zero-padded decimal reads as a phone number (0x-xxx-xxxx).
        visit_id = f"v-{station}-{at:%Y%m%d%H%M}-{int(rng.integers(1 << 30)):08x}"
        payloads: dict[str, dict[str, Any]] = {
            "profile": {"sex": p.sex, "birth_year": p.birth_year, "height_cm": p.height_cm},
            "vitals": {
                "systolic_mmhg": int(rng.integers(110, 150)),
                "diastolic_mmhg": int(rng.integers(65, 90)),
                "heart_rate_bpm": int(rng.integers(58, 90)),
                "spo2_pct": int(rng.integers(94, 100)),
            },
            "body_composition": {"weight_kg": p.weight_kg, "height_cm": p.height_cm},
            "grip": {
                "trials": [
                    {"hand": "right", "force_kg": truth.grip_kg},
                    {"hand": "left", "force_kg": round(truth.grip_kg * 0.92, 1)},
                ]
            },
            "gait": {"walk_distance_m": WALK_M, "walk_time_s": round(WALK_M / truth.gait_speed_mps, 2)},
            # The SPPB balance part (Guralnik 1994): tandem here, side-by-side and semi-tandem as
            # the extra trials below.
            "balance": {"stance": "tandem", "hold_time_s": truth.balance_hold_s},
            "sit_to_stand": {"five_rep_time_s": truth.five_rep_s},
            "tug": {"total_time_s": truth.tug_s},
            "cognition": {"instrument": "mmse_ds", "score": int(rng.integers(20, 31)), "max_score": 30},
            "hrv": {"rr_intervals_ms": [round(float(x), 1) for x in rng.normal(850, 30, 60)]},
            # Every K-FRAIL item and the self-reported Fried items: the true state as recalled on
            # the day (items flip, counts and amounts are misremembered; edge.simulate.measurement).
            "questionnaire": _answers(p.self_report, errors),
            "health_screening": {
                "screening_date": (at - timedelta(days=60)).date().isoformat(),
                "height_cm": p.height_cm,
                "weight_kg": p.weight_kg,
            },
        }
        # Semi-tandem is easier: three times the tandem capacity (FrailWatch choice).
        day_capacity = self.level(p, at)["tandem_capacity_s"] * math.exp(errors.values["hold_log"])
        semi_tandem = round(min(HOLD_S, 3.0 * day_capacity), 1)
        extra: dict[str, list[dict[str, Any]]] = {
            "balance": [
                {"stance": "side_by_side", "hold_time_s": HOLD_S},
                {"stance": "semi_tandem", "hold_time_s": semi_tandem},
            ]
        }
        if self.recordings:
            truth, sways = self._with_recordings(p, visit, at, truth, payloads)
            extra["balance"] += sways
        out = []
        for i, kind in enumerate(KINDS):
            device_id = f"{kind.replace('_', '-')}-{station}"
            topic = f"fwdev/v1/{kind}/{device_id}"
            document = {
                "participant_id": p.member_id,
                "resident_number": p.resident_number,
                "name": p.name,
                "phone": p.phone,
                "measured_at": (at + timedelta(minutes=2 * i)).isoformat(),
                "visit_id": visit_id,
                "payload": payloads[kind],
            }
            out.append(DeviceMessage(station, topic, document))
            for n, trial in enumerate(extra.get(kind, []), start=1):  # more trials on the same device
                later = {
                    **document,
                    "measured_at": (at + timedelta(minutes=2 * i, seconds=20 * n)).isoformat(),
                }
                out.append(DeviceMessage(station, topic, {**later, "payload": trial}))
        return truth, out

    def _with_recordings(
        self, p: Participant, visit: int, at: datetime, truth: Truth, payloads: dict[str, dict[str, Any]]
    ) -> tuple[Truth, list[dict[str, Any]]]:
        """Attach raw recordings to the performance tests (in place) and their truth; returns the
        extra readings: 30 s side-by-side balance trials with the centre of pressure, eyes open
        then eyes closed (the truth of the closed one carries the Romberg ratios). Every recording
        is made from what the visit measured (the noisy day), not from the true level."""
        from edge.simulate import recordings as rec  # NumPy signal models, loaded only when used

        # Its own stream, so the scalar readings are the same with recordings on or off.
        rng = np.random.default_rng([self.seed, 1_000_000 + p.index, visit, 1])
        fs, age = self.recording_fs_hz, at.year - p.birth_year
        slowing = p.decline is not None and p.decline.domain is Domain.MOBILITY and truth.decline_share > 0
        made = {"gait": rec.gait(truth.gait_speed_mps, p.height_cm, slowing, fs, rng)}
        sway_seed = int(rng.integers(1 << 31))  # one stander: the same sway pattern eyes open and closed
        amplitude = math.exp(truth.station_offset[me.SWAY_AMPLITUDE] + truth.error[me.SWAY_AMPLITUDE])
        speed = math.exp(truth.station_offset[me.SWAY_VELOCITY] + truth.error[me.SWAY_VELOCITY])
        made["balance"] = rec.balance(age, fs, sway_seed, amplitude=amplitude, speed=speed)
        made["sit_to_stand"] = rec.sit_to_stand(truth.five_rep_s, fs, rng)
        made["tug"] = rec.tug(truth.tug_s, truth.gait_speed_mps, p.height_cm, fs, rng)
        made["balance_eyes_closed"] = rec.balance(
            age, fs, sway_seed, eyes="closed", amplitude=amplitude, speed=speed
        )
        for kind in ("gait", "sit_to_stand", "tug"):
            payloads[kind] = {**payloads[kind], **made[kind].payload_json()}
        trials = [
            {
                "stance": "side_by_side",
                "eyes": eyes,
                "hold_time_s": rec.SWAY_S,
                "target_time_s": rec.SWAY_S,
                **made[kind].payload_json(),
            }
            for kind, eyes in (("balance", "open"), ("balance_eyes_closed", "closed"))
        ]
        truths = {kind: r.truth for kind, r in made.items()}
        truths["balance_eyes_closed"] = {
            **truths["balance_eyes_closed"],
            **rec.romberg(truths["balance"], truths["balance_eyes_closed"]),
        }
        return replace(truth, recordings=truths), trials


def _answers(true: SelfReport, errors: me.DayErrors) -> dict[str, Any]:
    """The questionnaire as answered on the day: the true state through the day's recall errors."""
    items = (true.fatigue, true.resistance, true.ambulation)
    fatigue, resistance, ambulation = (a != flip for a, flip in zip(items, errors.item_flips, strict=True))
    return {
        "fatigue": fatigue,
        "resistance": resistance,
        "ambulation": ambulation,
        "illness_count": max(0, true.illness_count + errors.illness_step),
        "weight_loss_pct_year": round(errors.weight_recall_pct, 1),
        "exhaustion_days_per_week": min(7, max(0, true.exhaustion_days_per_week + errors.exhaustion_step)),
        "activity_kcal_week": round(true.activity_kcal_week * math.exp(errors.activity_log)),
    }
