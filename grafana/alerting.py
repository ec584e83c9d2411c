"""Alert rules, contact points, opening hours and the notification policy, as code.

Every rule has the same three steps Grafana evaluates: A = an InfluxQL query over a relative time
range, B = reduce each series of A to one number, C = a threshold on B. :class:`RuleSpec` keeps
those parts typed so the tests can evaluate a rule exactly as declared (run A on InfluxDB, apply
B's reducer and C's comparison in Python). Participant rules carry ``team=clinical`` and fleet
rules ``team=ops``; the notification policy routes on that label.

What "no data" and "query failed" mean is part of each rule (``no_data``, ``exec_err``, Grafana's
``noDataState``/``execErrState``). Where no data means the thing is dead — no gateway writing its
stats, an InfluxDB that stores or answers nothing — the rule alerts on it. Everywhere else no
data is quiet (no decline event is good news), and a failing query keeps the rule's last state,
so a dead InfluxDB raises the one InfluxDB alert instead of an error alert per rule.

Staleness per station or replica cannot use "no data": a series that vanishes from a result is
resolved by Grafana, not alerted. Those rules count points per 5-minute bucket over a long
window, zeros filled in, and judge the newest bucket (an InfluxQL subquery returns only it):
0 for the whole pending period means silent since at least that long. A bucket that has just
begun can be empty for one heartbeat interval; the pending period (every minute for 5 minutes)
never holds through that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from grafana_foundation_sdk.builders import alerting as ab
from grafana_foundation_sdk.builders import expr
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.alerting import MatchType, ObjectMatcher, RelativeTimeRange

from gateway.influx.influxql import identifier
from grafana import catalog as c
from grafana.influxql import DATASOURCE_UID, InfluxQL
from grafana.texts import Lang, text

Reducer = Literal["last", "max", "min", "mean", "sum", "count"]
Comparison = Literal["gt", "lt"]
Team = Literal["clinical", "ops"]
NoData = Literal["OK", "Alerting", "NoData", "KeepLast"]
ExecErr = Literal["Alerting", "Error", "OK", "KeepLast"]

EXPRESSION_UID = "__expr__"  # Grafana's server-side expressions pseudo-datasource
OPENING_HOURS = "station-opening-hours"
# Dead letters from one station in 15 minutes above which something is wrong upstream (a broken
# device or a misconfigured agent), not the odd bad reading.
DEAD_LETTER_SPIKE = 20
# A reading waiting this long in a station's spool is stuck, not an outage just ending: a live
# uplink drains even a day's backlog in minutes (docs/edge.md, edge_backlog benchmark).
SPOOL_BACKLOG_S = 15 * 60
# How far back the staleness rules remember a station or gateway replica: one silent longer than
# this drops out of the result (and its alert resolves); retire one for good by waiting this long.
REMEMBER_S = 7 * 24 * 3600
BUCKET = "5m"  # the staleness and rise rules count per bucket: >> heartbeat (30 s) and stats (10 s) intervals


@dataclass(frozen=True)
class RuleSpec:
    uid: str
    key: str  # text table key for title ("r.x") and description ("r.x.desc")
    team: Team
    query: str  # InfluxQL; $timeFilter covers the last ``range_s`` seconds
    range_s: int
    reducer: Reducer
    comparison: Comparison
    threshold: float
    pending: str = "0s"  # Grafana's ``for``: how long C must hold before the alert fires
    severity: str = "warning"
    labels: dict[str, str] = field(default_factory=dict)
    no_data: NoData = "OK"  # the query returned no series (or only nulls)
    exec_err: ExecErr = "KeepLast"  # the query failed (InfluxDB down, refused, timed out)

    def fires(self, value: float) -> bool:
        return value > self.threshold if self.comparison == "gt" else value < self.threshold


_q = identifier


def _count_recent(field: c.Field, by: tuple[str, ...]) -> str:
    group = ", ".join(_q(t) for t in by)
    return f"SELECT count({_q(field.name)}) FROM {field.source} WHERE $timeFilter GROUP BY {group}"


def _last(agg: str, field: c.Field, by: tuple[str, ...]) -> str:
    group = ", ".join(_q(t) for t in by)
    return f"SELECT {agg}({_q(field.name)}) FROM {field.source} WHERE $timeFilter GROUP BY {group}"


def _newest_bucket_count(field: c.Field, by: str) -> str:
    """Points of ``field`` per ``by`` in the newest 5-minute bucket (0 when silent): a subquery
    counts every bucket of the range with zeros filled in, the outer query keeps the last one."""
    return (
        f'SELECT last("n") FROM (SELECT count({_q(field.name)}) AS "n" FROM {field.source} '
        f"WHERE $timeFilter GROUP BY time({BUCKET}), {_q(by)} fill(0)) GROUP BY {_q(by)}"
    )


def _recent_increase(field: c.Field, by: str) -> str:
    """How much a counter rose over the newest three 5-minute buckets (a sliding 10–15 minutes):
    differences between consecutive points, so a rise across a gap counts (heartbeats after an
    outage carry what happened during it), a reset by a restart (negative) does not; summed per
    bucket with zeros filled in, then the moving sum of three buckets, the newest one kept."""
    inner = (
        f'SELECT non_negative_difference({_q(field.name)}) AS "d" FROM {field.source} '
        f"WHERE $timeFilter GROUP BY {_q(by)}"
    )
    return (
        f'SELECT last("w") FROM (SELECT 3 * moving_average(sum("d"), 3) AS "w" FROM ({inner}) '
        f"WHERE $timeFilter GROUP BY time({BUCKET}), {_q(by)} fill(0)) GROUP BY {_q(by)}"
    )


PARTICIPANT_RULES: tuple[RuleSpec, ...] = (
    RuleSpec(
        uid="fw-case-notice",
        key="r.case",
        team="clinical",
        # One alert per case opened or escalated in the last 15 minutes of *processing* time (a
        # point's time is when the gateway raised the event), so a visit that reaches the centre
        # late still notifies; only opening and escalation notify, and one case is one alert.
        query=(
            f"SELECT count({_q(c.CASE_AT.name)}) FROM {_q(c.CASES)} "
            "WHERE (\"event\" = 'opened' OR \"event\" = 'escalated') AND $timeFilter GROUP BY "
            + ", ".join(_q(t) for t in (*c.CASE_KEY, "severity"))
        ),
        range_s=15 * 60,
        reducer="last",
        comparison="gt",
        threshold=0,
    ),
)

FLEET_RULES: tuple[RuleSpec, ...] = (
    RuleSpec(
        uid="fw-station-offline",
        key="r.offline",
        team="ops",
        # The agent's Last Will publishes offline (0); the rule waits 10 minutes before firing.
        query=_last("last", c.STATION_ONLINE, (c.STATION_TAG,)),
        range_s=7 * 24 * 3600,
        reducer="last",
        comparison="lt",
        threshold=1,
        pending="10m",
        severity="critical",
    ),
    RuleSpec(
        uid="fw-device-silent",
        key="r.device_silent",
        team="ops",
        query=_last("last", c.DEVICE_SILENT, (c.STATION_TAG, "device_id")),
        range_s=15 * 60,
        reducer="last",
        comparison="gt",
        threshold=2 * 3600,
        labels={"opening_hours": "true"},
    ),
    RuleSpec(
        uid="fw-gateway-lag",
        key="r.lag",
        team="ops",
        # The lowest lag of the last 90 s (several gateway_stats samples): the gateway is behind
        # only if every message it wrote was late. A station draining an old spool between fresh
        # readings (the maximum would fire on it) is the spool panels' business, not this alert.
        query=_last("min", c.INGEST_LAG, (c.GATEWAY_TAG,)),
        range_s=90,
        reducer="min",
        comparison="gt",
        threshold=60,
        pending="2m",
    ),
    RuleSpec(
        uid="fw-dead-letter-spike",
        key="r.dead_letters",
        team="ops",
        query=_count_recent(c.DEAD_LETTER_SIZE, (c.STATION_TAG,)),
        range_s=15 * 60,
        reducer="last",
        comparison="gt",
        threshold=DEAD_LETTER_SPIKE,
    ),
    RuleSpec(
        uid="fw-gateway-silent",
        key="r.gateway_silent",
        team="ops",
        # Every replica writes a stats point every stats_interval_s (10 s), idle or not. A replica
        # seen in the last 24 h whose newest bucket is empty for 5 minutes is dead or cut off from
        # InfluxDB; no replica at all in 24 h (no data) is a pipeline with no gateway.
        query=_newest_bucket_count(c.MESSAGES_TOTAL, c.GATEWAY_TAG),
        range_s=24 * 3600,
        reducer="last",
        comparison="lt",
        threshold=1,
        pending="5m",
        severity="critical",
        no_data="Alerting",
    ),
    RuleSpec(
        uid="fw-influxdb-silent",
        key="r.influxdb_silent",
        team="ops",
        # The store as a whole: InfluxDB does not answer (the query fails) or has stored not one
        # gateway stats point in 5 minutes (nothing arrives) — every data path depends on it.
        query=f"SELECT count({_q(c.MESSAGES_TOTAL.name)}) FROM {c.MESSAGES_TOTAL.source} WHERE $timeFilter",
        range_s=5 * 60,
        reducer="last",
        comparison="lt",
        threshold=1,
        pending="2m",
        severity="critical",
        no_data="Alerting",
        exec_err="Alerting",
    ),
    RuleSpec(
        uid="fw-heartbeat-stale",
        key="r.heartbeat_stale",
        team="ops",
        # Heartbeats every 30 s while the uplink is up (the Last Will rule needs the broker to
        # notice; this one also catches a hung agent or a broken path behind the broker).
        query=_newest_bucket_count(c.UPTIME, c.STATION_TAG),
        range_s=REMEMBER_S,
        reducer="last",
        comparison="lt",
        threshold=1,
        pending="5m",
    ),
    RuleSpec(
        uid="fw-spool-backlog",
        key="r.spool_backlog",
        team="ops",
        query=_last("last", c.SPOOL_OLDEST, (c.STATION_TAG,)),
        range_s=10 * 60,
        reducer="last",
        comparison="gt",
        threshold=SPOOL_BACKLOG_S,
        pending="5m",
    ),
    RuleSpec(
        uid="fw-spool-full",
        key="r.spool_full",
        team="ops",
        # Readings refused because the station's spool was full are lost to the central store
        # (kept only in the station's local dead-letter table): alert on every rise.
        query=_recent_increase(c.SPOOL_FULL_REFUSED, c.STATION_TAG),
        range_s=REMEMBER_S,
        reducer="last",
        comparison="gt",
        threshold=0,
        severity="critical",
    ),
)

GROUPS: dict[str, tuple[str, tuple[RuleSpec, ...]]] = {
    # group name: (folder text key, rules)
    "participants": ("folder.clinical", PARTICIPANT_RULES),
    "fleet": ("folder.ops", FLEET_RULES),
}
FOLDER_UIDS = {"folder.clinical": "frailwatch-clinical", "folder.ops": "frailwatch-ops"}


def all_rules() -> tuple[RuleSpec, ...]:
    return PARTICIPANT_RULES + FLEET_RULES


def rule_builder(spec: RuleSpec, lang: Lang, group: str, folder_uid: str) -> ab.Rule:
    """The rule as the SDK's typed alerting model (also the HTTP provisioning API's shape)."""
    query = (
        ab.Query("A")
        .datasource_uid(DATASOURCE_UID)
        .relative_time_range(RelativeTimeRange(from_val=spec.range_s, to=0))
        .model(InfluxQL(spec.query).ref_id("A"))
    )
    reduce = (
        ab.Query("B")
        .datasource_uid(EXPRESSION_UID)
        .relative_time_range(RelativeTimeRange(from_val=0, to=0))
        .model(
            expr.TypeReduce()
            .ref_id("B")
            .expression("A")
            .reducer(spec.reducer)
            .settings(expr.ExprTypeReduceSettings().mode("dropNN"))
        )
    )
    threshold = (
        ab.Query("C")
        .datasource_uid(EXPRESSION_UID)
        .relative_time_range(RelativeTimeRange(from_val=0, to=0))
        .model(
            expr.TypeThreshold()
            .ref_id("C")
            .expression("B")
            .conditions(
                [
                    expr.ExprTypeThresholdConditions().evaluator(
                        expr.ExprTypeThresholdConditionsEvaluator()
                        .type(spec.comparison)
                        .params([spec.threshold])
                    )
                ]
            )
        )
    )
    return (
        ab.Rule(text(spec.key, lang))
        .uid(spec.uid)
        .rule_group(group)
        .folder_uid(folder_uid)
        .condition("C")
        .queries([query, reduce, threshold])
        .for_val(spec.pending)
        .no_data_state(spec.no_data)
        .exec_err_state(spec.exec_err)
        .labels({"team": spec.team, "severity": spec.severity, **spec.labels})
        .annotations({"summary": text(spec.key, lang), "description": text(f"{spec.key}.desc", lang)})
    )


def _plain(obj: object) -> Any:
    """SDK model → plain JSON data (the SDK's own encoder decides the field names)."""
    return json.loads(JSONEncoder().encode(obj))


def rules_api(lang: Lang) -> list[dict[str, Any]]:
    """Rules as ``POST /api/v1/provisioning/alert-rules`` bodies."""
    out = []
    for group, (folder_key, specs) in GROUPS.items():
        for spec in specs:
            out.append(_plain(rule_builder(spec, lang, group, FOLDER_UIDS[folder_key]).build()))
    return out


# Keys Grafana's file provisioning accepts for a rule (docs: "alerting/set-up/provision-alerting-
# resources/file-provisioning"); the API model's folderUID/ruleGroup/orgID live on the group there.
RULE_FILE_KEYS = (
    "uid",
    "title",
    "condition",
    "data",
    "noDataState",
    "execErrState",
    "for",
    "annotations",
    "labels",
    "isPaused",
    "notification_settings",
)


def rules_file(lang: Lang) -> dict[str, Any]:
    """The ``provisioning/alerting/rules.yaml`` document."""
    groups = []
    for group, (folder_key, specs) in GROUPS.items():
        rules = []
        for spec in specs:
            api = _plain(rule_builder(spec, lang, group, FOLDER_UIDS[folder_key]).build())
            rules.append({k: api[k] for k in RULE_FILE_KEYS if k in api})
        groups.append(
            {"orgId": 1, "name": group, "folder": text(folder_key, lang), "interval": "1m", "rules": rules}
        )
    return {"apiVersion": 1, "groups": groups}


# --- contact points, opening hours, routing ---------------------------------------------------

CLINICAL_RECEIVER = "frailwatch-clinical"
OPS_RECEIVER = "frailwatch-ops"


def contact_points() -> list[ab.ContactPoint]:
    """E-mail and webhook per team; addresses and URLs come from Grafana's environment."""
    return [
        ab.ContactPoint()
        .uid("fw-clinical-email")
        .name(CLINICAL_RECEIVER)
        .type("email")
        .settings({"addresses": "${FW_ALERT_EMAIL_CLINICAL}", "singleEmail": True}),
        ab.ContactPoint()
        .uid("fw-clinical-webhook")
        .name(CLINICAL_RECEIVER)
        .type("webhook")
        .settings({"url": "${FW_ALERT_WEBHOOK_CLINICAL}", "httpMethod": "POST"}),
        ab.ContactPoint()
        .uid("fw-ops-email")
        .name(OPS_RECEIVER)
        .type("email")
        .settings({"addresses": "${FW_ALERT_EMAIL_OPS}", "singleEmail": True}),
        ab.ContactPoint()
        .uid("fw-ops-webhook")
        .name(OPS_RECEIVER)
        .type("webhook")
        .settings({"url": "${FW_ALERT_WEBHOOK_OPS}", "httpMethod": "POST"}),
    ]


def opening_hours() -> dict[str, Any]:
    """Stations are open 09:00–18:00 Monday to Friday, Korean time (a device is silent at night).

    Written in the documented file/API shape (``start_time``/``end_time``, ``monday:friday``):
    the SDK's MuteTiming model encodes ``from``/``to`` and numeric weekdays, which Grafana's
    provisioning does not read.
    """
    return {
        "name": OPENING_HOURS,
        "time_intervals": [
            {
                "times": [{"start_time": "09:00", "end_time": "18:00"}],
                "weekdays": ["monday:friday"],
                "location": "Asia/Seoul",
            }
        ],
    }


def notification_policy() -> ab.NotificationPolicy:
    """Participant alerts to the clinical team, fleet alerts to ops; silent devices only while open."""

    def team(name: str) -> ObjectMatcher:
        return ["team", MatchType.EQUAL, name]  # the SDK's alias: [label, op, value]

    return (
        ab.NotificationPolicy()
        .receiver(OPS_RECEIVER)
        .group_by(["grafana_folder", "alertname"])
        .routes(
            [
                ab.NotificationPolicy()
                .receiver(CLINICAL_RECEIVER)
                .object_matchers([team("clinical")])
                .group_by(["alertname", c.STATION_TAG])
                .group_wait("30s")
                .repeat_interval("12h"),
                ab.NotificationPolicy()
                .receiver(OPS_RECEIVER)
                .object_matchers([team("ops"), ["opening_hours", MatchType.EQUAL, "true"]])
                .active_time_intervals([OPENING_HOURS])
                .repeat_interval("4h"),
                ab.NotificationPolicy()
                .receiver(OPS_RECEIVER)
                .object_matchers([team("ops")])
                .group_by(["alertname", c.STATION_TAG])
                .repeat_interval("4h"),
            ]
        )
    )


def contact_points_file() -> dict[str, Any]:
    receivers: dict[str, list[dict[str, Any]]] = {}
    for point in contact_points():
        built = _plain(point.build())
        receivers.setdefault(built["name"], []).append(
            {"uid": built["uid"], "type": built["type"], "settings": built["settings"]}
        )
    return {
        "apiVersion": 1,
        "contactPoints": [{"orgId": 1, "name": name, "receivers": r} for name, r in receivers.items()],
    }


def policies_file() -> dict[str, Any]:
    return {"apiVersion": 1, "policies": [{"orgId": 1, **_plain(notification_policy().build())}]}


def mute_timings_file() -> dict[str, Any]:
    return {"apiVersion": 1, "muteTimes": [{"orgId": 1, **opening_hours()}]}
