"""Bar and column charts of counts, drawn on the server as inline SVG.

The same conventions as the house line chart (:mod:`gongshu.quality.chart`): no script, no
library, no CDN; the ``<svg>`` is ``role="img"`` labelled by its ``<title>`` and ``<desc>``,
every bar carries a ``<title>`` with its value and prints the value beside it, and the page
shows the same numbers in a table. Unlike the quality chart the scale is not 0–100: it runs
from zero to a round number at or above the largest value, in whole-count ticks.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 720
BAR_COLOUR = "#1d5fa8"
ACCENT = "#b8282e"
GRID = "#dee0e3"
MUTED = "#646a73"
INK = "#1f2329"


def axis(value: float) -> tuple[float, list[float]]:
    """A scale from zero to a round number at or above ``value``, and its ticks: about
    five steps of 1, 2 or 5 times a power of ten, so that every tick is a whole count."""
    if value <= 0:
        return 1.0, [0.0, 1.0]
    rough = value / 5
    power = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(float(m * power) for m in (1, 2, 5, 10) if m * power >= rough)
    steps = math.ceil(value / step)
    return step * steps, [step * i for i in range(steps + 1)]


def _fmt(value: float) -> str:
    return f"{value:,.0f}"


def _head(uid: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg class="q-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="ac-t-{uid} ac-d-{uid}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="ac-t-{uid}">{escape(title)}</title>',
        f'<desc id="ac-d-{uid}">{escape(desc)}</desc>',
    ]


def bar_chart(
    *,
    title: str,
    desc: str,
    labels: Sequence[str],
    values: Sequence[float],
    value_title: str,
    width: int = WIDTH,
) -> Markup:
    """Horizontal bars, one per label (longest first as given), values printed at the end."""
    uid = uuid.uuid4().hex[:8]
    left, right, top, row_h = 220, 80, 10, 26
    height = top + row_h * max(1, len(labels)) + 34
    plot_w = width - left - right
    scale, ticks = axis(max(values, default=0))
    parts = _head(uid, width, height, title, desc)
    for tick in ticks:
        x = left + plot_w * tick / scale
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height - 28}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{x:.1f}" y="{height - 14}" text-anchor="middle" font-size="11" '
            f'fill="{MUTED}">{_fmt(tick)}</text>'
        )
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + row_h * i
        w = plot_w * (value / scale) if scale else 0
        short = label if len(label) <= 16 else label[:15] + "…"
        parts.append(
            f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" font-size="12" '
            f'fill="{INK}">{escape(short)}</text>'
            f'<rect x="{left}" y="{y + 5}" width="{max(w, 0.0):.1f}" height="{row_h - 10}" '
            f'fill="{ACCENT if i == 0 else BAR_COLOUR}">'
            f"<title>{escape(label)} · {escape(value_title)}: {_fmt(value)}</title></rect>"
            f'<text x="{left + w + 6:.1f}" y="{y + 17}" font-size="12" fill="{INK}">'
            f"{_fmt(value)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 — every text above went through escape()


def column_chart(
    *,
    title: str,
    desc: str,
    labels: Sequence[str],
    values: Sequence[float],
    value_title: str,
    x_title: str,
    width: int = WIDTH,
    height: int = 260,
) -> Markup:
    """Vertical columns over time (one per label), labels thinned to about twelve."""
    uid = uuid.uuid4().hex[:8]
    left, right, top, bottom = 60, 16, 14, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(1, len(labels))
    slot = plot_w / n
    scale, ticks = axis(max(values, default=0))
    parts = _head(uid, width, height, title, desc)
    for tick in ticks:
        y = top + plot_h * (1 - tick / scale)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{MUTED}">{_fmt(tick)}</text>'
        )
    step = max(1, (n + 11) // 12)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * (value / scale) if scale else 0
        x = left + slot * i
        parts.append(
            f'<rect x="{x + slot * 0.15:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{max(h, 0.0):.1f}" fill="{BAR_COLOUR}">'
            f"<title>{escape(label)} · {escape(value_title)}: {_fmt(value)}</title></rect>"
        )
        if i % step == 0 or i == n - 1:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                f'font-size="11" fill="{MUTED}">{escape(label)}</text>'
            )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 12}" text-anchor="middle" '
        f'font-size="12" fill="{INK}">{escape(x_title)}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 — every text above went through escape()
