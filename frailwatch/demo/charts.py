"""Trend charts for alerted participants: gait speed, SPPB and grip over visits, cut-offs, alerts.

Cut-offs are the AWGS 2019 ones (Chen et al., J Am Med Dir Assoc 2020;21:300-307): gait speed
< 1.0 m/s and SPPB <= 9 mean low physical performance; grip < 28 kg (men) / < 18 kg (women) low
strength. The change that raised each alert is written next to its marker.
"""

from __future__ import annotations

from pathlib import Path

from frailwatch.demo.summary import Alert, ParticipantTrend

GAIT_SPEED_CUTOFF_MPS = 1.0  # AWGS 2019 low performance, 6 m usual gait speed
SPPB_CUTOFF = 9  # AWGS 2019: SPPB <= 9 is low performance
GRIP_CUTOFF_KG = {"male": 28.0, "female": 18.0}  # AWGS 2019 low handgrip strength

# (title, Visit field, unit, the decline metrics whose alerts belong on this panel)
PANELS = (
    ("Gait speed", "gait_speed_mps", "m/s", ("gait_speed_mps",)),
    ("SPPB", "sppb_total", "points (0-12)", ("sppb_total", "frailty_category", "awgs_status")),
    ("Grip strength", "grip_max_kg", "kg", ("grip_max_kg",)),
)


def _cutoffs(field: str, sex: str | None) -> list[tuple[float, str]]:
    if field == "gait_speed_mps":
        return [(GAIT_SPEED_CUTOFF_MPS, "AWGS 2019 < 1.0 m/s")]
    if field == "sppb_total":
        return [(SPPB_CUTOFF + 0.5, "AWGS 2019 SPPB ≤ 9")]
    if sex in GRIP_CUTOFF_KG:
        return [(GRIP_CUTOFF_KG[sex], f"AWGS 2019 < {GRIP_CUTOFF_KG[sex]:.0f} kg ({sex})")]
    return [(kg, f"AWGS 2019 < {kg:.0f} kg ({s})") for s, kg in GRIP_CUTOFF_KG.items()]


def _alert_label(alert: Alert, unit: str) -> str:
    if alert.change is None:
        return f"{alert.metric}: {alert.rule}"
    return f"{alert.change:+.2f} {unit.split()[0]} ({alert.rule})"


def plot_trend(trend: ParticipantTrend, path: Path) -> Path:
    """Write one participant's trend chart as PNG; returns the path."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server or in CI
    import matplotlib.pyplot as plt

    visits = sorted(trend.visits, key=lambda v: v.at)
    fig, axes = plt.subplots(len(PANELS), 1, figsize=(8, 8.5), sharex=True, constrained_layout=True)
    for ax, (title, field, unit, metrics) in zip(axes, PANELS, strict=True):
        points = [(v.at, getattr(v, field)) for v in visits if getattr(v, field) is not None]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", color="#1f77b4", linewidth=1.5, label=title)
        for value, label in _cutoffs(field, trend.sex):
            ax.axhline(value, color="#d62728", linestyle="--", linewidth=1, label=label)
        for alert in trend.alerts:
            if alert.metric not in metrics:
                continue
            ax.axvline(alert.at, color="#ff7f0e", linewidth=1, alpha=0.7)
            y = alert.current if alert.current is not None and alert.metric == field else None
            if y is None and points:
                y = min(points, key=lambda p: abs((p[0] - alert.at).total_seconds()))[1]
            if y is not None:
                late = bool(visits) and alert.at >= visits[len(visits) // 2].at
                ax.scatter(
                    [alert.at],
                    [y],
                    s=140,
                    facecolors="none",
                    edgecolors="#ff7f0e",
                    linewidths=2,
                    zorder=5,
                    label="decline alert",
                )
                ax.annotate(
                    _alert_label(alert, unit),
                    (alert.at, y),
                    textcoords="offset points",
                    xytext=(-10, 10) if late else (10, 10),
                    ha="right" if late else "left",
                    color="#ff7f0e",
                    fontsize=9,
                )
        ax.set_title(title, loc="left", fontsize=11)
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))  # one legend entry per alert kind
        ax.legend(unique.values(), unique.keys(), loc="lower left", fontsize=8, framealpha=0.8)
    stations = sorted({v.station_id for v in visits})
    fig.suptitle(f"Participant {trend.participant[:12]}…  (stations: {', '.join(stations)})", fontsize=12)
    axes[-1].set_xlabel("visit date")
    fig.autofmt_xdate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
