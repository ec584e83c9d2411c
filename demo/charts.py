"""Trend charts for participants with a decline case: gait speed, SPPB and grip over visits.

Cut-offs are the AWGS 2019 ones (Chen et al., J Am Med Dir Assoc 2020;21:300-307): gait speed
< 1.0 m/s and SPPB <= 9 mean low physical performance; grip < 28 kg (men) / < 18 kg (women) low
strength. The zone beyond each cut-off is shaded. The visit that opened a case of the panel's
domain (mobility: gait speed and SPPB; strength: grip) is ringed and labelled with the case's
change from the personal baseline. Cases of other domains are listed under the chart. The title
says what the simulator made the participant (steady, or the kind of decline) and a dotted line
marks a simulated decline's onset: the measured values carry realistic between-day error, so a
steady line wanders and a case on it is a false one.
"""

from __future__ import annotations

from pathlib import Path

from demo.report import change_text, signed_value
from demo.summary import CaseRecord, ParticipantTrend

ONSET = "#7f8c8d"
GAIT_SPEED_CUTOFF_MPS = 1.0  # AWGS 2019 low performance, 6 m usual gait speed
SPPB_CUTOFF = 9  # AWGS 2019: SPPB <= 9 is low performance
GRIP_CUTOFF_KG = {"male": 28.0, "female": 18.0}  # AWGS 2019 low handgrip strength

LINE = "#1f4e79"
CUTOFF = "#c0392b"
ALERT = "#e67e22"

# (title, Visit field, axis unit, the case domain drawn on this panel)
PANELS = (
    ("Gait speed", "gait_speed_mps", "m/s", "mobility"),
    ("SPPB", "sppb_total", "points (0-12)", "mobility"),
    ("Grip strength", "grip_max_kg", "kg", "strength"),
)


def _cutoffs(field: str, sex: str | None) -> list[tuple[float, str]]:
    """(value, label); the zone below the value is the low one (SPPB: at or below 9)."""
    if field == "gait_speed_mps":
        return [(GAIT_SPEED_CUTOFF_MPS, "AWGS 2019 slow: < 1.0 m/s")]
    if field == "sppb_total":
        return [(SPPB_CUTOFF + 0.5, "AWGS 2019 low: SPPB ≤ 9")]
    if sex in GRIP_CUTOFF_KG:
        return [(GRIP_CUTOFF_KG[sex], f"AWGS 2019 weak ({sex}): < {GRIP_CUTOFF_KG[sex]:.0f} kg")]
    return [(kg, f"AWGS 2019 weak ({s}): < {kg:.0f} kg") for s, kg in GRIP_CUTOFF_KG.items()]


def _case_label(case: CaseRecord, field: str) -> str:
    """The opening visit's change of the panel's measure (else the case's largest changes)."""
    change = case.change.get(field)
    what = f"{change_text(case)}" if change is None else signed_value(change, field)
    return f"{case.domain} case opened ({case.severity}):\n{what} vs baseline"


def _others(cases: list[CaseRecord]) -> str:
    """One line per case of a domain without a panel."""
    shown = {domain for *_, domain in PANELS}
    lines = [
        f"{c.domain.replace('_', ' ')} ({c.severity}) from {c.visit_at:%Y-%m-%d}: {change_text(c)}"
        for c in sorted(cases, key=lambda c: c.visit_at)
        if c.domain not in shown
    ]
    return "Other decline cases — " + "; ".join(lines) if lines else ""


