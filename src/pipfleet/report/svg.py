"""The dashboard's inline SVG trend chart, and its bars' lengths: no library, no script.

Colours come from CSS classes (the dashboard's stylesheet), never ``style``
attributes: the page's Content-Security-Policy allows only its own hashed stylesheet.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipfleet.report.model import TrendPoint

TREND_WIDTH = 480
TREND_HEIGHT = 180
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 24, 12, 30


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def trend_chart(points: Sequence[TrendPoint]) -> str:
    """Compliant share per run (0 to 100 %), oldest run on the left; a dot per run."""
    width, height = TREND_WIDTH, TREND_HEIGHT
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    step = plot_w / max(len(points) - 1, 1)

    def x(i: int) -> float:
        return _LEFT + (i * step if len(points) > 1 else plot_w / 2)

    def y(share: float) -> float:
        return _TOP + plot_h * (1 - share)

    parts = [
        f'<svg class="trend" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="trend-title"><title id="trend-title">Compliant share over the last '
        f"{len(points)} runs</title>"
    ]
    for share in (0.0, 0.5, 1.0):
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{width - _RIGHT}" y1="{y(share):.1f}" '
            f'y2="{y(share):.1f}"/><text class="axis" x="{_LEFT - 6}" y="{y(share) + 4:.1f}" '
            f'text-anchor="end">{share:.0%}</text>'
        )
    known = [(i, p.compliant_share) for i, p in enumerate(points) if p.compliant_share is not None]
    if len(known) > 1:
        line = " ".join(f"{x(i):.1f},{y(s):.1f}" for i, s in known)
        area = f"{x(known[0][0]):.1f},{y(0):.1f} {line} {x(known[-1][0]):.1f},{y(0):.1f}"
        parts.append(f'<polygon class="area" points="{area}"/>')
        parts.append(f'<polyline class="line" points="{line}"/>')
    for i, point in enumerate(points):
        if point.compliant_share is not None:
            parts.append(
                f'<circle class="dot" cx="{x(i):.1f}" cy="{y(point.compliant_share):.1f}" r="4" '
                f'data-figure="trend-run-{point.run_id}" data-value="{point.compliant_share!r}">'
                f"<title>run {point.run_id}, {point.started_at:%Y-%m-%d %H:%M} UTC: "
                f"{_share(point.compliant_share)} compliant, {point.findings:,} findings"
                "</title></circle>"
            )
    # Dates, not run numbers: a person reads "Nov 28", and a run's number is on hover.
    # Several runs on one day show that day once.
    labelled = {0, len(points) - 1} | set(range(0, len(points), max(len(points) // 4, 1)))
    shown: set[str] = set()
    for i in sorted(labelled):
        if 0 <= i < len(points):
            day = f"{points[i].started_at:%b %d}"
            if day in shown:
                continue
            shown.add(day)
            parts.append(
                f'<text class="axis" x="{x(i):.1f}" y="{height - 8}" text-anchor="middle">'
                f"{day}<title>run {points[i].run_id}</title></text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def bar_length(value: int, largest: int) -> float:
    """A bar's length in its 100-unit viewBox: a value above 0 always shows a sliver."""
    return 0.0 if largest <= 0 else max(100 * value / largest, 0.5 if value else 0.0)
