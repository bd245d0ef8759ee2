"""A line chart drawn on the server as inline SVG (no script, no library, no CDN).

Accessible by construction: the ``<svg>`` is ``role="img"`` labelled by its ``<title>`` and
``<desc>``, both axes are labelled, every point carries a ``<title>`` with its value, lines
differ by dash pattern as well as colour, and the page shows the same numbers in a table.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 720
HEIGHT = 300
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 16, 78
TICKS = (0, 25, 50, 75, 100)

# Colour and dash per line, in the order of the series given; the first one is drawn bold.
STYLES = (
    ("#b8282e", ""),
    ("#1d5fa8", "6 3"),
    ("#1f7a3a", "2 3"),
    ("#a05a00", "8 3 2 3"),
    ("#6b4fa8", "4 4"),
    ("#0f7b8a", "1 3"),
)


@dataclass(frozen=True)
class Series:
    """One line: its name (already in the reader's language) and a value per x label."""

    name: str
    values: Sequence[float | None]


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def line_chart(
    *,
    title: str,
    desc: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    x_title: str,
    y_title: str,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Markup:
    """The SVG markup of a 0–100 line chart with one x position per label."""
    uid = uuid.uuid4().hex[:8]
    plot_w = width - LEFT - RIGHT
    plot_h = height - TOP - BOTTOM
    n = len(x_labels)

    def x_at(i: int) -> float:
        return LEFT + (plot_w / 2 if n <= 1 else plot_w * i / (n - 1))

    def y_at(v: float) -> float:
        return TOP + plot_h * (1 - max(0.0, min(100.0, v)) / 100)

    parts = [
        f'<svg class="q-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="qc-t-{uid} qc-d-{uid}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="qc-t-{uid}">{escape(title)}</title>',
        f'<desc id="qc-d-{uid}">{escape(desc)}</desc>',
    ]
    for tick in TICKS:
        y = y_at(tick)
        parts.append(
            f'<line class="q-grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#dee0e3" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#646a73">{tick}</text>'
        )
    step = max(1, (n + 11) // 12)  # at most about 12 labels under the axis
    for i, label in enumerate(x_labels):
        if i % step and i != n - 1:
            continue
        parts.append(
            f'<text x="{x_at(i):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" '
            f'font-size="11" fill="#646a73">{escape(label)}</text>'
        )
    parts.append(
        f'<text class="q-axis" x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h + 34}" '
        f'text-anchor="middle" font-size="12" fill="#1f2329">{escape(x_title)}</text>'
        f'<text class="q-axis" x="14" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
        f'font-size="12" fill="#1f2329" transform="rotate(-90 14 {TOP + plot_h / 2:.1f})">'
        f"{escape(y_title)}</text>"
    )
    for k, line in enumerate(series):
        colour, dash = STYLES[k % len(STYLES)]
        width_px = 3 if k == 0 else 1.5
        points = [(i, x_at(i), y_at(v), v) for i, v in enumerate(line.values) if v is not None]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<g class="q-series" data-series="{k}">')
        if len(points) > 1:
            coords = " ".join(f"{x:.1f},{y:.1f}" for _i, x, y, _v in points)
            parts.append(
                f'<polyline points="{coords}" fill="none" stroke="{colour}" '
                f'stroke-width="{width_px}"{dash_attr}/>'
            )
        for i, x, y, v in points:
            label = x_labels[i]
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{3.5 if k == 0 else 2.5}" fill="{colour}">'
                f"<title>{escape(line.name)} · {escape(label)}: {_fmt(v)}</title></circle>"
            )
        parts.append("</g>")
    legend_y = height - 14
    slot = plot_w / max(1, len(series))
    for k, line in enumerate(series):
        colour, dash = STYLES[k % len(STYLES)]
        x = LEFT + slot * k
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{x:.1f}" x2="{x + 22:.1f}" y1="{legend_y - 4}" y2="{legend_y - 4}" '
            f'stroke="{colour}" stroke-width="{3 if k == 0 else 2}"{dash_attr}/>'
            f'<text x="{x + 27:.1f}" y="{legend_y}" font-size="12" fill="#1f2329">'
            f"{escape(line.name)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 — every text above went through escape()
