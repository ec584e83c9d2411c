"""The InfluxQL behind every panel, variable, annotation and alert rule, built from the catalog.

Grafana fills ``$timeFilter``, ``$interval`` (the dashboard's interval variable), ``$station``
(multi-value: a regex alternation) and ``$pseudonym`` before sending; the tests substitute the
same way and run each query on a real InfluxDB. Plain InfluxQL 1.x syntax only, so the queries run
on 1.x, 2.x (DBRP) and 3.x. Each reads its measurement in the retention policy the gateway writes
it to (``catalog.source``: ``"ops"."station_heartbeat"``, a bare name for clinical data).
"""

from __future__ import annotations

from gateway.influx.influxql import identifier
from grafana import catalog as c
from grafana.catalog import Field

STATION_FILTER = f'"{c.STATION_TAG}" =~ /^$station$/'
PSEUDONYM_FILTER = f"\"{c.PARTICIPANT_TAG}\" = '$pseudonym'"
READINGS_REGEX = "/^(" + "|".join(c.READING_MEASUREMENTS) + ")$/"


_q = identifier


def _where(where: str | None) -> str:
    return f"WHERE {where} AND $timeFilter" if where else "WHERE $timeFilter"


def over_time(agg: str, field: Field, by: str, where: str | None = STATION_FILTER, fill: str = "none") -> str:
    """An aggregate per ``$interval`` bucket and tag: the usual time-series panel."""
    return (
        f"SELECT {agg}({_q(field.name)}) FROM {field.source} {_where(where)} "
        f"GROUP BY time($interval), {_q(by)} fill({fill})"
    )


def latest_by(field: Field, tags: tuple[str, ...], where: str = STATION_FILTER) -> str:
    """The newest value per tag set (its time column is the 'last seen')."""
    group = ", ".join(_q(t) for t in tags)
    return (
        f"SELECT last({_q(field.name)}) AS {_q(field.name)} FROM {field.source} "
        f"WHERE {where} AND $timeFilter GROUP BY {group}"
    )


def raw_values(field: Field, where: str = STATION_FILTER) -> str:
    """Every value in range: distributions (histograms) and per-visit trends. A field whose
    message gives two values (gait speed from the walkway and from the IMU) is split by that tag,
    so a visit is one point per series, never two values at one time in one line."""
    group = ", ".join(_q(t) for t in (c.STATION_TAG, *field.split))
    return f"SELECT {_q(field.name)} FROM {field.source} WHERE {where} AND $timeFilter GROUP BY {group}"


def series_alias(field: Field) -> str:
    """Legend of a per-station series of ``field``: the station, then any split tag."""
    return " ".join(f"$tag_{t}" for t in (c.STATION_TAG, *field.split))


# --- variables ------------------------------------------------------------------------------
STATION_VALUES = f"SHOW TAG VALUES FROM {c.source(c.HEARTBEAT)} WITH KEY = {_q(c.STATION_TAG)}"
CLINICAL_STATION_VALUES = f"SHOW TAG VALUES FROM {c.SPPB.source} WITH KEY = {_q(c.STATION_TAG)}"
PSEUDONYM_VALUES = (
    f"SHOW TAG VALUES FROM {c.SPPB.source} WITH KEY = {_q(c.PARTICIPANT_TAG)} WHERE {STATION_FILTER}"
)

# --- fleet ----------------------------------------------------------------------------------
STATIONS_ONLINE = latest_by(c.STATION_ONLINE, (c.STATION_TAG,))
LAST_HEARTBEAT = latest_by(c.UPTIME, (c.STATION_TAG,))
SPOOL_DEPTH = over_time("max", c.SPOOL_DEPTH, c.STATION_TAG)
SPOOL_OLDEST = over_time("max", c.SPOOL_OLDEST, c.STATION_TAG)
DEVICES = (
    f"SELECT last({_q(c.DEVICE_MESSAGES.name)}) AS {_q(c.DEVICE_MESSAGES.name)}, "
    f"last({_q(c.DEVICE_SILENT.name)}) AS {_q(c.DEVICE_SILENT.name)} "
    f"FROM {c.DEVICE_MESSAGES.source} "
    f"WHERE {STATION_FILTER} AND $timeFilter GROUP BY " + ", ".join(_q(t) for t in c.DEVICE_TAGS)
)
MESSAGES_RATE = over_time("mean", c.MESSAGES_RATE, c.GATEWAY_TAG, where=None)
INGEST_LAG = over_time("max", c.INGEST_LAG, c.GATEWAY_TAG, where=None)
WRITE_LATENCY = over_time("mean", c.WRITE_LATENCY, c.GATEWAY_TAG, where=None)
WRITE_RETRIES = over_time("sum", c.WRITE_RETRIES, c.GATEWAY_TAG, where=None)
DEAD_LETTERS = over_time("count", c.DEAD_LETTER_SIZE, "reason")

