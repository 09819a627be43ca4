"""The pages' charts, drawn on the server as SVG (no script, no fonts
fetched): each a function of numbers to markup, every label escaped."""

from __future__ import annotations

from markupsafe import Markup, escape

#: The palette (docs/reports.md): each against white at least 4.5:1.
INK, BAR, WARN = "#1f2933", "#1d4ed8", "#b42318"


def funnel(steps: list[dict], title: str) -> Markup:
    """Horizontal bars, one per stage (label, n), scaled to the first."""
    top = max([s["n"] for s in steps] + [1])
    row, width = 26, 420
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {row * len(steps) + 4}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for i, s in enumerate(steps):
        y = i * row + 2
        w = round(220 * s["n"] / top)
        parts.append(
            f'<text x="0" y="{y + 16}" fill="{INK}" font-size="13">{escape(s["label"])}</text>'
            f'<rect x="150" y="{y + 3}" width="{w}" height="18" fill="{BAR}"/>'
            f'<text x="{156 + w}" y="{y + 16}" fill="{INK}" font-size="13">{int(s["n"])}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(per_day: dict, title: str) -> Markup:
    """A line of counts per day, in day order."""
    values = [int(n) for _, n in sorted(per_day.items())] or [0]
    top, w, h = max([*values, 1]), 120, 24
    step = w / max(len(values) - 1, 1)
    # One decimal, formatted directly: the text round(x, 1) gives for these
    # values (0 to w, 2 to h), at half the cost; a year of days is 365 points.
    points = " ".join(f"{i * step:.1f},{h - 2 - (h - 4) * v / top:.1f}" for i, v in enumerate(values))
    return Markup(
        f'<svg class="spark" role="img" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
        f'<polyline points="{points}" fill="none" stroke="{BAR}" stroke-width="2"/></svg>'
    )


def gauge(used: int, limit: int, title: str) -> Markup:
    """Used against a limit, as a filled bar; red from 90%."""
    share = min(used / limit, 1.0) if limit > 0 else 1.0
    colour = WARN if share >= 0.9 else BAR
    return Markup(
        f'<svg class="gauge" role="img" viewBox="0 0 200 20" xmlns="http://www.w3.org/2000/svg">'
        f'<title>{escape(title)}</title><rect x="0" y="2" width="200" height="16" fill="#e4e7eb"/>'
        f'<rect x="0" y="2" width="{round(200 * share)}" height="16" fill="{colour}"/></svg>'
    )


def bars(per_day: dict, limit: int, title: str) -> Markup:
    """Counts per day as columns, with the limit as a line."""
    days = sorted(per_day.items())
    top = max([int(n) for _, n in days] + [limit, 1])
    w, h = max(len(days) * 14, 140), 80
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
    ]
    for i, (_, n) in enumerate(days):
        bh = round((h - 4) * int(n) / top)
        parts.append(f'<rect x="{i * 14}" y="{h - bh}" width="10" height="{bh}" fill="{BAR}"/>')
    y = round(h - (h - 4) * limit / top)
    parts.append(f'<line x1="0" x2="{w}" y1="{y}" y2="{y}" stroke="{WARN}" stroke-dasharray="4 2"/></svg>')
    return Markup("".join(parts))
