"""The five dashboards, generated from the catalog, the queries and the text table.

Each function returns an SDK ``Dashboard`` builder; :func:`build_all` gives the built models keyed
by file name. The uid is fixed per dashboard (links and alert annotations point at it) and the
same for both languages, so switching ``--lang`` replaces a dashboard instead of duplicating it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from grafana_foundation_sdk.builders.dashboard import AnnotationQuery, Dashboard
from grafana_foundation_sdk.models import dashboard as model

from grafana import catalog as c
from grafana import cutoffs as cut
from grafana import panels as p
from grafana import queries as q
from grafana.influxql import InfluxQL, datasource_ref
from grafana.texts import Lang, text


@dataclass(frozen=True)
class DashboardSpec:
    uid: str
    folder: str  # a key of the text table ("folder.clinical" / "folder.ops")
    build: Callable[[Lang], Dashboard]


def _base(uid: str, key: str, lang: Lang, time_from: str) -> Dashboard:
    return (
        Dashboard(text(key, lang))
        .uid(uid)
        .description(text(f"{key}.desc", lang))
        .tags(["frailwatch", "generated"])
        .timezone("browser")
        .time(time_from, "now")
        .refresh("1m")
        .readonly()
    )


def fleet(lang: Lang) -> Dashboard:
    t = lambda key: text(key, lang)  # noqa: E731 - a local shorthand keeps the layout readable
    return (
        _base("frailwatch-fleet", "fleet", lang, "now-24h")
        .with_variable(p.station_variable(t("var.station"), q.STATION_VALUES))
        .with_variable(p.interval_variable(t("var.interval"), default="1h"))
        .with_panel(p.status(t("p.online"), t("p.online.desc"), q.STATIONS_ONLINE, "none", "$tag_station_id"))
        .with_panel(p.grid(t("p.last_seen"), t("p.last_seen"), q.LAST_HEARTBEAT, width=12))
        .with_panel(
            p.series(
                t("p.spool_depth"), t("p.spool_depth"), q.SPOOL_DEPTH, c.SPOOL_DEPTH.unit, "$tag_station_id"
            )
        )
        .with_panel(
            p.series(
                t("p.spool_oldest"),
                t("p.spool_oldest"),
                q.SPOOL_OLDEST,
                c.SPOOL_OLDEST.unit,
                "$tag_station_id",
            )
        )
        .with_panel(p.grid(t("p.devices"), t("p.devices"), q.DEVICES))
        .with_panel(
            p.series(
                t("p.messages_rate"),
                t("p.messages_rate"),
                q.MESSAGES_RATE,
                c.MESSAGES_RATE.unit,
                "$tag_gateway",
            )
        )
        .with_panel(
            p.series(
                t("p.ingest_lag"),
                t("p.ingest_lag"),
                q.INGEST_LAG,
                c.INGEST_LAG.unit,
                "$tag_gateway",
                limit=60,
            )
        )
        .with_panel(
            p.series(
                t("p.write_latency"),
                t("p.write_latency"),
                q.WRITE_LATENCY,
                c.WRITE_LATENCY.unit,
                "$tag_gateway",
            )
        )
        .with_panel(
            p.series(t("p.retries"), t("p.retries"), q.WRITE_RETRIES, c.WRITE_RETRIES.unit, "$tag_gateway")
        )
        .with_panel(p.stacked_bars(t("p.dead_letters"), t("p.dead_letters"), q.DEAD_LETTERS, "$tag_reason"))
    )


def _distribution(title: str, query: str, field: c.Field, *cutoffs: cut.Cutoff) -> p.histogram.Panel:
    return p.distribution(title, title, query, field.unit, *cutoffs, alias=q.series_alias(field))


def station(lang: Lang) -> Dashboard:
    t = lambda key: text(key, lang)  # noqa: E731
    return (
        _base("frailwatch-station", "station", lang, "now-90d")
        .with_variable(p.station_variable(t("var.station"), q.CLINICAL_STATION_VALUES))
        .with_variable(p.interval_variable(t("var.interval"), default="7d"))
        .with_panel(p.grid(t("p.measurements"), t("p.measurements"), q.MEASUREMENTS_BY_KIND, width=12))
        .with_panel(p.stacked_bars(t("p.visits"), t("p.visits"), q.SCORED_VISITS, "$tag_station_id"))
        .with_panel(_distribution(t("p.gait_dist"), q.GAIT_DISTRIBUTION, c.GAIT_SPEED, cut.GAIT_SPEED_MPS))
        .with_panel(_distribution(t("p.sppb_dist"), q.SPPB_DISTRIBUTION, c.SPPB, cut.SPPB_TOTAL))
        .with_panel(
            _distribution(t("p.grip_dist"), q.GRIP_DISTRIBUTION, c.GRIP, cut.GRIP_WOMEN_KG, cut.GRIP_MEN_KG)
        )
        .with_panel(_distribution(t("p.chair_dist"), q.CHAIR_DISTRIBUTION, c.CHAIR_STAND, cut.CHAIR_STAND_S))
        .with_panel(
            p.stacked_bars(
                t("p.frailty_time"), t("p.frailty_time"), q.FRAILTY_OVER_TIME, "$tag_frailty_category"
            )
        )
        .with_panel(p.grid(t("p.follow_up"), t("p.follow_up.desc"), q.FOLLOW_UP_FUNNEL, width=12))
        .with_panel(
            p.series(
                t("p.overdue"),
                t("p.overdue.desc"),
                q.OVERDUE_OVER_TIME,
                c.OVERDUE_FOLLOW_UPS.unit,
                "$tag_station_id",
            )
        )
    )


# (text key, field, cut-offs) per participant panel, in reading order.
_PARTICIPANT_PANELS: tuple[tuple[str, c.Field, tuple[cut.Cutoff, ...]], ...] = (
    ("p.gait_speed", c.GAIT_SPEED, (cut.GAIT_SPEED_MPS,)),
    ("p.cadence", c.CADENCE, ()),
    ("p.stride_cv", c.STRIDE_CV, ()),
    ("p.sway_area", c.SWAY_AREA, ()),
    ("p.sway_velocity", c.SWAY_VELOCITY, ()),
    ("p.chair_stand", c.CHAIR_STAND, (cut.CHAIR_STAND_S,)),
    ("p.grip", c.GRIP, (cut.GRIP_WOMEN_KG, cut.GRIP_MEN_KG)),
    ("p.sppb", c.SPPB, (cut.SPPB_TOTAL,)),
    ("p.kfrail", c.KFRAIL, (cut.Cutoff(cut.KFRAIL_PREFRAIL, False), cut.Cutoff(cut.KFRAIL_FRAIL, False))),
)


def case_annotation(lang: Lang) -> AnnotationQuery:
    """The selected participant's case events (opened, escalated, acknowledged, resolved, ...),
    drawn on every trend panel at the time they were raised or taken."""
    return (
        AnnotationQuery()
        .name(text("a.cases", lang))
        .datasource(datasource_ref())
        .enable(True)
        .icon_color("red")
        .target(InfluxQL(q.CASE_ANNOTATIONS).table().annotation("event", "domain,event,severity"))
    )


def participant(lang: Lang) -> Dashboard:
    t = lambda key: text(key, lang)  # noqa: E731
    board = (
        _base("frailwatch-participant", "participant", lang, "now-2y")
        .with_variable(p.station_variable(t("var.station"), q.CLINICAL_STATION_VALUES))
        .with_variable(p.pseudonym_variable(t("var.pseudonym"), q.PSEUDONYM_VALUES))
        .annotation(case_annotation(lang))
    )
    for key, field, cutoffs in _PARTICIPANT_PANELS:
        board = board.with_panel(
            p.trend(
                t(key),
                t(key),
                q.participant_trend(field),
                field.unit,
                *cutoffs,
                points=True,
                alias=q.series_alias(field),
            )
        )
    return board


def cross_station(lang: Lang) -> Dashboard:
    t = lambda key: text(key, lang)  # noqa: E731
    return (
        _base("frailwatch-cross-station", "cross", lang, "now-1y")
        .with_variable(p.interval_variable(t("var.interval"), default="30d"))
        .with_panel(
            p.stacked_bars(
                t("p.frailty_share"),
                f"{t('l.robust')} / {t('l.pre_frail')} / {t('l.frail')}",
                q.FRAILTY_SHARE_BY_MONTH,
                "$tag_station_id $tag_frailty_category",
                percent=True,
            )
        )
        .with_panel(
            p.stacked_bars(
                t("p.cases_per_station"),
                t("p.cases_per_station"),
                q.CASES_OPENED_PER_STATION,
                "$tag_station_id",
            )
        )
        .with_panel(p.grid(t("p.completeness"), t("p.completeness"), q.COMPLETENESS, width=12))
    )


def alerts(lang: Lang) -> Dashboard:
    t = lambda key: text(key, lang)  # noqa: E731
    return (
        _base("frailwatch-alerts", "alerts", lang, "now-30d")
        .with_variable(p.station_variable(t("var.station"), q.CLINICAL_STATION_VALUES))
        .with_panel(p.grid(t("p.open_cases"), t("p.open_cases.desc"), q.OPEN_CASES).height(12))
        .with_panel(p.grid(t("p.case_events"), t("p.case_events.desc"), q.CASE_EVENTS).height(12))
    )


DASHBOARDS: dict[str, DashboardSpec] = {
    "fleet": DashboardSpec("frailwatch-fleet", "folder.ops", fleet),
    "station": DashboardSpec("frailwatch-station", "folder.clinical", station),
    "participant": DashboardSpec("frailwatch-participant", "folder.clinical", participant),
    "cross_station": DashboardSpec("frailwatch-cross-station", "folder.clinical", cross_station),
    "alerts": DashboardSpec("frailwatch-alerts", "folder.clinical", alerts),
}


def build_all(lang: Lang) -> dict[str, model.Dashboard]:
    """Every dashboard as an SDK model, keyed by its short name."""
    return {name: spec.build(lang).build() for name, spec in DASHBOARDS.items()}