# --- station --------------------------------------------------------------------------------
# Every reading carries its message_id (gateway.influx_schema ENVELOPE_FIELDS): one count per message,
# where count(*) would give a column per field of every kind.
MEASUREMENTS_BY_KIND = (
    f"SELECT count({_q(c.READING_ID)}) FROM {READINGS_REGEX} WHERE {STATION_FILTER} AND $timeFilter "
    f"GROUP BY {_q(c.STATION_TAG)}"
)
# One score point per visit (gateway.influx_schema FRAILTY), with ``inputs`` whatever could be scored;
# frailty_level is missing when the visit lacked the K-FRAIL/Fried items, so it undercounts.
SCORED_VISITS = over_time("count", c.SCORE_INPUTS, c.STATION_TAG, fill="0")
GAIT_DISTRIBUTION = raw_values(c.GAIT_SPEED)
SPPB_DISTRIBUTION = raw_values(c.SPPB)
GRIP_DISTRIBUTION = raw_values(c.GRIP)
CHAIR_DISTRIBUTION = raw_values(c.CHAIR_STAND)
FRAILTY_OVER_TIME = over_time("count", c.FRAILTY_LEVEL, c.FRAILTY_CATEGORY_TAG, fill="0")
# Follow-up: InfluxQL cannot compare a follow-up date with the visits after it, so each station
# reports its own counts in its heartbeat (edge.page.followup, the numbers its page shows); the
# newest report per station is the funnel, cases opened → linked → followed up, and the overdue.
_FUNNEL = (c.CASES_OPENED, c.CASES_LINKED, c.CASES_FOLLOWED_UP, c.OVERDUE_FOLLOW_UPS)
FOLLOW_UP_FUNNEL = (
    "SELECT "
    + ", ".join(f"last({_q(f.name)}) AS {_q(f.name)}" for f in _FUNNEL)
    + f" FROM {c.source(c.HEARTBEAT)} WHERE {STATION_FILTER} AND $timeFilter GROUP BY {_q(c.STATION_TAG)}"
)
OVERDUE_OVER_TIME = over_time("max", c.OVERDUE_FOLLOW_UPS, c.STATION_TAG)

# --- participant ----------------------------------------------------------------------------


def participant_trend(field: Field) -> str:
    """One participant's values over visits at every station (the station is the series)."""
    return raw_values(field, where=PSEUDONYM_FILTER)


# Case events of the participant: opened, escalated, acknowledged, resolved... at processing time.
CASE_ANNOTATIONS = (
    f'SELECT "rule", "state", "reason" FROM {_q(c.CASES)} '
    f'WHERE {PSEUDONYM_FILTER} AND $timeFilter GROUP BY "domain", "event", "severity"'
)

# --- cross-station --------------------------------------------------------------------------
# InfluxQL has no calendar months; 30-day buckets are the portable approximation.
FRAILTY_SHARE_BY_MONTH = (
    f"SELECT count({_q(c.FRAILTY_LEVEL.name)}) FROM {c.FRAILTY_LEVEL.source} WHERE $timeFilter "
    f"GROUP BY time(30d), {_q(c.STATION_TAG)}, {_q(c.FRAILTY_CATEGORY_TAG)} fill(0)"
)
CASES_OPENED_PER_STATION = over_time(
    "count", c.CASE_AT, c.STATION_TAG, where="\"event\" = 'opened'", fill="0"
)
COMPLETENESS = (
    f"SELECT count({_q(c.READING_ID)}) FROM {READINGS_REGEX} WHERE $timeFilter GROUP BY {_q(c.STATION_TAG)}"
)

# --- alerts dashboard -----------------------------------------------------------------------
# A case is the fold of its events; InfluxQL folds what the table needs: the state after the latest
# event, the highest severity, when its first and latest visits were, how many events. Cases stay
# open for years, so the look-back is fixed, not the dashboard's range. A station's cases: those
# with an event at the station (its visits or its counsellors' actions).
CASE_LOOKBACK = "time > now() - 3650d"
_KEY = ", ".join(_q(t) for t in c.CASE_KEY)
OPEN_CASES = (
    'SELECT "state", "severity", "since", "latest", "rule", "events" FROM ('
    'SELECT last("state") AS "state", max("severity_level") AS "severity", min("at") AS "since", '
    'max("at") AS "latest", last("rule") AS "rule", count("at") AS "events" '
    f"FROM {_q(c.CASES)} WHERE {STATION_FILTER} AND {CASE_LOOKBACK} GROUP BY {_KEY}"
    ") WHERE \"state\" <> 'resolved' GROUP BY " + _KEY
)
CASE_EVENTS = (
    'SELECT "state", "rule", "statistic", "reason", "actor", "visit_id" '
    f"FROM {_q(c.CASES)} WHERE {STATION_FILTER} AND $timeFilter GROUP BY "
    + ", ".join(_q(t) for t in c.CASE_TAGS)
    + " ORDER BY time DESC LIMIT 500"
)
