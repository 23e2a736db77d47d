"""HTML page assembly for the KPI report: one file, inline CSS and SVG, nothing fetched.

Why: a marketer opens it from a shared drive or an email attachment, offline, and it must look
the same everywhere; so there is no script, font or image loaded from anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

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


def page(title: str, subtitle: str, tiles: str, panels: list[Panel], footer: str) -> str:
    body = "".join(p.html() for p in panels)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header>"
        f'<main>{tiles}<div class="grid">{body}</div><footer>{escape(footer)}</footer></main>'
        "</body></html>"
    )
