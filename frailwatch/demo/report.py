"""The demo summary for people: a few rich tables on stdout.

Decline alerts are grouped per participant and metric (a declining participant raises an alert at
every later visit, on more than one rule); summary.json keeps every alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from frailwatch.demo.summary import Alert, DemoSummary

# metric -> (label, unit)
METRICS = {
    "gait_speed_mps": ("gait speed", "m/s"),
    "grip_max_kg": ("grip strength", "kg"),
    "chair_stand_5x_s": ("5 chair stands", "s"),
    "tug_time_s": ("timed up-and-go", "s"),
    "sppb_total": ("SPPB", ""),
    "sway_ellipse95_area_mm2": ("sway area", "mm²"),
    "kfrail_score": ("K-FRAIL", ""),
    "frailty_level": ("frailty level", ""),
    "awgs_level": ("AWGS 2019 level", ""),
}
WIDTH_OFF_TERMINAL = 128  # rich's default of 80 columns cuts the alert table into fragments


def metric_label(metric: str) -> str:
    return METRICS.get(metric, (metric.replace("_", " "), ""))[0]


def _value(value: float | None, metric: str, signed: bool = False) -> str:
    if value is None:
        return "-"
    unit = METRICS.get(metric, ("", ""))[1]
    digits = 0 if not unit and float(value).is_integer() else 2  # scores and levels are whole
    return f"{value:{'+' if signed else ''}.{digits}f} {unit}".strip()


def signed_value(value: float, metric: str) -> str:
    """A change with its sign and unit (whole numbers for scores and levels)."""
    return _value(value, metric, signed=True)


# Rule names as short as a table column allows (processing.decline's names).
RULES = {
    "baseline_change": "baseline",
    "sppb_drop": "drop",
    "category_worsening": "category",
    "trend": "trend",
}


@dataclass
class AlertGroup:
    """All alerts of one participant on one metric; the latest baseline comparison stands for them."""

    participant: str
    metric: str
    alerts: list[Alert]

    @property
    def latest(self) -> Alert:
        baseline = [a for a in self.alerts if a.rule.startswith("baseline")]
        return max(baseline or self.alerts, key=lambda a: a.at)

    @property
    def first_at(self) -> str:
        return min(a.at for a in self.alerts).date().isoformat()

    @property
    def stations(self) -> str:
        return ", ".join(sorted({a.station_id for a in self.alerts}))

    @property
    def rules(self) -> str:
        return "/".join(sorted({RULES.get(a.rule, a.rule) for a in self.alerts}))


def group_alerts(alerts: list[Alert]) -> list[AlertGroup]:
    groups: dict[tuple[str, str], list[Alert]] = {}
    for alert in alerts:
        groups.setdefault((alert.participant, alert.metric), []).append(alert)
    order = list(METRICS)
    return [
        AlertGroup(p, m, a)
        for (p, m), a in sorted(
            groups.items(), key=lambda kv: (kv[0][0], order.index(kv[0][1]) if kv[0][1] in order else 99)
        )
    ]


def _outage_text(summary: DemoSummary) -> str:
    o = summary.uplink_outage
    if o is None:
        return "skipped (--no-outage)"
    drained = (
        f"empty {o.drained_after_s:.1f} s after it came back"
        if o.drained_after_s is not None
        else "NOT drained"
    )
    return (
        f"broker down {o.duration_s:.1f} s while {o.readings_during_outage} readings arrived; "
        f"spools filled {_depths(o.filling)}, drained {_depths(o.drain)}, {drained}"
    )


def _depths(samples: list[tuple[float, int]]) -> str:
    shown: list[int] = []
    for _, depth in samples:
        if not shown or shown[-1] != depth:
            shown.append(depth)
    if len(shown) > 8:  # a readable line: first, six evenly spaced, last
        shown = [shown[round(i * (len(shown) - 1) / 7)] for i in range(8)]
    return " → ".join(str(d) for d in shown) or "?"


def print_summary(summary: DemoSummary, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=WIDTH_OFF_TERMINAL)
    console.rule("[bold]FrailWatch demo summary")
    overview = Table.grid(padding=(0, 2))
    overview.add_column(style="bold")
    overview.add_column()
    overview.add_row("stations", str(summary.stations))
    overview.add_row("participants", f"{summary.participants} over {summary.days} days")
    overview.add_row("visits", str(summary.visits))
    overview.add_row("device messages", str(summary.device_messages))
    c = summary.consistency
    if c is not None:
        problems = [p for p in c.problems if "dead letters" not in p]
        verdict = "[green]each written once[/]" if not problems else "[red]" + "; ".join(problems) + "[/]"
        overview.add_row(
            "measurements written",
            f"{c.readings_written} readings in InfluxDB for {c.genuine_messages} sent: {verdict}",
        )
    else:
        overview.add_row("measurements written", str(summary.measurements_written))
    dead = sum(summary.dead_letters_by_reason.values())
    reasons = ", ".join(f"{r} {n}" for r, n in summary.dead_letters_by_reason.items())
    faults = c.faults_injected if c is not None else 0
    overview.add_row(
        "dead letters", f"{dead} ({reasons or 'none'}) for {faults} deliberately faulty readings"
    )
    overview.add_row(
        "decline alerts",
        f"{len(summary.alerts)} for {len(summary.alerted_participants)} participants: "
        f"{summary.decliners_alerted} of the {summary.decliners} simulated decliners, "
        f"{summary.others_alerted} of the steady ones",
    )
    overview.add_row("uplink outage", _outage_text(summary))
    if summary.privacy is not None:
        p = summary.privacy
        places = ", ".join(f"{place} {p.bytes_scanned[place] / 1e6:.1f} MB" for place in p.hits)
        found = "[green]none found[/]" if not p.problems else "[red]" + "; ".join(p.problems) + "[/]"
        overview.add_row("raw identifiers", f"{found} ({p.identifiers} checked in {places})")
    overview.add_row("run time", f"{summary.duration_s:.1f} s")
    console.print(overview)

    stations = Table(title="Per station", title_justify="left")
    columns = ("station", "visits", "device messages", "readings written", "faulty", "dead letters", "alerts")
    for column in columns:
        stations.add_column(column, justify="left" if column == "station" else "right")
    stations.add_column("alerted participants", justify="right")
    for s in summary.per_station:
        stations.add_row(
            s.station_id,
            str(s.visits),
            str(s.device_messages),
            str(s.measurements_written),
            str(s.faults_injected),
            str(s.dead_letters),
            str(s.alerts),
            str(s.alerted_participants),
        )
    console.print(stations)

    if summary.alerts:
        table = Table(
            title="Decline alerts (per participant and metric; latest comparison with the baseline)",
            title_justify="left",
        )
        for column in ("pseudonym", "station", "metric", "baseline", "latest", "change", "first alert"):
            right = column in ("baseline", "latest", "change")
            table.add_column(column, justify="right" if right else "left", no_wrap=True)
        table.add_column("alerts", justify="right", min_width=6)
        table.add_column("rules", no_wrap=True)
        last = None
        for g in group_alerts(summary.alerts):
            a = g.latest
            table.add_row(
                g.participant[:12] + "…" if g.participant != last else "",
                g.stations if g.participant != last else "",
                metric_label(g.metric),
                _value(a.baseline, g.metric),
                _value(a.current, g.metric),
                _value(a.change, g.metric, signed=True),
                g.first_at,
                str(len(g.alerts)),
                g.rules,
            )
            last = g.participant
        console.print(table)

    console.print(f"summary: {out / 'summary.json'}")
    for chart in summary.charts:
        console.print(f"chart:   {out / chart}")
