"""Server-rendered SVG charts for the ledger dashboard: no script, no build step, nothing fetched. Pure.

Each chart is an `<svg role="img">` with a title and a description; the page also gives the figures as a
table. Colours: the received bar is outlined in the link blue (non-text contrast above 3:1 on white),
the resolved bar filled with it; text is the page's ink colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count

from markupsafe import Markup, escape

INK = "#1a1a1a"
MUTED = "#4a4a4a"
BLUE = "#0b57d0"
LIGHT = "#dbe6f8"
GRID = "#8c8c8c"
_ids = count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    total: int  # received
    part: int  # resolved
    note: str = ""  # extra text after the numbers (e.g. the on-time rate)


def _frame(width: int, height: int, title: str, description: str, body: list[str]) -> Markup:
    n = next(_ids)
    head = (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="chart-{n}-t chart-{n}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="chart-{n}-t">{escape(title)}</title><desc id="chart-{n}-d">{escape(description)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _empty(width: int, title: str, text: str) -> Markup:
    return _frame(width, 40, title, text, [f'<text x="0" y="24" font-size="14" fill="{MUTED}">{escape(text)}</text>'])


def _legend(y: int, received: str, resolved: str) -> list[str]:
    return [
        f'<rect x="0" y="{y}" width="14" height="14" fill="{LIGHT}" stroke="{BLUE}" stroke-width="2"/>',
        f'<text x="20" y="{y + 12}" font-size="14" fill="{INK}">{escape(received)}</text>',
        f'<rect x="150" y="{y}" width="14" height="14" fill="{BLUE}"/>',
        f'<text x="170" y="{y + 12}" font-size="14" fill="{INK}">{escape(resolved)}</text>',
    ]


def bars(rows: list[Bar], *, title: str, received: str, resolved: str, empty: str) -> Markup:
    """Horizontal bars, one row per group: the label and the figures above, received (outlined) and resolved
    (filled) below, on one scale."""
    width, row_h = 420, 50
    if not rows:
        return _empty(width, title, empty)
    top = 26
    height = top + row_h * len(rows) + 4
    scale = (width - 4) / max(max(r.total for r in rows), 1)
    body = _legend(0, received, resolved)
    for i, r in enumerate(rows):
        y = top + i * row_h
        total_w = max(r.total * scale, 1.5 if r.total else 0)
        part_w = r.part * scale
        figures = f"{r.total} / {r.part}" + (f" · {r.note}" if r.note else "")
        body.append(f'<text x="0" y="{y + 16}" font-size="16" fill="{INK}">{escape(r.label)}</text>')
        body.append(
            f'<text x="{width}" y="{y + 16}" font-size="15" text-anchor="end" fill="{INK}">{escape(figures)}</text>'
        )
        body.append(
            f'<rect x="1" y="{y + 23}" width="{total_w:.1f}" height="16" fill="{LIGHT}" stroke="{BLUE}" '
            f'stroke-width="2"/>'
        )
        if part_w:
            body.append(f'<rect x="1" y="{y + 23}" width="{part_w:.1f}" height="16" fill="{BLUE}"/>')
    description = "; ".join(f"{r.label}: {r.total} / {r.part}" + (f" ({r.note})" if r.note else "") for r in rows)
    return _frame(width, height, title, description, body)


def columns(rows: list[Bar], *, title: str, received: str, resolved: str, empty: str) -> Markup:
    """Vertical column pairs over time (weeks): received (outlined) and resolved (filled) side by side."""
    width, plot_h, top, bottom, left = 420, 150, 30, 34, 30
    if not rows:
        return _empty(width, title, empty)
    peak = max(max(r.total for r in rows), 1)
    slot = (width - left) / len(rows)
    bar_w = max(min(slot * 0.38, 22), 2)
    base = top + plot_h
    body = _legend(0, received, resolved)
    body.append(f'<line x1="{left}" y1="{base}" x2="{width}" y2="{base}" stroke="{GRID}" stroke-width="1"/>')
    body.append(f'<text x="{left - 4}" y="{top + 10}" font-size="12" text-anchor="end" fill="{MUTED}">{peak}</text>')
    body.append(f'<text x="{left - 4}" y="{base}" font-size="12" text-anchor="end" fill="{MUTED}">0</text>')
    every = max(1, round(len(rows) / 8))  # at most ~8 labels under the axis
    for i, r in enumerate(rows):
        x = left + i * slot + (slot - 2 * bar_w) / 2
        h_total = r.total / peak * plot_h
        h_part = r.part / peak * plot_h
        body.append(
            f'<rect x="{x:.1f}" y="{base - h_total:.1f}" width="{bar_w:.1f}" height="{h_total:.1f}" fill="{LIGHT}" '
            f'stroke="{BLUE}" stroke-width="1.5"/>'
        )
        body.append(
            f'<rect x="{x + bar_w:.1f}" y="{base - h_part:.1f}" width="{bar_w:.1f}" height="{h_part:.1f}" '
            f'fill="{BLUE}"/>'
        )
        if i % every == 0:
            body.append(
                f'<text x="{x + bar_w:.1f}" y="{base + 18}" font-size="13" text-anchor="middle" fill="{INK}">'
                f"{escape(r.label)}</text>"
            )
    description = "; ".join(f"{r.label}: {r.total} / {r.part}" for r in rows)
    return _frame(width, top + plot_h + bottom, title, description, body)
