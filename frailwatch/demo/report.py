"""The demo summary for people: a few rich tables on stdout.

Decline cases are listed one per row (a participant has at most one open case per domain; the row
shows what opened it and its change from the personal baseline); summary.json keeps every case.
"""

from __future__ import annotations

from pathlib import Path

from frailwatch.demo.summary import CaseRecord, DemoSummary

# metric -> (label, unit)
METRICS = {
    "gait_speed_mps": ("gait speed", "m/s"),
    "grip_max_kg": ("grip strength", "kg"),
    "chair_stand_5x_s": ("5 chair stands", "s"),
    "tug_time_s": ("timed up-and-go", "s"),
    "sppb_total": ("SPPB", ""),
    "sway_ellipse95_area_mm2": ("sway area", "mm²"),
    "sway_mean_velocity_mm_s": ("sway velocity", "mm/s"),
    "fried_count": ("Fried criteria", ""),
    "kfrail_score": ("K-FRAIL", ""),
    "frailty_level": ("frailty level", ""),
    "awgs_level": ("AWGS 2019 level", ""),
}
WIDTH_OFF_TERMINAL = 128  # rich's default of 80 columns cuts the case table into fragments


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


def change_text(case: CaseRecord) -> str:
    """The change at opening, largest first, e.g. "gait speed -0.21 m/s, SPPB -2"."""
    ordered = sorted(case.change.items(), key=lambda kv: -abs(kv[1]))
    return ", ".join(f"{metric_label(m)} {signed_value(v, m)}" for m, v in ordered[:3]) or "-"


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
        "decline cases",
        f"{len(summary.cases)} for {len(summary.participants_with_case)} participants: "
        f"{summary.decliners_with_case} of the {summary.decliners} simulated decliners have one, "
        f"{summary.steady_with_case} of the {summary.steady} steady ones",
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
    columns = ("station", "visits", "device messages", "readings written", "faulty", "dead letters", "cases")
    for column in columns:
        stations.add_column(column, justify="left" if column == "station" else "right")
    stations.add_column("participants with a case", justify="right")
    for s in summary.per_station:
        stations.add_row(
            s.station_id,
            str(s.visits),
            str(s.device_messages),
            str(s.measurements_written),
            str(s.faults_injected),
            str(s.dead_letters),
            str(s.cases),
            str(s.participants_with_case),
        )
    console.print(stations)

    if summary.cases:
        table = Table(title="Decline cases (one per participant and domain)", title_justify="left")
        for column in ("pseudonym", "domain", "severity", "state", "opened at visit", "station", "rule"):
            table.add_column(column, no_wrap=True)
        table.add_column("change at opening")
        table.add_column("events", justify="right")
        last = None
        for case in sorted(summary.cases, key=lambda k: (k.participant, k.visit_at)):
            table.add_row(
                case.participant[:12] + "…" if case.participant != last else "",
                case.domain.replace("_", " "),
                case.severity,
                case.state,
                case.visit_at.date().isoformat(),
                case.station_id,
                case.rule,
                change_text(case),
                str(case.events),
            )
            last = case.participant
        console.print(table)

    console.print(f"summary: {out / 'summary.json'}")
    for chart in summary.charts:
        console.print(f"chart:   {out / chart}")
