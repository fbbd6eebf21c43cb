"""A small inline SVG sparkline of the customer's anger (0-3), one point per customer turn."""

from __future__ import annotations

from html import escape

MAX_ANGER = 3
COLOURS = ("#16a34a", "#ca8a04", "#ea580c", "#dc2626")  # calm .. furious


def sparkline(values: list[int], labels: list[str] | None = None, *, width: int = 240, height: int = 48,
              pad: int = 6) -> str:
    """An SVG string: a `<polyline>` through the points and one `<circle>` per value (with a `<title>`).

    `values` are anger levels 0-3 (clamped); `labels` (one per value) become the circles' tooltips.
    No values gives an empty frame (no polyline, no circle)."""
    labels = labels or [str(v) for v in values]
    inner_w, inner_h = width - 2 * pad, height - 2 * pad
    step = inner_w / (len(values) - 1) if len(values) > 1 else 0
    points = []
    for i, value in enumerate(values):
        level = min(max(int(value), 0), MAX_ANGER)
        x = pad + (i * step if len(values) > 1 else inner_w / 2)
        y = pad + inner_h * (1 - level / MAX_ANGER)
        points.append((round(x, 1), round(y, 1), level))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="anger per customer turn">',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#d4d4d8" stroke-width="1"/>']
    if points:
        coords = " ".join(f"{x},{y}" for x, y, _ in points)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="#71717a" stroke-width="2"/>')
    for (x, y, level), label in zip(points, labels, strict=False):
        parts.append(f'<circle cx="{x}" cy="{y}" r="4" fill="{COLOURS[level]}"><title>{escape(label)}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)
