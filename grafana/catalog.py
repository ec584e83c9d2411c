"""What the dashboards and alert rules read from InfluxDB: measurements, tags, fields, units.

DESIGN invariant 5 says the schema is defined once, in ``gateway.schema``. That module had not
landed when this was written, so this is the subset the dashboards need, named as the gateway's
brief proposes (one measurement per device kind, feature/score/fleet measurements, ``station_id``
and ``participant`` tags). ``tests/test_grafana_catalog.py`` checks every name here against
``gateway.schema`` once it exists; a mismatch fails there, not silently on a dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass

from telemetry.envelope import DeviceKind

STATION_TAG = "station_id"
PARTICIPANT_TAG = "participant"


@dataclass(frozen=True)
class Field:
    """One numeric InfluxDB field and the Grafana unit id it is displayed with."""

    measurement: str
    name: str
    unit: str  # Grafana unit id (``velocityms``, ``s``, ``masskg``, ``none`` ...)
    tags: tuple[str, ...] = (STATION_TAG, PARTICIPANT_TAG)


# --- participant features and scores ---------------------------------------------------------
GAIT_SPEED = Field("gait_features", "gait_speed_mps", "velocityms")
CADENCE = Field("gait_features", "cadence_spm", "none")
STRIDE_CV = Field("gait_features", "stride_time_cv_pct", "percent")
SWAY_AREA = Field("balance_features", "sway_ellipse95_area_mm2", "none")
SWAY_VELOCITY = Field("balance_features", "sway_mean_velocity_mm_s", "none")
CHAIR_STAND = Field("sts_features", "chair_stand_5x_s", "s")
GRIP = Field("grip", "grip_max_kg", "masskg")
SPPB = Field("frailty", "sppb_total", "none")
KFRAIL = Field("frailty", "kfrail_score", "none")
# 0 robust, 1 pre-frail, 2 frail (K-FRAIL bands, DESIGN "Domain facts"); a number so it can be
# counted and compared, with the category also a tag for grouping.
FRAILTY_LEVEL = Field("frailty", "frailty_level", "none")
FRAILTY_CATEGORY_TAG = "frailty_category"
FRAILTY_CATEGORIES = ("robust", "pre_frail", "frail")

# --- decline events ------------------------------------------------------------------------
DECLINE = "decline_event"
DECLINE_TAGS = (STATION_TAG, PARTICIPANT_TAG, "metric", "rule", "severity")
DECLINE_BASELINE = Field(DECLINE, "baseline", "none", DECLINE_TAGS)
DECLINE_CURRENT = Field(DECLINE, "current", "none", DECLINE_TAGS)
DECLINE_CHANGE = Field(DECLINE, "change", "none", DECLINE_TAGS)

# --- fleet ---------------------------------------------------------------------------------
HEARTBEAT = "station_heartbeat"
SPOOL_DEPTH = Field(HEARTBEAT, "spool_depth", "short", (STATION_TAG,))
SPOOL_OLDEST = Field(HEARTBEAT, "oldest_spooled_age_s", "s", (STATION_TAG,))
UPTIME = Field(HEARTBEAT, "uptime_s", "s", (STATION_TAG,))
STATION_ONLINE = Field("station_status", "online", "bool_on_off", (STATION_TAG,))  # 1 online, 0 offline
DEVICE_TAGS = (STATION_TAG, "device_id", "device_kind")
DEVICE_MESSAGES = Field("station_device", "messages", "short", DEVICE_TAGS)
DEVICE_SILENT = Field("station_device", "last_message_age_s", "s", DEVICE_TAGS)
GATEWAY_TAG = "gateway"
MESSAGES_RATE = Field("gateway_stats", "messages_per_s", "reqps", (GATEWAY_TAG,))
INGEST_LAG = Field("gateway_stats", "ingest_lag_s", "s", (GATEWAY_TAG,))
WRITE_LATENCY = Field("gateway_stats", "write_latency_ms", "ms", (GATEWAY_TAG,))
WRITE_RETRIES = Field("gateway_stats", "write_retries", "short", (GATEWAY_TAG,))
DEAD_LETTER_TAGS = (STATION_TAG, "reason", "source")
DEAD_LETTER_SIZE = Field("dead_letter", "size_bytes", "bytes", DEAD_LETTER_TAGS)

# Every device kind has its own readings measurement, named after the kind (one series per kind
# for completeness counts); ``count(*)`` counts points whatever fields a reading carries.
READING_MEASUREMENTS: tuple[str, ...] = tuple(kind.value for kind in DeviceKind)

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
    """Every field a dashboard or rule reads, for the check against ``gateway.schema``."""
    return tuple(value for value in globals().values() if isinstance(value, Field))
