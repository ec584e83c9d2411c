"""The demo summary for people: a few rich tables on stdout.

The cohort is measured with realistic error (the simulator's visits carry the cited between-day
SEM and station offsets), so the cases are reported against the simulator's truth: cases per
participant, decliners with a case by kind of decline, steady participants with a case (false
cases, whatever their number), per station. Decline cases are listed one per row (a participant
has at most one open case per domain; the row shows who the simulator made them, what opened the
case and its change from the personal baseline); summary.json keeps every case.
"""

from __future__ import annotations

from pathlib import Path

from demo.summary import CaseRecord, DemoSummary, StationPages

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
WIDTH_OFF_TERMINAL = 140  # rich's default of 80 columns cuts the case table into fragments


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
        f"spools filled {depths_line(o.filling)}, drained {depths_line(o.drain)}, {drained}"
    )


def depths_line(samples: list[tuple[float, int]], unknown: str = "?") -> str:
    """Spool depths over time as '0 → 41 → 78', without repeats, at most eight."""
    shown: list[int] = []
    for _, depth in samples:
        if not shown or shown[-1] != depth:
            shown.append(depth)
    if len(shown) > 8:  # a readable line: first, six evenly spaced, last
        shown = [shown[round(i * (len(shown) - 1) / 7)] for i in range(8)]
    return " → ".join(str(d) for d in shown) or unknown


def _case_rows(summary: DemoSummary) -> list[tuple[str, str]]:
    """The overview's lines on cases: per participant, decliners found, false cases."""
    n = max(1, summary.participants)
    spread = ", ".join(f"{cases}: {people}" for cases, people in summary.participants_by_cases.items())
    rate = summary.false_cases_per_steady_person_year
    per_year = f"{rate:.2f} per steady person-year" if rate is not None else "no steady follow-up"
    elsewhere = summary.decliner_cases_elsewhere
    return [
        (
            "decline cases",
            f"{len(summary.cases)} for {len(summary.participants_with_case)} participants, "
            f"{len(summary.cases) / n:.2f} per participant "
            f"(participants by number of cases: {spread or '-'})",
        ),
        (
            "decliners found",
            f"{summary.decliners_with_case} of the {summary.decliners} simulated decliners have a case "
            "in their declining domain (by kind below)",
        ),
        (
            "false cases",
            f"{summary.steady_cases} for {summary.steady_with_case} of the {summary.steady} steady "
            f"participants ({per_year}, over {summary.steady_person_years:.1f} person-years)"
            + (f"; {elsewhere} more of decliners, outside their decline" if elsewhere else ""),
        ),
    ]


def _station_rows(pages: StationPages) -> list[tuple[str, str]]:
    """What the station pages showed, one line per check, failures in red."""
    ports = ", ".join(f"{station} :{port}" for station, port in pages.ports.items())
    rows = [
        (
            "station pages",
            f"{pages.result_pages} of {pages.scored_visits} scored visits' result pages show the result and "
            f"the participant's local name (http://127.0.0.1 {ports}; account {pages.account})",
        )
    ]
    if pages.browser is not None:
        rows.append(("in Chromium", f"[yellow]{pages.browser}[/]"))
    else:
        overdue = sum(len(v) for v in pages.overdue_expected.values())
        rows += [
            (
                "in Chromium",
                f"{pages.pages_in_browser} result pages; A4 report printed, pdftotext finds "
                f"{', '.join(pages.pdf_values.values()) or 'no values'}; "
                f"{len(pages.action_events)} counsellor actions clicked reached InfluxDB, "
                f"{len(pages.dashboard_events)} show in the clinical "
                "dashboard's case-event panel",
            ),
            (
                "follow-up",
                f"{len(pages.follow_ups)} follow-up dates set; overdue lists checked today and in a few days "
                f"({overdue} overdue, as expected)"
                if not [f for f in pages.failures if "overdue" in f]
                else "[red]overdue list wrong[/]",
            ),
        ]
    if pages.failures:
        rows.append(("station checks", "[red]" + "; ".join(pages.failures) + "[/]"))
    return rows


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
    for label, text in _case_rows(summary):
        overview.add_row(label, text)
    overview.add_row("uplink outage", _outage_text(summary))
    if summary.privacy is not None:
        p = summary.privacy
        places = ", ".join(f"{place} {p.bytes_scanned[place] / 1e6:.1f} MB" for place in p.hits)
        found = "[green]none found[/]" if not p.problems else "[red]" + "; ".join(p.problems) + "[/]"
        overview.add_row("raw identifiers", f"{found} ({p.identifiers} checked in {places})")
    if summary.station_pages is not None:
        for label, text in _station_rows(summary.station_pages):
            overview.add_row(label, text)
    overview.add_row("run time", f"{summary.duration_s:.1f} s")
    console.print(overview)

    stations = Table(
        title="Per station (a case counts where the visit that opened it was)", title_justify="left"
    )
    columns = ("station", "visits", "device messages", "readings written", "faulty", "dead letters", "cases")
    for column in columns:
        stations.add_column(column, justify="left" if column == "station" else "right")
    for column in ("participants with a case", "decliners found", "steady with a case"):
        stations.add_column(column, justify="right")
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
            str(s.decliners_with_case),
            str(s.steady_with_case),
        )
    console.print(stations)

    if summary.decliners_by_kind:
        kinds = Table(
            title="Simulated decliners: found = a case in the declining domain after the onset",
            title_justify="left",
        )
        for column in ("decline", "shape", "domain", "decliners", "found", "share of the decline reached"):
            kinds.add_column(column, justify="right" if column in ("decliners", "found") else "left")
        for g in summary.decliners_by_kind:
            kinds.add_row(
                g.kind.replace("_", " "),
                g.shape,
                g.domain.replace("_", " "),
                str(g.decliners),
                str(g.with_case),
                ", ".join(f"{r:.0%}" for r in g.reached),
            )
        console.print(kinds)

    if summary.cases:
        table = Table(title="Decline cases (one per participant and domain)", title_justify="left")
        table.add_column("pseudonym", no_wrap=True)
        table.add_column("simulated as", max_width=13)
        for column in ("domain", "severity", "opened at", "station"):
            table.add_column(column, no_wrap=True)
        table.add_column("rule", max_width=12, overflow="fold")
        table.add_column("change at opening", min_width=22)
        table.add_column("events", justify="right")
        last = None
        for case in sorted(summary.cases, key=lambda k: (k.participant, k.visit_at)):
            first = case.participant != last
            truth = (case.simulated or "?").replace(" decline", "") if first else ""
            table.add_row(
                case.participant[:12] + "…" if first else "",
                truth,
                case.domain.replace("_", " ") + ("\n[yellow]false case[/]" if case.false_case else ""),
                f"{case.severity}\n[dim]{case.state}[/]",  # the state under the severity
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