def plot_trend(trend: ParticipantTrend, path: Path) -> Path:
    """Write one participant's trend chart as PNG; returns the path."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server or in CI
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    visits = sorted(trend.visits, key=lambda v: v.at)
    fig, axes = plt.subplots(len(PANELS), 1, figsize=(9, 10), sharex=True)
    for ax, (title, field, unit, domain) in zip(axes, PANELS, strict=True):
        points = [(v.at, getattr(v, field)) for v in visits if getattr(v, field) is not None]
        values = [y for _, y in points]
        cutoffs = _cutoffs(field, trend.sex)
        if field == "sppb_total":
            ax.set_ylim(-0.5, 12.5)
            ax.set_yticks(range(0, 13, 2))
        elif values:
            low = min([*values, *(c for c, _ in cutoffs)])
            high = max([*values, *(c for c, _ in cutoffs)])
            pad = 0.15 * (high - low or 1.0)
            ax.set_ylim(low - pad, high + pad)
        bottom = ax.get_ylim()[0]
        for value, label in cutoffs:
            ax.axhline(value, color=CUTOFF, linestyle="--", linewidth=1.2, label=label)
            ax.axhspan(bottom, value, color=CUTOFF, alpha=0.06, linewidth=0)
        its = sorted((c for c in trend.cases if c.domain == domain), key=lambda c: c.visit_at)
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", color=LINE, linewidth=2, markersize=6, label="measured at the visit")
            day_value = {x.date(): y for x, y in points}
            rings = [
                (c.visit_at, day_value[c.visit_at.date()]) for c in its if c.visit_at.date() in day_value
            ]
            if rings:
                rx, ry = zip(*rings, strict=True)
                ax.scatter(
                    rx,
                    ry,
                    s=220,
                    facecolors="none",
                    edgecolors=ALERT,
                    linewidths=2.5,
                    zorder=5,
                    label=f"{domain} case opened",
                )
                first_x, first_y = rings[0]
                # A declining line runs through a point's upper-left and lower-right: label in the
                # upper-right quadrant if there is room above, else in the lower-left.
                late = first_x > points[len(points) // 2][0]
                low_y, high_y = ax.get_ylim()
                upper_right = not late and first_y < (low_y + high_y) / 2
                ax.annotate(
                    _case_label(its[0], field),
                    (first_x, first_y),
                    textcoords="offset points",
                    xytext=(16, 16) if upper_right else (-16, -16),
                    ha="left" if upper_right else "right",
                    va="bottom" if upper_right else "top",
                    color="#a04000",
                    fontsize=9,
                    arrowprops={"arrowstyle": "-", "color": ALERT},
                )
        else:
            ax.text(
                0.5,
                0.55,
                f"{title} was not scored at any visit\n(the visits lacked part of the test battery)",
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=10,
                color="#555555",
            )
        onset = trend.simulated.decline_onset if trend.simulated is not None else None
        if onset is not None and visits and onset <= visits[-1].at:
            ax.axvline(onset, color=ONSET, linestyle=":", linewidth=1.5, label="simulated decline onset")
        count = f" — {len(its)} {domain} case{'s' if len(its) != 1 else ''}" if its else ""
        ax.set_title(f"{title}{count}", loc="left", fontsize=12, fontweight="bold")
        ax.set_ylabel(unit, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    stations = sorted({v.station_id for v in visits})
    who = f"Participant {trend.participant[:12]}…"
    details = [
        trend.sex or "sex unknown",
        f"{len(visits)} visits",
        "station" + ("s" if len(stations) > 1 else ""),
    ]
    title = f"{who}   ({', '.join(details)} {', '.join(stations)})"
    if trend.simulated is not None:  # what the simulator made them: the truth a case is judged by
        title += f"\nsimulated: {trend.simulated.label}"
    fig.suptitle(title, fontsize=13, x=0.02, ha="left")
    if 0 < len(visits) <= 12:  # one tick per visit: the dates a counsellor will look up
        axes[-1].set_xticks([v.at for v in visits])
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    axes[-1].set_xlabel("visit date", fontsize=10)
    fig.autofmt_xdate()
    others = _others(trend.cases)
    fig.tight_layout(rect=(0, 0.05 if others else 0, 1, 0.95 if trend.simulated is not None else 0.97))
    if others:
        fig.text(0.02, 0.012, others, fontsize=8.5, color="#a04000", wrap=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
