"""The demo summary for people: a few rich tables on stdout."""

from __future__ import annotations

from pathlib import Path

from frailwatch.demo.summary import DemoSummary

METRIC_UNITS = {
    "gait_speed_mps": "m/s",
    "sppb_total": "points",
    "grip_max_kg": "kg",
    "chair_stand_5x_s": "s",
    "tug_total_s": "s",
    "sway_ellipse95_area_mm2": "mm²",
    "sway_mean_velocity_mm_s": "mm/s",
}


def _change(value: float | None, metric: str) -> str:
    if value is None:
        return "-"
    return f"{value:+.2f} {METRIC_UNITS.get(metric, '')}".strip()


def print_summary(summary: DemoSummary, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.rule("[bold]FrailWatch demo summary")
    overview = Table.grid(padding=(0, 2))
    overview.add_row("stations", str(summary.stations))
    overview.add_row("participants", str(summary.participants))
    overview.add_row("days simulated", str(summary.days))
    overview.add_row("visits", str(summary.visits))
    overview.add_row("device messages", str(summary.device_messages))
    overview.add_row("measurements written", f"{summary.measurements_written} reading points in InfluxDB")
    dead = sum(summary.dead_letters_by_reason.values())
    overview.add_row("dead letters", str(dead))
    overview.add_row(
        "decline alerts", f"{len(summary.alerts)} for {len(summary.alerted_participants)} participants"
    )
    if summary.uplink_outage is not None:
        o = summary.uplink_outage
        drained = f"{o.drained_after_s:.1f} s" if o.drained_after_s is not None else "not within the wait"
        overview.add_row(
            "uplink outage",
            f"{o.duration_s:.1f} s, {o.peak_spool_depth} messages spooled, drained in {drained}",
        )
    overview.add_row("run time", f"{summary.duration_s:.1f} s")
    console.print(overview)

    stations = Table(title="Per station", title_justify="left")
    for column in ("station", "visits", "device messages", "points written", "alerts", "dead letters"):
        stations.add_column(column, justify="left" if column == "station" else "right")
    for s in summary.per_station:
        stations.add_row(
            s.station_id,
            str(s.visits),
            str(s.device_messages),
            str(s.measurements_written),
            str(s.alerts),
            str(s.dead_letters),
        )
    console.print(stations)

    if summary.dead_letters_by_reason:
        letters = Table(title="Dead letters by reason", title_justify="left")
        letters.add_column("reason")
        letters.add_column("count", justify="right")
        for reason, count in summary.dead_letters_by_reason.items():
            letters.add_row(reason, str(count))
        console.print(letters)

    if summary.alerts:
        alerts = Table(title="Decline alerts", title_justify="left")
        for column in ("date", "pseudonym", "station", "metric", "baseline", "current", "change", "rule"):
            alerts.add_column(column)
        for a in sorted(summary.alerts, key=lambda a: (a.participant, a.at)):
            alerts.add_row(
                a.at.date().isoformat(),
                a.participant[:12] + "…",
                a.station_id,
                a.metric,
                "-" if a.baseline is None else f"{a.baseline:.2f}",
                "-" if a.current is None else f"{a.current:.2f}",
                _change(a.change, a.metric),
                a.rule,
            )
        console.print(alerts)

    console.print(f"summary: {out / 'summary.json'}")
    for chart in summary.charts:
        console.print(f"chart:   {out / chart}")
