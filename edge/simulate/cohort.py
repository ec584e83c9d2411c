"""A seeded cohort of older adults visiting screening stations, with known truth.

Baselines follow Korean community norms (KFACS/AWGS 2019 ranges): grip ~ 28±6 kg (men) and
18±4 kg (women) falling with age, usual gait speed ~ 1.1±0.2 m/s, five chair stands ~ 11±2.5 s.
A configurable share of participants declines across visits: gait speed −0.05 to −0.15 m/s per
visit, grip loss, slower chair stands and longer TUG, shorter balance holds, more sway.

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

from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

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
    declining: bool
    gait_loss_per_visit: float
    home_station: str
    roams: bool
    index: int  # position in the cohort: seeds the participant's per-visit random streams


@dataclass(frozen=True)
class Truth:
    """What was simulated for one visit (one JSON line of the ground-truth file)."""

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


def _participant(
    rng: np.random.Generator,
    n: int,
    stations: list[str],
    decline_fraction: float,
    roam_fraction: float,
    year: int,
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
    return Participant(
        # The home station in the id: simulators run apart for other stations draw other ids.
        member_id=f"M-{home}-{n:05d}",
        resident_number=f"{birth_year % 100:02d}"
        + f"{int(rng.integers(1, 13)):02d}{int(rng.integers(1, 29)):02d}-"
        + f"{1 if male else 2}{int(rng.integers(100000, 999999))}",
        name=f"참가자{n:04d}",
        phone=f"010-{int(rng.integers(1000, 9999))}-{int(rng.integers(1000, 9999))}",
        sex=sex,
        birth_year=birth_year,
        height_cm=round(height, 1),
        weight_kg=round(bmi * (height / 100) ** 2, 1),
        grip_kg=round(grip, 1),
        gait_speed_mps=round(gait, 3),
        five_rep_s=round(five, 2),
        tug_s=round(float(np.clip(3 / gait * 2 + 3, 6, 30)), 2),
        declining=declining,
        gait_loss_per_visit=round(float(rng.uniform(0.05, 0.15)), 3) if declining else 0.0,
        home_station=home,
        roams=bool(rng.random() < roam_fraction),
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
    first day (tests that need fixed dates).
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
    ) -> None:
        self.now = (now if now is not None else datetime.now(UTC)).astimezone(UTC)
        self.stations = stations or ["gj-01", "gj-02"]
        self.recordings = recordings
        self.recording_fs_hz = recording_fs_hz
        self.days = days
        self.visit_every_days = visit_every_days
        self.start = start if start is not None else default_start(self.now, days)
        self.seed = seed
        rng = np.random.default_rng(seed)
        self.participants = [
            _participant(rng, n, self.stations, decline_fraction, roam_fraction, self.now.year)
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

    def truth(self, p: Participant, visit: int, station: str, at: datetime) -> Truth:
        loss = p.gait_loss_per_visit * visit
        gait = max(0.3, p.gait_speed_mps - loss)
        factor = 1 + (0.08 * visit if p.declining else 0.0)
        return Truth(
            member_id=p.member_id,
            station_id=station,
            visit=visit,
            measured_at=at.isoformat(),
            declining=p.declining,
            gait_speed_mps=round(gait, 3),
            grip_kg=round(max(5.0, p.grip_kg * (1 - (0.05 * visit if p.declining else 0.0))), 1),
            five_rep_s=round(min(60.0, p.five_rep_s * factor), 2),
            tug_s=round(min(120.0, p.tug_s * factor), 2),
            balance_hold_s=round(max(2.0, 10.0 - (2.5 * visit if p.declining else 0.0)), 1),
        )

    def messages(
        self, p: Participant, visit: int, station: str, at: datetime
    ) -> tuple[Truth, list[DeviceMessage]]:
        """Every device kind's reading for one visit, as the devices publish them."""
        truth = self.truth(p, visit, station, at)
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
            "gait": {"walk_distance_m": 4.0, "walk_time_s": round(4.0 / truth.gait_speed_mps, 2)},
            # The SPPB balance part (Guralnik 1994): tandem here, side-by-side and semi-tandem as
            # the extra trials below; a decliner loses the tandem stand first.
            "balance": {"stance": "tandem", "hold_time_s": truth.balance_hold_s},
            "sit_to_stand": {"five_rep_time_s": truth.five_rep_s},
            "tug": {"total_time_s": truth.tug_s},
            "cognition": {"instrument": "mmse_ds", "score": int(rng.integers(20, 31)), "max_score": 30},
            "hrv": {"rr_intervals_ms": [round(float(x), 1) for x in rng.normal(850, 30, 60)]},
            # Every K-FRAIL item and the self-reported Fried items: a decliner reports one more
            # difficulty per visit and loses weight, so the frailty category can worsen.
            "questionnaire": {
                "fatigue": bool(p.declining and visit > 0),
                "resistance": bool(p.declining and visit > 1),
                "ambulation": bool(p.declining and visit > 2),
                "illness_count": int(rng.integers(0, 4)),
                "weight_loss_pct_year": round(min(12.0, 2.5 * visit) if p.declining else 0.0, 1),
                "exhaustion_days_per_week": min(7, 2 * visit) if p.declining else int(rng.integers(0, 2)),
                "activity_kcal_week": round(
                    float(rng.uniform(900, 2500)) / (1 + visit if p.declining else 1)
                ),
            },
            "health_screening": {
                "screening_date": (at - timedelta(days=60)).date().isoformat(),
                "height_cm": p.height_cm,
                "weight_kg": p.weight_kg,
            },
        }
        semi_tandem = min(10.0, truth.balance_hold_s + 4.0)
        extra: dict[str, list[dict[str, Any]]] = {
            "balance": [
                {"stance": "side_by_side", "hold_time_s": 10.0},
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
        then eyes closed (the truth of the closed one carries the Romberg ratios)."""
        from edge.simulate import recordings as rec  # NumPy signal models, loaded only when used

        # Its own stream, so the scalar readings are the same with recordings on or off.
        rng = np.random.default_rng([self.seed, 1_000_000 + p.index, visit, 1])
        fs, age = self.recording_fs_hz, at.year - p.birth_year
        made = {"gait": rec.gait(truth.gait_speed_mps, p.height_cm, p.declining, fs, rng)}
        sway_seed = int(rng.integers(1 << 31))  # one stander: the same sway pattern eyes open and closed
        made["balance"] = rec.balance(age, p.declining, visit, fs, sway_seed)
        made["sit_to_stand"] = rec.sit_to_stand(truth.five_rep_s, fs, rng)
        made["tug"] = rec.tug(truth.tug_s, truth.gait_speed_mps, p.height_cm, fs, rng)
        made["balance_eyes_closed"] = rec.balance(age, p.declining, visit, fs, sway_seed, eyes="closed")
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
