"""What the dashboards and alert rules read from InfluxDB, taken from ``gateway.influx_schema``.

architecture: "One schema": measurement, tag and field names are defined once, in
``gateway.influx_schema``. Each
:class:`Field` here is looked up there (:func:`_field` raises ``KeyError`` on a name the schema
does not define, so a renamed field fails the build, not a dashboard), and its Grafana unit is
derived from the schema's unit. Queries read a measurement through :func:`source`: in the
retention policy the gateway writes it to (operational measurements: ``"ops"."<name>"``).
``gateway.influx_schema`` is light (pydantic and the ``telemetry`` contract; no MQTT, InfluxDB client or
Numba), so building dashboards needs none of the gateway's runtime dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway import influx_schema as s
from telemetry.envelope import DeviceKind

STATION_TAG = s.STATION_TAG
PARTICIPANT_TAG = s.PARTICIPANT_TAG
GATEWAY_TAG = s.GATEWAY_TAG
FRAILTY_CATEGORY_TAG = s.FRAILTY_CATEGORY_TAG

# Schema unit -> Grafana unit id; any other unit is shown as a suffix, no unit as a plain number.
_GRAFANA_UNITS = {
    "m/s": "velocityms",
    "s": "s",
    "ms": "ms",
    "kg": "masskg",
    "%": "percent",
    "bytes": "bytes",
    "1/s": "reqps",
}


def source(measurement: str) -> str:
    """The InfluxQL FROM target of ``measurement``: qualified by its retention policy when that is
    not the database's default (a bare name would read the default policy and find nothing)."""
    return s.qualified(measurement)


def grafana_unit(unit: str) -> str:
    """The Grafana unit id for a unit of ``gateway.influx_schema`` (``suffix:`` is Grafana's custom unit)."""
    if unit in _GRAFANA_UNITS:
        return _GRAFANA_UNITS[unit]
    return f"suffix: {unit}" if unit else "none"


@dataclass(frozen=True)
class Field:
    """One numeric InfluxDB field and the Grafana unit it is displayed with.

    ``split`` are the measurement's low-cardinality tags that make two values of one message
    different things (gait ``source`` walkway vs IMU): panels keep them apart as series.
    """

    measurement: str
    name: str
    unit: str  # Grafana unit id (``velocityms``, ``s``, ``masskg``, ``none`` ...)
    tags: tuple[str, ...]
    split: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        """Where queries read it from: the measurement in its retention policy."""
        return source(self.measurement)


def _field(m: s.Measurement, name: str, unit: str | None = None, split: tuple[str, ...] = ()) -> Field:
    spec = m.field(name)  # KeyError: the schema has no such field
    if spec.type == "str":
        raise TypeError(f"{m.name}.{name} is a string field; panels and rules need numbers")
    unknown = [t for t in split if t not in m.tags]
    if unknown:
        raise KeyError(f"{m.name} has no tags {unknown}")
    return Field(m.name, spec.name, unit or grafana_unit(spec.unit), m.tags, split)


_GAIT_SPLIT = ("source",)  # walkway (timed walk) and imu (lower-back sensor) per gait message

# --- participant features and scores ---------------------------------------------------------
GAIT_SPEED = _field(s.GAIT_FEATURES, "gait_speed_mps", split=_GAIT_SPLIT)
CADENCE = _field(s.GAIT_FEATURES, "cadence_spm", split=_GAIT_SPLIT)
STRIDE_CV = _field(s.GAIT_FEATURES, "stride_time_cv_pct", split=_GAIT_SPLIT)
SWAY_AREA = _field(s.BALANCE_FEATURES, "sway_ellipse95_area_mm2", split=("stance", "eyes"))
SWAY_VELOCITY = _field(s.BALANCE_FEATURES, "sway_mean_velocity_mm_s", split=("stance", "eyes"))
CHAIR_STAND = _field(s.STS_FEATURES, "chair_stand_5x_s")
GRIP = _field(s.READINGS[DeviceKind.GRIP], "grip_max_kg")
SPPB = _field(s.FRAILTY, "sppb_total")
KFRAIL = _field(s.FRAILTY, "kfrail_score")
# 0 robust, 1 pre-frail, 2 frail; the category is also a tag, for grouping.
FRAILTY_LEVEL = _field(s.FRAILTY, "frailty_level")
# Every visit's score point has it, whichever scores the visit's measurements allowed: counts visits.
SCORE_INPUTS = _field(s.FRAILTY, "inputs", "short")

