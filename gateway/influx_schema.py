"""The one InfluxDB schema (architecture: "One schema"): measurements, tags, fields, units, retention.

The gateway's points (:mod:`gateway.readings` and its siblings), the dashboards and alert rules
(``grafana/catalog.py`` is checked against this module by tests/test_grafana_provisioning.py),
the demo and the docs (:func:`markdown_table`) all read their names from here.

Point identity (architecture: "Known traps": same measurement + tag set + timestamp = same point):

- Tags are ``station_id`` and ``participant`` (the HMAC pseudonym) plus a few low-cardinality
  labels (balance ``stance``/``eyes``, gait ``source``). ``visit_id``, ``message_id`` and
  ``device_id`` are *fields*: as tags they would make a series per visit or message.
- The timestamp is the message's ``measured_at`` (microsecond resolution on the wire) with the
  three sub-microsecond digits set from a hash of the ``message_id`` (:func:`point_time_ns`). A
  redelivered message therefore lands on exactly its own points and overwrites them, while two
  different messages of one participant, kind and station in the same microsecond collide only
  when their ids also hash alike (1 in 1000) — no real device produces that.
- Per-visit scores (``frailty``) are stamped at the start of the visit's local day at its station
  plus a hash of the ``visit_id`` (:func:`gateway.visit_calendar.visit_time_ns`), so each
  recomputation as more of the visit arrives overwrites the visit's one score point.
"""

from __future__ import annotations

import types
import typing
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Literal

from pydantic import BaseModel

from gateway.influx.influxql import identifier
from telemetry import devices
from telemetry.envelope import DeviceKind

STATION_TAG = "station_id"
PARTICIPANT_TAG = "participant"
GATEWAY_TAG = "gateway"
FRAILTY_CATEGORY_TAG = "frailty_category"

FieldType = Literal["float", "int", "bool", "str"]

#: Retention policies ``frailwatch influx init`` (gateway.influx.init) creates, name -> default
#: duration. Clinical data (readings, features, scores, decline and case events) and dead letters
#: go to ``forever``, the database's default policy: screening results are kept for the
#: programme's life, and bad input is kept (a letter carries its message's own, possibly old,
#: time). Operational telemetry stamped as it happens (heartbeats, device tallies, station status,
#: gateway stats) goes to ``ops``, bounded (``frailwatch influx init --ops-retention``, 90 days
#: unless chosen): it grows with every station and replica every few seconds and is only looked at
#: for weeks. ``raw`` (short) is for raw signals, which the gateway analyses but does not store.
RETENTION_POLICIES: dict[str, str] = {"forever": "INF", "ops": "90d", "raw": "30d"}
FOREVER = "forever"
OPS = "ops"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    unit: str
    description: str = ""


@dataclass(frozen=True)
class Measurement:
    name: str
    description: str
    tags: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    retention: str = FOREVER
    timestamp: str = "measured_at"
    field_names: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_names", frozenset(f.name for f in self.fields))

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no field {name!r}")


def F(name: str, type_: FieldType, unit: str, description: str = "") -> FieldSpec:
    return FieldSpec(name, type_, unit, description)


PARTICIPANT_TAGS = (STATION_TAG, PARTICIPANT_TAG)
# Every participant point carries where it came from, for audit and exactly-once checks.
ENVELOPE_FIELDS = (
    F("message_id", "str", "", "the contract message this point came from"),
    F("device_id", "str", "", "station device that measured it"),
    F("visit_id", "str", "", "groups one participant's measurements in one visit (a field: cardinality)"),
)

# --- readings: one measurement per device kind, fields derived from the contract's payloads --------

_UNIT_SUFFIXES = {
    "_mmhg": "mmHg",
    "_bpm": "beats/min",
    "_pct": "%",
    "_c": "°C",
    "_kg": "kg",
    "_cm": "cm",
    "_kg_m2": "kg/m²",
    "_deg": "degrees",
    "_m": "m",
    "_s": "s",
    "_mps": "m/s",
    "_ms": "ms",
    "_mg_dl": "mg/dL",
    "_g_dl": "g/dL",
    "_ml_min": "mL/min/1.73m²",
    "_kcal_week": "kcal/week",
    "_mm": "mm",
    "_mm2": "mm²",
    "_mm_s": "mm/s",
    "_hz": "Hz",
    "_spm": "steps/min",
    "_pct_year": "%/year",
    "_kg_year": "kg/year",
}
# Payload parts that are not scalar fields: they become derived fields below instead.
_NOT_FIELDS = {"kind", "recording", "trials", "rr_intervals_ms"}


