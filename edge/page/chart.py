"""The trend chart of a participant's key measures across visits, as inline SVG (server-rendered:
no script, prints as it shows, and its values are also in the table beside it).

One small panel per key measure that has a value: the visits in time order, a line through them,
each point labelled with its value, and — where the result carries one — the reference cut-off
as a dashed line (AWGS 2019 gait speed, grip and chair stand, the TUG fall-risk cut-off, SPPB's
low-performance score). SVG presentation attributes only, so the page's CSP needs no inline style.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape

from edge.page.texts import number, word

PANEL_W, PANEL_H = 300, 150
PAD_L, PAD_R, PAD_T, PAD_B = 40, 14, 26, 28


@dataclass(frozen=True, slots=True)
class Series:
    metric: str
    points: list[tuple[dt.datetime, float]]  # oldest first
    cutoff: float | None = None
    provisional_last: bool = False  # the last point is a station-local value, not yet scored


def _panel(series: Series, lang: str, x0: int, y0: int, tz: dt.tzinfo) -> str:
    values = [v for _, v in series.points]
    low, high = min(values), max(values)
    if series.cutoff is not None:
        low, high = min(low, series.cutoff), max(high, series.cutoff)
    span = high - low or max(abs(high), 1.0) * 0.2
    low, high = low - span * 0.15, high + span * 0.15
    times = [t.timestamp() for t, _ in series.points]
    t0, t1 = min(times), max(times)
    inner_w, inner_h = PANEL_W - PAD_L - PAD_R, PANEL_H - PAD_T - PAD_B

    def x(ts: float) -> float:
        return x0 + PAD_L + (inner_w / 2 if t1 == t0 else (ts - t0) / (t1 - t0) * inner_w)

    def y(v: float) -> float:
        return y0 + PAD_T + (high - v) / (high - low) * inner_h

    title = escape(word("METRICS", series.metric, lang))
    out = [
        f'<g class="panel"><text x="{x0 + 4}" y="{y0 + 16}" font-size="14" font-weight="bold" '
        f'fill="#1a1a1a">{title}</text>',
        f'<rect x="{x0 + PAD_L}" y="{y0 + PAD_T}" width="{inner_w}" height="{inner_h}" fill="none" '
        'stroke="#767676" stroke-width="1"/>',
    ]
    if series.cutoff is not None:
        cy = y(series.cutoff)
        out.append(
            f'<line x1="{x0 + PAD_L}" x2="{x0 + PAD_L + inner_w}" y1="{cy:.1f}" y2="{cy:.1f}" '
            'stroke="#b3261e" '
            'stroke-width="1.5" stroke-dasharray="5 4"/>'
            f'<text x="{x0 + PAD_L - 4}" y="{cy + 4:.1f}" font-size="11" text-anchor="end" fill="#b3261e">'
            f"{escape(number(series.cutoff, series.metric))}</text>"
        )
    coords = [(x(t.timestamp()), y(v)) for t, v in series.points]
    if len(coords) > 1:
        path = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
        out.append(f'<polyline points="{path}" fill="none" stroke="#0b57d0" stroke-width="2.5"/>')
    for i, ((cx, cy), (_, v)) in enumerate(zip(coords, series.points, strict=True)):
        last = i == len(coords) - 1
        hollow = last and series.provisional_last
        fill = "#ffffff" if hollow else "#0b57d0"
        out.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4.5" fill="{fill}" stroke="#0b57d0" stroke-width="2"/>'
        )
        if last or len(coords) <= 4:
            out.append(
                f'<text x="{cx:.1f}" y="{cy - 8:.1f}" font-size="12" text-anchor="middle" fill="#1a1a1a">'
                f"{escape(number(v, series.metric))}</text>"
            )
    first, last_t = series.points[0][0].astimezone(tz), series.points[-1][0].astimezone(tz)
    out.append(
        f'<text x="{x0 + PAD_L}" y="{y0 + PANEL_H - 8}" font-size="11" fill="#444444">{first:%Y-%m-%d}</text>'
        f'<text x="{x0 + PAD_L + inner_w}" y="{y0 + PANEL_H - 8}" font-size="11" text-anchor="end" '
        f'fill="#444444">{last_t:%Y-%m-%d}</text></g>'
    )
    return "".join(out)


def trend_svg(series: list[Series], lang: str, tz: dt.tzinfo, columns: int = 3) -> str:
    """Panels for the series that have points; an empty string when none has."""
    drawn = [s for s in series if s.points]
    if not drawn:
        return ""
    rows = (len(drawn) + columns - 1) // columns
    width, height = PANEL_W * min(columns, len(drawn)), PANEL_H * rows
    label = "주요 측정값의 방문별 변화" if lang == "ko" else "Key measures across visits"
    desc = "; ".join(
        f"{word('METRICS', s.metric, lang)}: " + ", ".join(number(v, s.metric) for _, v in s.points)
        for s in drawn
    )
    panels = "".join(
        _panel(s, lang, PANEL_W * (i % columns), PANEL_H * (i // columns), tz) for i, s in enumerate(drawn)
    )
    return (
        '<svg class="trend" role="img" aria-labelledby="trend-title trend-desc" '
        f'viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="trend-title">{escape(label)}</title><desc id="trend-desc">{escape(desc)}</desc>'
        f"{panels}</svg>"
    )