# --- decline cases (the case-event log; a point's time is when the event was processed) ------
CASES = s.CASE_EVENT.name
CASE_TAGS = s.CASE_EVENT.tags
CASE_AT = _field(s.CASE_EVENT, "at")  # the triggering visit's time (ms since the epoch); every event has it
CASE_SEVERITY = _field(s.CASE_EVENT, "severity_level", "short")
CASE_STATISTIC = _field(s.CASE_EVENT, "statistic", "short")
# Tags that stay the same for every event of a case (station, event and severity change).
CASE_KEY = ("case_id", PARTICIPANT_TAG, "domain")

# --- fleet ---------------------------------------------------------------------------------
HEARTBEAT = s.STATION_HEARTBEAT.name
SPOOL_DEPTH = _field(s.STATION_HEARTBEAT, "spool_depth", "short")
SPOOL_OLDEST = _field(s.STATION_HEARTBEAT, "oldest_spooled_age_s")
UPTIME = _field(s.STATION_HEARTBEAT, "uptime_s")
# Follow-up as each station counts it (edge.page.followup, reported in its heartbeat).
CASES_OPENED = _field(s.STATION_HEARTBEAT, "cases_opened", "short")
CASES_LINKED = _field(s.STATION_HEARTBEAT, "cases_linked", "short")
CASES_FOLLOWED_UP = _field(s.STATION_HEARTBEAT, "cases_followed_up", "short")
OVERDUE_FOLLOW_UPS = _field(s.STATION_HEARTBEAT, "overdue_follow_ups", "short")
SPOOL_FULL_REFUSED = _field(s.STATION_HEARTBEAT, "refused_spool_full_total", "short")
STATION_ONLINE = _field(s.STATION_STATUS, "online", "bool_on_off")  # 1 online, 0 offline (Last Will)
DEVICE_TAGS = s.STATION_DEVICE.tags
DEVICE_MESSAGES = _field(s.STATION_DEVICE, "messages", "short")
DEVICE_SILENT = _field(s.STATION_DEVICE, "last_message_age_s")
MESSAGES_RATE = _field(s.GATEWAY_STATS, "messages_per_s")
MESSAGES_TOTAL = _field(s.GATEWAY_STATS, "messages_total", "short")  # in every stats point
INGEST_LAG = _field(s.GATEWAY_STATS, "ingest_lag_s")
WRITE_LATENCY = _field(s.GATEWAY_STATS, "write_latency_ms")
WRITE_RETRIES = _field(s.GATEWAY_STATS, "write_retries", "short")
DEAD_LETTER_TAGS = s.DEAD_LETTER.tags
DEAD_LETTER_SIZE = _field(s.DEAD_LETTER, "size_bytes")

# Every device kind has its own readings measurement (one series per kind for completeness
# counts); every reading carries the contract message id, so counting it counts readings.
READING_MEASUREMENTS: tuple[str, ...] = tuple(m.name for m in s.READINGS.values())
READING_ID = "message_id"
if any(READING_ID not in m.field_names for m in s.READINGS.values()):
    raise KeyError(f"a readings measurement of gateway.influx_schema has no {READING_ID!r} field")

PARTICIPANT_METRICS: tuple[Field, ...] = (
    GAIT_SPEED,
    CADENCE,
    STRIDE_CV,
    SWAY_AREA,
    SWAY_VELOCITY,
    CHAIR_STAND,
    GRIP,
    SPPB,
    KFRAIL,
)


def all_fields() -> tuple[Field, ...]:
    """Every field a dashboard or rule reads, for the check against ``gateway.influx_schema``."""
    return tuple(value for value in globals().values() if isinstance(value, Field))