def unit_of(name: str) -> str:
    """The unit a field name ends in (units are in the names, as in the contract)."""
    for suffix in sorted(_UNIT_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return _UNIT_SUFFIXES[suffix]
    return ""


def _scalar_type(annotation: object) -> FieldType:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and args:
        annotation = args[0]
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    if isinstance(annotation, type) and issubclass(annotation, Enum | date):
        return "str"
    if typing.get_origin(annotation) is Literal:
        return "str"
    return "str"


def payload_fields(payload: type[BaseModel]) -> tuple[FieldSpec, ...]:
    """Scalar fields of a contract payload model, with the contract's descriptions and units."""
    out = []
    for name, info in payload.model_fields.items():
        if name in _NOT_FIELDS:
            continue
        description = (info.description or name.replace("_", " ")).split(" (accepted")[0]
        out.append(F(name, _scalar_type(info.annotation), unit_of(name), description))
    return tuple(out)


_PAYLOADS: dict[DeviceKind, type[BaseModel]] = {
    DeviceKind.PROFILE: devices.ProfilePayload,
    DeviceKind.VITALS: devices.VitalsPayload,
    DeviceKind.BODY_COMPOSITION: devices.BodyCompositionPayload,
    DeviceKind.GRIP: devices.GripPayload,
    DeviceKind.GAIT: devices.GaitPayload,
    DeviceKind.BALANCE: devices.BalancePayload,
    DeviceKind.SIT_TO_STAND: devices.SitToStandPayload,
    DeviceKind.TUG: devices.TugPayload,
    DeviceKind.COGNITION: devices.CognitionPayload,
    DeviceKind.HRV: devices.HrvPayload,
    DeviceKind.QUESTIONNAIRE: devices.QuestionnairePayload,
    DeviceKind.HEALTH_SCREENING: devices.HealthScreeningPayload,
}
_DERIVED: dict[DeviceKind, tuple[FieldSpec, ...]] = {
    DeviceKind.GRIP: (
        F("grip_max_kg", "float", "kg", "maximum over all trials of either hand (AWGS 2019)"),
        F("grip_right_max_kg", "float", "kg", "best right-hand trial"),
        F("grip_left_max_kg", "float", "kg", "best left-hand trial"),
        F("trials", "int", "", "number of trials"),
    ),
    DeviceKind.HRV: (
        F("beats", "int", "", "RR intervals in the recording"),
        F("mean_rr_ms", "float", "ms", "mean RR interval"),
        F("sdnn_ms", "float", "ms", "standard deviation of RR intervals"),
        F("rmssd_ms", "float", "ms", "root mean square of successive differences"),
    ),
}
_RECORDING_FLAG = F("has_recording", "bool", "", "a raw recording came with it (analysed, not stored)")


def _reading(kind: DeviceKind) -> Measurement:
    payload = _PAYLOADS[kind]
    extra = _DERIVED.get(kind, ())
    if "recording" in payload.model_fields:
        extra = (*extra, _RECORDING_FLAG)
    return Measurement(
        kind.value,
        f"{kind.value} readings as the device reported them",
        PARTICIPANT_TAGS,
        (*payload_fields(payload), *extra, *ENVELOPE_FIELDS),
    )


READINGS: dict[DeviceKind, Measurement] = {kind: _reading(kind) for kind in DeviceKind}

# --- features from the processing kernels ---------------------------------------------------------

GAIT_FEATURES = Measurement(
    "gait_features",
    "walking speed and gait features; source=walkway (distance/time) or imu (lower-back sensor)",
    (*PARTICIPANT_TAGS, "source"),
    (
        F("gait_speed_mps", "float", "m/s", "usual gait speed"),
        F("walk_distance_m", "float", "m", "test distance (SPPB bands differ for 3 m and 4 m)"),
        F("walk_time_s", "float", "s", "time over the test distance"),
        F("cadence_spm", "float", "steps/min", "steps per minute"),
        F("step_length_m", "float", "m", "inverted-pendulum step length (Zijlstra & Hof 2003)"),
        F("stride_length_m", "float", "m", "stride length"),
        F("step_time_s", "float", "s", "mean step time"),
        F("stride_time_s", "float", "s", "mean stride time"),
        F("stride_time_cv_pct", "float", "%", "stride-time coefficient of variation"),
        F("step_regularity", "float", "", "Ad1 (Moe-Nilssen & Helbostad 2004)"),
        F("stride_regularity", "float", "", "Ad2"),
        F("step_symmetry", "float", "", "Ad1/Ad2"),
        F("n_steps", "int", "", "initial contacts in walking bouts"),
        F("n_turns", "int", "", "turns of at least 45 degrees"),
        F("duration_s", "float", "s", "walking time analysed"),
        F("straight_walking_speed_mps", "float", "m/s", "speed over strides without a turning step"),
        F("walking_share", "float", "", "time in walking bouts / recording length (0-1)"),
        F("turning_share", "float", "", "share of walking time on turning steps (needs a gyroscope)"),
        F("step_time_cv_pct", "float", "%", "step-time variability of straight steps"),
        F(
            "period_agreement",
            "float",
            "",
            "median step time / the signal's step period (1 when consistent)",
        ),
        F("uncertain", "bool", "", "a quality check failed: this gait speed never opens a case alone"),
        F("uncertain_reason", "str", "", "why (few_strides, little_walking, irregular_steps, ...)"),
        *ENVELOPE_FIELDS,
    ),
)
BALANCE_FEATURES = Measurement(
    "balance_features",
    "standing balance: hold time and centre-of-pressure sway (Prieto et al. 1996)",
    (*PARTICIPANT_TAGS, "stance", "eyes"),
    (
        F("hold_time_s", "float", "s", "time the stance was held"),
        F("sway_ellipse95_area_mm2", "float", "mm²", "95 % confidence-ellipse area"),
        F("sway_mean_velocity_mm_s", "float", "mm/s", "path length / duration"),
        F("sway_path_length_mm", "float", "mm", "total excursion"),
        F("sway_rms_mm", "float", "mm", "RMS distance from the mean centre of pressure"),
        F("sway_mean_frequency_hz", "float", "Hz", "mean frequency"),
        *ENVELOPE_FIELDS,
    ),
)
STS_FEATURES = Measurement(
    "sts_features",
    "chair stands: five-times time (stopwatch or IMU) and 30 s count",
    PARTICIPANT_TAGS,
    (
        F("chair_stand_5x_s", "float", "s", "five chair stands"),
        F("count_30s", "int", "", "stands in 30 s"),
        F("unable", "bool", "", "could not complete without using arms"),
        F("repetitions", "int", "", "stands the IMU found"),
        *ENVELOPE_FIELDS,
    ),
)
TUG_FEATURES = Measurement(
    "tug_features",
    "timed up-and-go (stopwatch or IMU)",
    PARTICIPANT_TAGS,
    (
        F("tug_time_s", "float", "s", "timed up-and-go; >= 13.5 s raised fall risk (configurable)"),
        F("walking_aid", "bool", "", "walked with an aid"),
        F("sit_to_stand_s", "float", "s", "iTUG phase: the stand-up"),
        F(
            "walk_out_s",
            "float",
            "s",
            "iTUG phase: standing to the mid turn (needs a gyroscope)",
        ),
        F("turn_s", "float", "s", "iTUG phase: the mid turn (needs a gyroscope)"),
        F("walk_back_s", "float", "s", "iTUG phase: the walk back (needs a gyroscope)"),
        F("turn_to_sit_s", "float", "s", "iTUG phase: final turn to seated (needs a gyroscope)"),
        F("stand_to_sit_s", "float", "s", "iTUG phase: the sit-down"),
        *ENVELOPE_FIELDS,
    ),
)
FRAILTY = Measurement(
    "frailty",
    "scores of one visit, recomputed as its measurements arrive (stamped at the visit: "
    "gateway.visit_calendar.visit_time_ns)",
    (*PARTICIPANT_TAGS, FRAILTY_CATEGORY_TAG),
    (
        F("sppb_total", "int", "", "SPPB 0-12"),
        F("sppb_balance", "int", "", "SPPB balance 0-4"),
        F("sppb_gait", "int", "", "SPPB gait 0-4"),
        F("sppb_chair", "int", "", "SPPB chair stands 0-4"),
        F("kfrail_score", "int", "", "K-FRAIL 0-5"),
        F("frailty_level", "int", "", "0 robust, 1 pre-frail, 2 frail (K-FRAIL, else Fried)"),
        F("fried_count", "int", "", "Fried phenotype criteria met 0-5"),
        F("awgs_level", "int", "", "0 none, 1 possible sarcopenia, 2 sarcopenia, 3 severe (AWGS 2019)"),
        F("awgs_status", "str", "", "AWGS 2019 status"),
        F("visit_id", "str", "", "the visit scored"),
        F("inputs", "int", "", "visit inputs the scores were computed from"),
        F("visit_at", "int", "ms", "the visit's newest input (ms since the epoch): when it was measured"),
        F("sex", "str", "", "from the participant's profile (sex-specific cut-offs)"),
        F("gait_speed_mps", "float", "m/s", "the visit's gait speed (walkway before IMU)"),
        F("gait_uncertain", "bool", "", "that gait speed came from an IMU analysis flagged uncertain"),
        F("grip_max_kg", "float", "kg", "the visit's best grip"),
        F("chair_stand_5x_s", "float", "s", "five chair stands"),
        F("tug_time_s", "float", "s", "timed up-and-go"),
        F("sway_mean_velocity_mm_s", "float", "mm/s", "sway velocity, feet together, eyes open"),
        F("sway_ellipse95_area_mm2", "float", "mm²", "sway area, feet together, eyes open"),
        F("romberg_ratio", "float", "", "sway velocity eyes closed / eyes open, feet together"),
    ),
    timestamp="start of the visit's local day at its station + hash(visit_id) ns",
)
CASE_EVENT = Measurement(
    "case_event",
    "the append-only case-event log: detections (opened, updated, escalated, close_suggested) and "
    "counsellor actions (acknowledged, assigned, prescribed, follow_up_set, resolved); a case is "
    "the fold of its events, an event_id counts once",
    (PARTICIPANT_TAG, "domain", "case_id", "event", STATION_TAG, "severity"),
    (
        F("event_id", "str", "", "identifies the event (detections: derived from case and trigger)"),
        F("state", "str", "", "the case's state after this event: open, acknowledged, resolved"),
        F("severity_level", "int", "", "1 warning, 2 critical (the severity tag as a number, to aggregate)"),
        F("at", "int", "ms", "the triggering visit's time (ms since the epoch); for an action, when taken"),
        F("visit_id", "str", "", "the triggering visit"),
        F("actor", "str", "", "staff id, or 'frailwatch' for a detection"),
        F("rule", "str", "", "the detection rule (cusum, cusum:<metric>, cutoff:<metric>, update, ...)"),
        F("statistic", "float", "", "the rule's statistic"),
        F("threshold", "float", "", "the rule's threshold"),
        F("reason", "str", "", "resolve reason"),
        F("assignee", "str", "", "staff id the case is assigned to"),
        F("note", "str", "", "free text, identifiers refused, stored on one line"),
        F("follow_up_on", "str", "", "follow-up date (ISO 8601)"),
        F("programme", "str", "", "social prescription programme key"),
        F("health_activist", "bool", "", "matched with a health activist"),
        F("prescription_note", "str", "", "the prescription's note"),
        F("evidence_json", "str", "", "the detection's evidence as compact JSON (bounded)"),
    ),
    timestamp="processed_at (ms) + hash(event_id) as the sub-millisecond ns",
)

# --- fleet and operations -------------------------------------------------------------------------

STATION_HEARTBEAT = Measurement(
    "station_heartbeat",
    "edge agent health (telemetry.Heartbeat)",
    (STATION_TAG,),
    (
        F("uptime_s", "float", "s"),
        F("spool_depth", "int", "", "messages waiting to go uplink"),
        F("spool_bytes", "int", "bytes"),
        F("oldest_spooled_age_s", "float", "s"),
        F("accepted_total", "int", ""),
        F("forwarded_total", "int", ""),
        F("refused_spool_full_total", "int", ""),
        F("dead_letters_total", "int", ""),
        F("uplink_connected", "bool", ""),
        F("agent_version", "str", ""),
        F("cases_opened", "int", "", "cases the station knows of (its follow-up funnel)"),
        F("cases_linked", "int", "", "of those, linked to a social prescription"),
        F("cases_followed_up", "int", "", "of the linked, resolved or visited on/after the follow-up date"),
        F("overdue_follow_ups", "int", "", "open cases past their follow-up date without that visit"),
    ),
    OPS,
    "heartbeat at",
)
STATION_DEVICE = Measurement(
    "station_device",
    "per device, from each heartbeat",
    (STATION_TAG, "device_id", "device_kind"),
    (F("messages", "int", "", "messages since the agent started"), F("last_message_age_s", "float", "s")),
    OPS,
    "heartbeat at",
)
STATION_STATUS = Measurement(
    "station_status",
    "retained online/offline of each station (Last Will = offline)",
    (STATION_TAG,),
    (F("online", "int", "", "1 online, 0 offline"), F("agent_version", "str", "")),
    OPS,
    "status at; receipt for retained deliveries and the Last Will",
)
GATEWAY_STATS = Measurement(
    "gateway_stats",
    "each gateway replica every stats_interval_s",
    (GATEWAY_TAG,),
    (
        F("messages_per_s", "float", "1/s", "MQTT messages in"),
        F("messages_total", "int", ""),
        F("points_total", "int", "", "points written"),
        F("ingest_lag_s", "float", "s", "now - measured_at of the latest written readings"),
        F("write_latency_ms", "float", "ms", "last InfluxDB write"),
        F("write_retries", "int", "", "write attempts retried since start"),
        F("in_flight", "int", "", "messages received, not yet acknowledged"),
        F("dead_letters_total", "int", ""),
    ),
    OPS,
    "sample time",
)
DEAD_LETTER = Measurement(
    "dead_letter",
    "refused messages with why (architecture: 'Kept, not dropped'); the excerpt is bounded and redacted",
    (STATION_TAG, "reason", "source", GATEWAY_TAG),
    (
        F("size_bytes", "int", "bytes"),
        F("topic", "str", ""),
        F("detail", "str", ""),
        F("path", "str", "", "field path where it went wrong"),
        F("excerpt", "str", "", "first bytes, identifiers redacted"),
        F("message_id", "str", ""),
        F(
            "digest",
            "str",
            "",
            "hash of the topic, refused bytes, reason and path: equal for redelivered copies",
        ),
    ),
    # Kept with the clinical data, not in the bounded "ops": a letter is stamped at the refused
    # message's own time (so a redelivery overwrites it), and a bounded policy would drop at once
    # the letters of old messages — those of a station draining a months-old spool
    # (architecture: "Kept, not dropped").
    timestamp="second of the refused message's measured_at/at, else of receipt, + digest as ns",
)

FEATURES: tuple[Measurement, ...] = (GAIT_FEATURES, BALANCE_FEATURES, STS_FEATURES, TUG_FEATURES)
MEASUREMENTS: dict[str, Measurement] = {
    m.name: m
    for m in (
        *READINGS.values(),
        *FEATURES,
        FRAILTY,
        CASE_EVENT,
        STATION_HEARTBEAT,
        STATION_DEVICE,
        STATION_STATUS,
        GATEWAY_STATS,
        DEAD_LETTER,
    )
}

#: measurement -> the retention policy its points are written to, for every measurement whose
#: policy is not the database's default (the writer sends those with ``rp=``; the rest go without,
#: into the default ``forever``).
NON_DEFAULT_POLICIES: dict[str, str] = {
    m.name: m.retention for m in MEASUREMENTS.values() if m.retention != FOREVER
}


def policy_of(measurement: str) -> str | None:
    """The retention policy to write ``measurement`` into; None: the database's default policy
    (the clinical ``forever``, and any measurement this schema does not know)."""
    return NON_DEFAULT_POLICIES.get(measurement)


def qualified(measurement: str) -> str:
    """``measurement`` as an InfluxQL FROM target: ``"ops"."station_heartbeat"`` for a
    measurement in a non-default policy (a bare name reads only the default policy), else
    ``"gait_features"``."""
    policy = policy_of(measurement)
    name = identifier(measurement)
    return f"{identifier(policy)}.{name}" if policy else name


#: Demo/Grafana trend series: Visit attribute -> (measurement, field).
TREND_FIELDS: dict[str, tuple[str, str]] = {
    "gait_speed_mps": (GAIT_FEATURES.name, "gait_speed_mps"),
    "sppb_total": (FRAILTY.name, "sppb_total"),
    "grip_max_kg": (READINGS[DeviceKind.GRIP].name, "grip_max_kg"),
}

# --- timestamps ------------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(at: datetime) -> int:
    delta = at.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def time_ns(at: datetime) -> int:
    """An aware datetime as integer nanoseconds since the epoch (exact, no float rounding)."""
    return _micros(at) * 1000


def id_offset_ns(identifier: str) -> int:
    """0-999: the sub-microsecond digits a message id contributes to its points' timestamps."""
    return zlib.crc32(identifier.encode()) % 1000


def point_time_ns(measured_at: datetime, message_id: str) -> int:
    """Timestamp of a message's points: measured_at (µs) + hash(message_id) in the last 3 digits."""
    return _micros(measured_at) * 1000 + id_offset_ns(message_id)


# --- docs ------------------------------------------------------------------------------------------


def markdown_table() -> str:
    """Every measurement as a Markdown table (README and docs/gateway.md embed it)."""
    lines = [
        "| measurement | tags | fields (unit) | retention | timestamp |",
        "| --- | --- | --- | --- | --- |",
    ]
    for m in MEASUREMENTS.values():
        fields = ", ".join(f"`{f.name}`" + (f" ({f.unit})" if f.unit else "") for f in m.fields)
        tags = ", ".join(f"`{t}`" for t in m.tags)
        lines.append(f"| `{m.name}` | {tags} | {fields} | {m.retention} | {m.timestamp} |")
    return "\n".join(lines)
