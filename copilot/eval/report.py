"""A self-contained HTML report: totals, charts (inline SVG) and the worst ten cases."""

from __future__ import annotations

import html
from pathlib import Path


def _bars(title: str, items: list[tuple[str, float]], unit: str = "") -> str:
    if not items:
        return f"<h3>{html.escape(title)}</h3><p class='muted'>nothing to show</p>"
    top = max(v for _, v in items) or 1
    row_h, width = 22, 360
    rows = []
    for i, (label, value) in enumerate(items):
        w = int(width * value / top)
        y = i * row_h
        rows.append(
            f"<text x='0' y='{y + 15}' font-size='12'>{html.escape(label)}</text>"
            f"<rect x='220' y='{y + 4}' width='{w}' height='14' fill='#d9480f'/>"
            f"<text x='{225 + w}' y='{y + 15}' font-size='12'>{value:g}{unit}</text>"
        )
    return (f"<h3>{html.escape(title)}</h3><svg width='680' height='{len(items) * row_h + 6}' role='img' "
            f"aria-label='{html.escape(title)}'>{''.join(rows)}</svg>")


def _histogram(title: str, values: list[float], bins: list[float]) -> str:
    counts = [0] * (len(bins) - 1)
    for v in values:
        for i in range(len(bins) - 1):
            if bins[i] <= v <= bins[i + 1] if i == len(bins) - 2 else bins[i] <= v < bins[i + 1]:
                counts[i] += 1
                break
    return _bars(title, [(f"{bins[i]:g}–{bins[i + 1]:g}", counts[i]) for i in range(len(counts))])


def _marked(text: str, spans: list) -> str:
    out, cursor = [], 0
    for start, end, rule in sorted(spans):
        if start < cursor:
            continue
        out.append(html.escape(text[cursor:start]))
        out.append(f"<mark title='{html.escape(rule)}'>{html.escape(text[start:end])}</mark>")
        cursor = end
    out.append(html.escape(text[cursor:]))
    return "".join(out)


def write_report(path: Path, summary: dict, results: list) -> None:
    totals = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in summary.items() if not isinstance(v, dict)
    )
    charts = _bars("Violations by rule (final drafts)", sorted(summary["violations_by_rule"].items(), key=lambda kv: -kv[1]))
    charts += _histogram("Required moves present (share per draft)", [d.moves_present for r in results for d in r.drafts], [0, 0.25, 0.5, 0.75, 1.0])
    charts += _bars("Latency p95 by stage (ms)", [(k, v["p95"]) for k, v in summary["latency_ms"].items()], " ms")
    if summary.get("judge"):
        charts += _bars("LLM judge, mean scores", [(k, v or 0) for k, v in summary["judge"].items()])
    worst = sorted(results, key=lambda r: -r.badness)[:10]
    cases = []
    for r in worst:
        drafts = "".join(
            f"<h4>{html.escape(d.kind)} <small>({html.escape(d.engine)}; moves {d.moves_present:.0%}; "
            f"{'violations: ' + html.escape(', '.join(d.violations)) if d.violations else 'clean'})</small></h4>"
            f"<p class='draft'>{_marked(r.texts.get(d.kind, ''), r.spans.get(d.kind, []))}</p>"
            for d in r.drafts
        )
        cases.append(f"<section><h3>{html.escape(r.id)} <small>badness {r.badness:.1f}; policy {html.escape(str(r.policy))}</small></h3>"
                     f"<blockquote>{html.escape(r.complaint[:600])}</blockquote>{drafts}"
                     + (f"<p class='err'>{html.escape(r.error)}</p>" if r.error else "") + "</section>")
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>complaint-copilot eval</title>
<style>body{{font-family:system-ui,"Noto Sans CJK TC",sans-serif;max-width:960px;margin:2em auto;color:#222}}
th{{text-align:left;padding-right:2em}} mark{{background:#ffd8a8}} .draft{{background:#f8f9fa;padding:.6em}}
blockquote{{color:#555;border-left:3px solid #ccc;margin:0;padding-left:1em}} .muted{{color:#888}} .err{{color:#c92a2a}}</style>
</head><body><h1>complaint-copilot: evaluation run</h1><h2>Totals</h2><table>{totals}</table>
<h2>Charts</h2>{charts}<h2>The ten worst cases</h2>{''.join(cases)}</body></html>"""
    path.write_text(page, encoding="utf-8")
