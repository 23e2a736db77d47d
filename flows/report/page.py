"""HTML page assembly for the KPI report: one file, inline CSS and SVG, nothing fetched.

Why: a marketer opens it from a shared drive or an email attachment, offline, and it must look
the same everywhere; so there is no script, font or image loaded from anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

CSS = """
*{box-sizing:border-box}
body{margin:0;font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 background:#f1f5f9;color:#0f172a}
header{background:linear-gradient(120deg,#312e81,#4f46e5 60%,#0ea5e9);color:#fff;padding:28px 40px}
header h1{margin:0 0 4px;font-size:26px}
header p{margin:0;opacity:.85}
main{max-width:1240px;margin:0 auto;padding:24px 28px 48px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:14px;margin-bottom:20px}
.tile{background:#fff;border-radius:12px;padding:14px 18px;box-shadow:0 1px 3px rgba(15,23,42,.08)}
.tile .v{font-size:26px;font-weight:700;color:#312e81}
.tile .k{font-size:12px;color:#64748b;text-transform:uppercase;letter-spacing:.04em}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:18px}
section.panel{background:#fff;border-radius:12px;padding:16px 20px;box-shadow:0 1px 3px rgba(15,23,42,.08)}
section.panel h2{font-size:17px;margin:0 0 2px}
section.panel p.sub{margin:0 0 10px;color:#64748b;font-size:13px}
section.wide{grid-column:1/-1}
.na{padding:28px;text-align:center;color:#94a3b8;border:2px dashed #e2e8f0;border-radius:10px}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:10px}
section.panel h3{font-size:13px;margin:8px 0 4px;color:#475569}
dl.glossary{display:grid;grid-template-columns:220px 1fr;gap:6px 16px;margin:0;font-size:14px}
dl.glossary dt{font-weight:600;color:#312e81}
dl.glossary dd{margin:0;color:#334155}
footer{color:#94a3b8;font-size:12px;text-align:center;margin-top:24px}
"""


@dataclass
class Panel:
    title: str
    subtitle: str
    body: str | None  # rendered HTML (charts), or None when not available
    reason: str = ""
    wide: bool = False

    def html(self) -> str:
        inner = (
            self.body
            if self.body is not None
            else f'<div class="na">Not available: {escape(self.reason)}</div>'
        )
        cls = "panel wide" if self.wide else "panel"
        state = "ok" if self.body is not None else "not-available"
        return (
            f'<section class="{cls}" data-panel="{escape(self.title)}" data-state="{state}">'
            f'<h2>{escape(self.title)}</h2><p class="sub">{escape(self.subtitle)}</p>{inner}</section>'
        )


def tiles_html(tiles: list[tuple[str, str]]) -> str:
    cells = "".join(
        f'<div class="tile"><div class="v">{escape(v)}</div><div class="k">{escape(k)}</div></div>'
        for k, v in tiles
    )
    return f'<div class="tiles">{cells}</div>'


def glossary_html(entries: list[tuple[str, str]]) -> str:
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in entries)
    return f'<dl class="glossary">{items}</dl>'


# Reports live in DIR/reports/, `lifecycle docs` writes DIR/docs/index.html (flows/docs.py).
DOCS_LINK = '<a href="../docs/index.html">dbt docs: lineage and every column (`lifecycle docs`)</a>'


def page(title: str, subtitle: str, tiles: str, panels: list[Panel], footer: str) -> str:
    body = "".join(p.html() for p in panels)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header>"
        f'<main>{tiles}<div class="grid">{body}</div><footer>{escape(footer)} · {DOCS_LINK}</footer></main>'
        "</body></html>"
    )


def _pct(v: Any) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def _points(lift: Any, low: Any, high: Any) -> str:
    if lift is None:
        return "–"
    ci = "" if low is None or high is None else f" [{100 * low:+.1f}, {100 * high:+.1f}]"
    return f"{100 * lift:+.1f} pts{ci}"


def _money(lift: Any, low: Any, high: Any) -> str:
    if lift is None:
        return "–"
    ci = "" if low is None or high is None else f" [{low:+,.1f}, {high:+,.1f}]"
    return f"{lift:+,.1f}{ci}"


def lift_table_html(lift: dict[str, list[dict[str, Any]]], verdict: Any, min_group: int) -> str:
    """One table per holdout segment: overall row, then recent entry cohorts, with 95% intervals."""
    head = (
        "<tr><th>cohort</th><th>treated</th><th>holdout</th><th>converted (treated / holdout)</th>"
        "<th>conversion lift [95% CI]</th><th>revenue / person lift [95% CI]</th><th>reading</th></tr>"
    )
    parts = []
    for segment, rows in lift.items():
        body = []
        for r in rows:
            cohort = "all cohorts" if r["cohort_grain"] == "all" else str(r["cohort_start"])[:10]
            pending = (r["treated_pending"] or 0) + (r["holdout_pending"] or 0)
            pending_note = f" (+{pending} pending)" if pending else ""
            cls = ' class="total"' if r["cohort_grain"] == "all" else ""
            conv = _points(r["conversion_lift"], r["conversion_lift_ci_low"], r["conversion_lift_ci_high"])
            money = _money(r["revenue_lift"], r["revenue_lift_ci_low"], r["revenue_lift_ci_high"])
            body.append(
                f"<tr{cls}><td>{escape(cohort)}{escape(pending_note)}</td>"
                f"<td>{r['treated_persons']}</td><td>{r['holdout_persons']}</td>"
                f"<td>{_pct(r['treated_conversion_rate'])} / {_pct(r['holdout_conversion_rate'])}</td>"
                f"<td>{conv}</td><td>{money}</td>"
                f"<td>{escape(verdict(r, min_group))}</td></tr>"
            )
        window = rows[0]["lift_window_days"] if rows else ""
        parts.append(
            f'<h3>{escape(segment)}</h3><table class="lift" data-segment="{escape(segment)}">'
            f"{head}{''.join(body)}</table>"
            f'<p class="note">Conversion: an order within {window} days of entering the segment. '
            f"Treated minus holdout; intervals are 95% (two-proportion, Welch for revenue). "
            f"Persons still inside their window are pending and not counted.</p>"
        )
    return "".join(parts)
