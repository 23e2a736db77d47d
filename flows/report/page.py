"""HTML page assembly for the KPI report: one file, inline CSS, plotly.js inlined once, nothing fetched.

Why: a marketer opens it from a shared drive or an email attachment, offline, and it must look
the same everywhere; so no script, font or image is loaded from anywhere. plotly.js comes from the
pinned Python package (`plotly.offline.get_plotlyjs()`), the same version that built the figures.
The date-range control is a few lines of inline JS: it applies one x-range to every chart marked
`data-timeseries` (Plotly.relayout), with presets (last 90 days, 6 months, all).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
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
.tiles-head{margin:0 0 8px;color:#475569;font-size:13px}
.tile .d{font-size:12px;color:#475569;margin-top:2px}
.tile .d2{font-size:11px;color:#94a3b8}
.chg.up{color:#047857}.chg.down{color:#b91c1c}
.controls{position:sticky;top:0;z-index:10;background:#fff;border-radius:12px;padding:10px 16px;
 margin-bottom:16px;box-shadow:0 1px 3px rgba(15,23,42,.12);display:flex;gap:10px;align-items:center;
 flex-wrap:wrap;font-size:13px}
.controls input{font:inherit;padding:3px 6px;border:1px solid #cbd5e1;border-radius:6px}
.controls button{font:inherit;padding:4px 10px;border:1px solid #c7d2fe;background:#eef2ff;color:#312e81;
 border-radius:6px;cursor:pointer}
.controls button.on{background:#4f46e5;color:#fff}
.controls .hint{color:#94a3b8}
p.note{font-size:12px;color:#475569;margin:4px 0 8px}
p.note.warn{color:#b45309}
.tablewrap{max-height:320px;overflow:auto;border:1px solid #e2e8f0;border-radius:8px}
table.data{border-collapse:collapse;width:100%;font-size:12px}
table.data th{position:sticky;top:0;background:#f8fafc;text-align:left;padding:5px 8px;color:#475569}
table.data td{padding:4px 8px;border-top:1px solid #f1f5f9;white-space:nowrap}
table.data td.n{text-align:right;font-variant-numeric:tabular-nums}
table.lift{border-collapse:collapse;width:100%;font-size:12px}
table.lift th,table.lift td{padding:4px 8px;border-top:1px solid #f1f5f9;text-align:left}
.chart{width:100%}
"""

# Applies the chosen range to every time-series chart; presets count back from the latest date.
CONTROL_JS = """
(function(){
  var charts=[].slice.call(document.querySelectorAll('.chart[data-timeseries]'));
  var from=document.getElementById('range-from'), to=document.getElementById('range-to');
  var maxDay=to.getAttribute('max'), minDay=from.getAttribute('min');
  function shift(day, days){var d=new Date(day+'T00:00:00Z');d.setUTCDate(d.getUTCDate()-days);
    return d.toISOString().slice(0,10);}
  // The end is padded by 6% of the span so the shaded partial period at the end stays readable.
  function padded(a, b){var ms=Date.parse(b+'T00:00:00Z'), span=ms-Date.parse(a+'T00:00:00Z');
    return new Date(ms+Math.max(2*864e5, 0.06*span)).toISOString().slice(0,10);}
  function apply(a, b){
    charts.forEach(function(c){
      if(!c.data) return;
      Plotly.relayout(c, a ? {'xaxis.range':[a, padded(a, b)], 'xaxis.autorange':false}
                           : {'xaxis.autorange':true});
    });
    from.value=a||minDay; to.value=b||maxDay;
    document.body.setAttribute('data-range', a ? a+'/'+b : 'all');
  }
  [].forEach.call(document.querySelectorAll('.controls button'), function(btn){
    btn.addEventListener('click', function(){
      [].forEach.call(document.querySelectorAll('.controls button'), function(o){o.classList.remove('on');});
      btn.classList.add('on');
      var days=btn.getAttribute('data-days');
      if(days==='all') apply(null, null); else apply(shift(maxDay, +days), maxDay);
    });
  });
  function typed(){ if(from.value && to.value && from.value<=to.value) apply(from.value, to.value); }
  from.addEventListener('change', typed); to.addEventListener('change', typed);
})();
"""

# Draws every chart from its JSON spec with the one inlined plotly.js.
LOADER_JS = """
[].forEach.call(document.querySelectorAll('script.chart-spec'), function(s){
  var spec=JSON.parse(s.textContent), div=document.getElementById(s.getAttribute('data-for'));
  Plotly.newPlot(div, spec.data, spec.layout, spec.config);
});
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


def glossary_html(entries: list[tuple[str, str]], lookalikes: list[tuple[str, str]] = ()) -> str:
    """Numbers that look alike but differ first (the questions a reader asks), then every metric."""
    pairs = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in lookalikes)
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in entries)
    alike = f'<h3>Numbers that look alike</h3><dl class="glossary lookalike">{pairs}</dl>' if pairs else ""
    return f'{alike}<h3>Metrics</h3><dl class="glossary">{items}</dl>'


# Reports live in DIR/reports/, `lifecycle docs` writes DIR/docs/index.html (flows/docs.py).
DOCS_LINK = '<a href="../docs/index.html">dbt docs: lineage and every column (`lifecycle docs`)</a>'


@cache
def plotly_js() -> str:
    """plotly.js from the pinned package, inlined once per page."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def controls_html(first_day: str | None, last_day: str | None) -> str:
    """The date-range control for every time-series chart (hidden when there is no date yet)."""
    if not first_day or not last_day:
        return ""
    presets = "".join(
        f'<button type="button" data-days="{d}"{" class=on" if d == "all" else ""}>{escape(label)}</button>'
        for d, label in (
            ("90", "last 90 days"),
            ("182", "last 6 months"),
            ("365", "last 12 months"),
            ("all", "all"),
        )
    )
    return (
        '<div class="controls" id="date-range"><b>Time series from</b>'
        f'<input type="date" id="range-from" min="{first_day}" max="{last_day}" value="{first_day}">'
        f'to <input type="date" id="range-to" min="{first_day}" max="{last_day}" value="{last_day}">'
        f'{presets}<span class="hint">applies to every chart over time; drag on a chart to zoom, '
        "double-click to reset, click a legend entry to hide it</span></div>"
    )  # fmt: skip


def page(
    title: str,
    subtitle: str,
    tiles: str,
    panels: list[Panel],
    footer: str,
    controls: str = "",
) -> str:
    body = "".join(p.html() for p in panels)
    scripts = LOADER_JS + (CONTROL_JS if controls else "")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style>"
        f'<script id="plotly-js">{plotly_js()}</script></head><body>'
        f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header>"
        f'<main>{tiles}{controls}<div class="grid">{body}</div>'
        f"<footer>{escape(footer)} · {DOCS_LINK}</footer></main>"
        f"<script>{scripts}</script></body></html>"
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
