"""The report's panels: each turns one query of data.py into Plotly charts and small tables.

Why one function per panel: each may fail on its own (a missing mart raises data.NotAvailable and
the panel says so) and each applies the report's honesty rules where its numbers come from:
partial periods shaded, rates on few observations greyed, amounts in the orders' currency.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape
from typing import Any

import duckdb
import plotly.graph_objects as go

from flows.report import data
from flows.report.charts import (
    GREY,
    PALETTE,
    STAGE_COLORS,
    Chart,
    Money,
    count_axis,
    date_axis,
    hbar,
    mark_partial,
    pct_axis,
)

MIN_RATINGS = 10  # CSAT from fewer ratings is greyed (one bad rating of 3 reads as a 33-point drop)
MIN_DELIVERED = 50  # email rates from fewer deliveries are greyed
MIN_ORDERS = 5  # an AOV point from fewer orders is greyed
MIN_COHORT = 10  # cohorts with fewer customers are labelled "few"
MIN_BACKTEST_CUSTOMERS = 30  # a backtest over fewer customers says little about the model


@dataclass
class Context:
    m: data.Marts
    money: Money
    currency_note: str
    as_of: datetime | None


def fmt_count(v: float | None) -> str:
    return "–" if v is None else f"{v:,.0f}"


def fmt_pct(v: float | None, digits: int = 0) -> str:
    return "–" if v is None else f"{100 * v:.{digits}f}%"


def table(
    head: list[str], rows: list[list[str]], cls: str = "data", text_cols: tuple[int, ...] = (0,)
) -> str:
    """A plain HTML table; number columns (all but `text_cols`) right-aligned by the page CSS."""
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"" if i in text_cols else "n"}">{c}</td>' for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f'<div class="tablewrap"><table class="{cls}"><tr>{th}</tr>{body}</table></div>'


def _partial_label(covered: int, length: int) -> str:
    return f"partial: {covered} of {length} days"


def _shade_partial(fig: go.Figure, starts: list[date], grain: str, as_of: datetime | None) -> bool:
    """Shade the last period when as_of falls inside it; True when it did."""
    if not starts:
        return False
    last = starts[-1]
    part = data.partial_days(last, grain, as_of)
    if part is None:
        return False
    mark_partial(fig, last.isoformat(), data.period_end(last, grain).isoformat(), _partial_label(*part))
    return True


def history_grain(starts: list[date]) -> str:
    """Weeks for up to two years of history (enough points to zoom), months beyond."""
    return "week" if not starts or (starts[-1] - starts[0]).days <= 730 else "month"


# ---- Tiles ---------------------------------------------------------------------------------------


def tiles(ctx: Context) -> str:
    t = data.kpi_tiles(ctx.m)
    month = t["month"].strftime("%B %Y")
    last = t["last_month"].strftime("%B")
    days = t["covered_days"]
    span = f"{month} to date ({days} of {t['month_days']} days, partial)" if t["partial"] else month
    cells = []
    for tile in t["tiles"]:
        fmt = (lambda v: ctx.money.fmt(v, 0)) if tile["unit"] == "money" else fmt_count  # noqa: E731
        cells.append(
            f'<div class="tile" data-tile="{escape(tile["key"])}">'
            f'<div class="k">{escape(tile["label"])}</div>'
            f'<div class="v">{escape(fmt(tile["value"]))}</div>'
            f'<div class="d">{_change(tile["value"], tile["previous"])} vs {escape(last)} 1–{days}</div>'
            f'<div class="d2">{escape(last)} (full): {escape(fmt(tile["last_full"]))} '
            f"{_change(tile['last_full'], tile['before'])}</div></div>"
        )
    head = (
        f'<p class="tiles-head">This month: <b>{escape(span)}</b>, each number against the same '
        f"days of {escape(last)}; below, {escape(last)} in full against the month before. "
        f"Amounts: {escape(ctx.currency_note)}.</p>"
    )
    return f'{head}<div class="tiles">{"".join(cells)}</div>'


def _change(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return '<span class="chg">–</span>'
    if before == 0:
        return '<span class="chg">(was 0)</span>' if now else '<span class="chg">±0%</span>'
    pct = (now - before) / abs(before)
    cls = "up" if pct > 0 else "down" if pct < 0 else ""
    arrow = "▲" if pct > 0 else "▼" if pct < 0 else ""
    return f'<span class="chg {cls}">{arrow} {pct:+.0%}</span>'


# ---- Funnel, leads, segments ---------------------------------------------------------------------


def funnel(ctx: Context) -> str:
    counts = data.stage_counts(ctx.m)
    fig = hbar([s for s, _ in counts], [n for _, n in counts], "people")
    fig.update_traces(marker_color=[STAGE_COLORS.get(s, PALETTE[6]) for s, _ in counts])
    return Chart(fig, height=300, name="funnel").html()


def leads(ctx: Context) -> str:
    b = data.lead_breakdown(ctx.m)
    moved = b["leads_ever"] - b["acquisition_now"]
    note = (
        f'<p class="note"><b>{b["leads_ever"]:,} leads ever</b> (people who gave an email or a lead '
        f"signal) against <b>{b['acquisition_now']:,} in the acquisition stage now</b>: "
        f"{moved:,} of them have moved on to a later stage (ordered, or then lapsed). The stage counts "
        "where a person is today; “leads” counts everyone who ever was one.</p>"
    )
    stages = hbar([s for s, _ in b["by_stage"]], [n for _, n in b["by_stage"]], "leads")
    stages.update_traces(marker_color=[STAGE_COLORS.get(s, PALETTE[6]) for s, _ in b["by_stage"]])
    status = hbar([s for s, _ in b["by_status"]], [n for _, n in b["by_status"]], "people", PALETTE[1])
    return (
        f'{note}<div class="pair"><div><h3>Leads ever, by stage today</h3>'
        f"{Chart(stages, height=260, name='leads by stage').html()}</div>"
        f"<div><h3>Acquisition stage, by lead status</h3>"
        f"{Chart(status, height=260, name='lead status').html()}</div></div>"
    )


def segments(ctx: Context, audiences: list[tuple[str, float]]) -> str:
    """Audience sizes from the last sync, and RFM segments; either may be missing, not both."""
    parts, reasons = [], []
    if audiences:
        fig = hbar([s for s, _ in audiences], [n for _, n in audiences], "people", PALETTE[2])
        parts.append(f"<h3>Audiences (people per list)</h3>{Chart(fig, 260, name='audiences').html()}")
    else:
        reasons.append("no audiences synced yet (run `lifecycle sync`)")
    try:
        rfm = data.rfm_segments(ctx.m)[:10]
        fig = hbar([s for s, _ in rfm], [n for _, n in rfm], "customers", PALETTE[5])
        parts.append(f"<h3>RFM segments (customers)</h3>{Chart(fig, 300, name='rfm').html()}")
    except (data.NotAvailable, duckdb.Error) as exc:
        reasons.append(str(exc).splitlines()[0])
    if not parts:
        raise data.NotAvailable("; ".join(reasons))
    return "".join(parts)


# ---- Revenue -------------------------------------------------------------------------------------


def revenue(ctx: Context) -> str:
    probe = data.revenue_trend(ctx.m, "month")
    grain = history_grain([r["period"] for r in probe])
    rows = probe if grain == "month" else data.revenue_trend(ctx.m, grain)
    x = [r["period"].isoformat() for r in rows]
    money = ctx.money
    fig = go.Figure()
    for key, label, color in (
        ("new_revenue", "new (first orders)", PALETTE[0]),
        ("returning_revenue", "returning (repeat orders)", PALETTE[2]),
    ):
        fig.add_bar(
            x=x,
            y=[r[key] or 0 for r in rows],
            name=label,
            marker_color=color,
            hovertemplate=f"{label}: {money.hover()}<extra>%{{x}}</extra>",
        )
    fig.add_scatter(
        x=x,
        y=[r["aov"] for r in rows],
        name="AOV (right axis)",
        yaxis="y2",
        mode="lines+markers",
        line={"color": PALETTE[3]},
        marker={"color": [PALETTE[3] if (r["orders"] or 0) >= MIN_ORDERS else GREY for r in rows], "size": 7},
        customdata=[r["orders"] for r in rows],
        hovertemplate=f"AOV {money.hover()} over %{{customdata:,d}} orders<extra>%{{x}}</extra>",
    )
    fig.update_layout(
        barmode="stack",
        xaxis=date_axis(f"{grain} starting"),
        yaxis={**money.axis(), "title": {"text": f"net revenue per {grain}"}, "rangemode": "tozero"},
        yaxis2={**money.axis(), "title": {"text": "AOV"}, "overlaying": "y", "side": "right",
                "rangemode": "tozero", "showgrid": False, "tickmode": "auto"},
        margin={"r": 70},
    )  # fmt: skip
    _shade_partial(fig, [r["period"] for r in rows], grain, ctx.as_of)
    note = f'<p class="note">Grey AOV points rest on fewer than {MIN_ORDERS} orders.</p>'
    return Chart(fig, height=340, timeseries=True, name="revenue").html() + note


# ---- Channels ------------------------------------------------------------------------------------


def channels(ctx: Context) -> str:
    rows = data.channel_economics(ctx.m)
    money = ctx.money
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        t = totals[f"{r['source']} / {r['medium']}"]
        t["spend"] += r["spend"]
        t["new_customers"] += r["new_customers"]
        t["first_order_revenue"] += r["first_order_revenue"]
    order = sorted(totals, key=lambda k: -totals[k]["spend"])
    paid = [k for k in order if totals[k]["spend"] > 0]

    # Chart 1: CAC per month per paid channel (a time series under the date control).
    cac = go.Figure()
    for i, ch in enumerate(paid):
        pts = [r for r in rows if f"{r['source']} / {r['medium']}" == ch and r["cac"] is not None]
        cac.add_scatter(
            x=[r["month"].isoformat() for r in pts],
            y=[r["cac"] for r in pts],
            name=ch,
            mode="lines+markers",
            line={"color": PALETTE[i % len(PALETTE)]},
            customdata=[[money.fmt(r["spend"], 2), r["new_customers"]] for r in pts],
            hovertemplate=(
                f"{escape(ch)}: CAC {money.hover()}<br>%{{customdata[0]}} spend / "
                "%{customdata[1]} new customers<extra>%{x|%b %Y}</extra>"
            ),
        )
    cac.update_layout(
        xaxis=date_axis("month"),
        yaxis={**money.axis(), "title": {"text": "CAC per new customer"}, "rangemode": "tozero"},
    )
    months = sorted({r["month"] for r in rows})
    _shade_partial(cac, months, "month", ctx.as_of)

    # Chart 2: spend against first-order revenue per channel, all months (ROI in the hover).
    econ = go.Figure()
    econ.add_bar(
        y=order,
        x=[totals[k]["spend"] for k in order],
        name="spend",
        orientation="h",
        marker_color=PALETTE[4],
        hovertemplate=f"%{{y}}: spend {money.hover('x')}<extra></extra>",
    )
    econ.add_bar(
        y=order,
        x=[totals[k]["first_order_revenue"] for k in order],
        name="first-order revenue",
        orientation="h",
        marker_color=PALETTE[2],
        customdata=[_roi_text(totals[k]) for k in order],
        hovertemplate=f"%{{y}}: first orders {money.hover('x')}<br>%{{customdata}}<extra></extra>",
    )
    econ.update_layout(
        barmode="group",
        xaxis={**money.axis(), "title": {"text": "all months"}, "rangemode": "tozero"},
        yaxis={"autorange": "reversed", "automargin": True},
    )

    def line(label: str, t: dict[str, float], month: str) -> list[str]:
        spend, n, rev = t["spend"], int(t["new_customers"]), t["first_order_revenue"]
        return [
            escape(label),
            escape(month),
            money.fmt(spend, 2),
            fmt_count(n),
            money.fmt(spend / n, 2) if spend > 0 and n else ("no spend" if spend == 0 else "no customers"),
            money.fmt(rev, 2),
            f"{(rev - spend) / spend:+.0%}" if spend > 0 else "no spend",
        ]

    body = [line(k, totals[k], "all months") for k in order]
    latest = sorted(rows, key=lambda r: (r["month"], -r["spend"]), reverse=True)
    for r in sorted(latest, key=lambda r: r["month"], reverse=True):
        label = f"{r['source']} / {r['medium']}"
        month = r["month"].strftime("%Y-%m")
        if data.partial_days(r["month"], "month", ctx.as_of):
            month += " (partial)"
        body.append(line(label, r, month))
    head = [
        "channel (source / medium)",
        "month",
        "spend",
        "new customers",
        "CAC",
        "first-order revenue",
        "ROI",
    ]
    return (
        f'<div class="pair"><div><h3>CAC per month, paid channels</h3>'
        f"{Chart(cac, height=300, timeseries=True, name='cac').html()}</div>"
        f"<div><h3>Spend against the first orders it brought</h3>"
        f"{Chart(econ, height=300, name='channel economics').html()}</div></div>"
        f'<p class="note">New customers are credited to their first touch in their first-order month. '
        f"ROI = (first-order revenue − spend) / spend: what the first orders alone paid back; later "
        f"orders are in the attribution panel.</p>"
        f"{table(head, body, 'data channels', text_cols=(0, 1))}"
    )


def _roi_text(t: dict[str, float]) -> str:
    if t["spend"] <= 0:
        return "no spend (organic)"
    return f"ROI {(t['first_order_revenue'] - t['spend']) / t['spend']:+.0%}"


def attribution(ctx: Context) -> str:
    rows = data.attribution(ctx.m)
    money = ctx.money
    labels = [r["channel"] for r in rows]
    fig = go.Figure()
    fig.add_bar(
        y=labels,
        x=[r["first_revenue"] for r in rows],
        name="first touch (new customers' revenue to date)",
        orientation="h",
        marker_color=PALETTE[0],
        customdata=[r["first_customers"] for r in rows],
        hovertemplate=(
            f"%{{y}}: {money.hover('x')} from %{{customdata}} new customers<extra>first touch</extra>"
        ),
    )
    fig.add_bar(
        y=labels,
        x=[r["last_revenue"] for r in rows],
        name="last touch (orders' revenue)",
        orientation="h",
        marker_color=PALETTE[1],
        customdata=[r["last_orders"] for r in rows],
        hovertemplate=f"%{{y}}: {money.hover('x')} from %{{customdata}} orders<extra>last touch</extra>",
    )
    fig.update_layout(
        barmode="group",
        xaxis={**money.axis(), "title": {"text": "net revenue credited"}, "rangemode": "tozero", "nticks": 6},
        yaxis={"autorange": "reversed", "automargin": True},
        legend={"y": -0.25},
    )
    note = (
        '<p class="note">First touch credits a customer’s whole revenue to date to the channel that '
        "brought them; last touch credits each order to the last touch in the 30 days before it "
        "(orders without one are not in the last-touch bars).</p>"
    )
    return note + Chart(fig, height=max(260, 60 + 46 * len(rows)), name="attribution").html()


# ---- CLV -----------------------------------------------------------------------------------------


def clv(ctx: Context) -> str:
    money = ctx.money
    parts = []
    pred = data.clv_predictions(ctx.m)
    dist = go.Figure(
        go.Histogram(
            x=pred["clv"],
            nbinsx=30,
            marker_color=PALETTE[0],
            hovertemplate=f"{money.prefix}%{{x}}{money.suffix}: %{{y}} customers<extra></extra>",
        )
    )
    dist.update_layout(
        xaxis={**money.axis(), "title": {"text": "predicted 12-month CLV"}},
        yaxis=count_axis([len(pred["clv"])], "customers"),
        bargap=0.05,
    )
    alive = go.Figure(
        go.Histogram(
            x=pred["p_alive"],
            xbins={"start": 0, "end": 1.0001, "size": 0.05},
            marker_color=PALETTE[2],
            hovertemplate="P(alive) %{x}: %{y} customers<extra></extra>",
        )
    )
    alive.update_layout(
        xaxis={"tickformat": ".0%", "range": [0, 1], "dtick": 0.2, "title": {"text": "P(alive)"}},
        yaxis=count_axis([len(pred["p_alive"])], "customers"),
        bargap=0.05,
    )
    alive_html = (
        Chart(alive, height=260, name="p alive").html()
        if pred["p_alive"]
        else '<div class="na">No P(alive): BG/NBD was not fitted (too little history); the '
        "fallback predicts from each customer's observed order rate.</div>"
    )
    parts.append(
        f'<div class="pair"><div><h3>Predicted 12-month CLV ({pred["customers"]:,} customers)</h3>'
        f"{Chart(dist, height=260, name='clv').html()}</div>"
        f"<div><h3>Probability still active</h3>{alive_html}</div></div>"
    )
    try:
        parts.append(_backtest(data.clv_backtest(ctx.m), money))
    except data.NotAvailable as exc:
        parts.append(f'<div class="na">Backtest not available: {escape(str(exc))}</div>')
    return "".join(parts)


def _backtest(rows: list[dict[str, Any]], money: Money) -> str:
    """Predicted against actual holdout repeat purchases, overall and per calibration frequency."""
    overall = next((r for r in rows if r["bucket"] == "all"), None)
    buckets = [r for r in rows if r["bucket"] != "all"]
    fig = go.Figure()
    for key, label, color in (
        ("actual_per_customer", "actual", PALETTE[6]),
        ("predicted_per_customer", "predicted", PALETTE[0]),
    ):
        fig.add_bar(
            x=[r["bucket"] for r in buckets],
            y=[r[key] for r in buckets],
            name=label,
            marker_color=color,
            customdata=[r["customers"] for r in buckets],
            hovertemplate=(
                f"{label}: %{{y:.2f}} repeat purchases per customer<br>%{{customdata}} customers with "
                "%{x} repeat purchases before the cut-off<extra></extra>"
            ),
        )
    fig.update_layout(
        barmode="group",
        xaxis={"type": "category", "title": {"text": "repeat purchases before the cut-off"}},
        yaxis={
            "tickformat": ",.2~f",
            "rangemode": "tozero",
            "title": {"text": "holdout purchases / customer"},
        },
    )
    summary = ""
    if overall:
        weeks = overall["holdout_weeks"]
        cutoff = str(overall["cutoff_at"])[:10]
        err = overall["error_pct"]
        summary = (
            f'<p class="note backtest"><b>Backtest:</b> refitted on the orders before {escape(cutoff)}, '
            f"the model predicted <b>{overall['predicted_repeat_purchases']:,.0f}</b> repeat purchases by "
            f"{overall['customers']:,} customers over the {weeks:.0f} weeks after it; they made "
            f"<b>{overall['actual_repeat_purchases']:,.0f}</b> (error {fmt_pct(err)}"
            f"; revenue {money.fmt(overall['predicted_holdout_revenue'])} predicted against "
            f"{money.fmt(overall['actual_holdout_revenue'])}). Check after Fader, Hardie and Lee (2005).</p>"
        )
        if overall["customers"] < MIN_BACKTEST_CUSTOMERS or not overall["bgnbd_used"]:
            summary += (
                f'<p class="note warn">Too little history to judge the model: '
                f"{overall['customers']} customers before the cut-off; "
                f"{escape(str(overall['fit_status']))}.</p>"
            )
    head = [
        "repeat purchases before cut-off",
        "customers",
        "actual",
        "predicted",
        "error",
        "mean abs error / customer",
    ]
    body = [
        [
            escape(str(r["bucket"])),
            fmt_count(r["customers"]),
            f"{r['actual_repeat_purchases']:,.1f}",
            f"{r['predicted_repeat_purchases']:,.1f}",
            fmt_pct(r["error_pct"]),
            f"{r['mean_abs_error_per_customer']:.2f}"
            if r["mean_abs_error_per_customer"] is not None
            else "–",
        ]
        for r in rows
    ]
    return (
        f"<h3>Calibration / holdout check (marts.mart_clv_backtest)</h3>{summary}"
        f'<div class="pair"><div>{Chart(fig, height=280, name="clv backtest").html()}</div>'
        f"<div>{table(head, body, 'data backtest')}</div></div>"
    )  # fmt: skip


# ---- Stages --------------------------------------------------------------------------------------


def stage_sankey(ctx: Context) -> str:
    rows = data.recent_transitions(ctx.m, 90)
    sources = [s for s in ["new", *data.STAGES] if any(a == s for a, _, _ in rows)]
    targets = [s for s in data.STAGES if any(b == s for _, b, _ in rows)]
    sources += sorted({a for a, _, _ in rows} - set(sources))
    targets += sorted({b for _, b, _ in rows} - set(targets))
    # Left and right columns are separate nodes: a Sankey cannot draw cycles (at risk -> retention).
    labels = [f"{s} (from)" for s in sources] + [f"{t} (to)" for t in targets]
    colors = [STAGE_COLORS.get(s, GREY) for s in sources] + [STAGE_COLORS.get(t, GREY) for t in targets]
    fig = go.Figure(
        go.Sankey(
            node={"label": labels, "color": colors, "pad": 14, "thickness": 16},
            link={
                "source": [sources.index(a) for a, _, _ in rows],
                "target": [len(sources) + targets.index(b) for _, b, _ in rows],
                "value": [n for _, _, n in rows],
                "color": "rgba(148,163,184,0.35)",
                "hovertemplate": "%{source.label} → %{target.label}: %{value:,d} people<extra></extra>",
            },
        )
    )
    total = sum(n for _, _, n in rows)
    note = f'<p class="note">{total:,} stage changes in the 90 days before the latest one.</p>'
    return note + Chart(fig, height=360, name="stage sankey").html()


def stage_entries(ctx: Context) -> str:
    periods, series, grain = data.stage_flow(ctx.m, max_periods=1000)
    starts = [date.fromisoformat(p if len(p) == 10 else f"{p}-01") for p in periods]
    x = [d.isoformat() for d in starts]
    fig = go.Figure()
    for stage, values in series.items():
        fig.add_bar(
            x=x,
            y=values,
            name=stage,
            marker_color=STAGE_COLORS.get(stage, GREY),
            hovertemplate=f"{stage}: %{{y:,d}} people<extra>%{{x}}</extra>",
        )
    totals = [sum(v[i] for v in series.values()) for i in range(len(x))]
    fig.update_layout(
        barmode="stack", xaxis=date_axis(f"{grain} starting"), yaxis=count_axis(totals, "people")
    )
    _shade_partial(fig, starts, grain, ctx.as_of)
    return Chart(fig, height=320, timeseries=True, name="stage entries").html()


# ---- Cohorts -------------------------------------------------------------------------------------


def cohorts(ctx: Context) -> str:
    cells = data.cohort_matrix(ctx.m)
    cohorts_ = sorted({c["cohort"] for c in cells})
    ks = sorted({c["k"] for c in cells})
    sizes = {c["cohort"]: c["size"] for c in cells}
    y = [f"{c:%Y-%m} (n={sizes[c]:,}{', few' if sizes[c] < MIN_COHORT else ''})" for c in cohorts_]
    z: list[list[float | None]] = [[None] * len(ks) for _ in cohorts_]
    text: list[list[str]] = [[""] * len(ks) for _ in cohorts_]
    for c in cells:
        i, j = cohorts_.index(c["cohort"]), ks.index(c["k"])
        if c["partial"] and c["k"] > 0:
            text[i][j] = "partial"  # a month that is not over is not a drop to 0%
        else:
            z[i][j] = c["rate"]
            text[i][j] = fmt_pct(c["rate"])
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(k) for k in ks],
            y=y,
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=max([v for row in z[:] for v in row[1:] if v is not None] or [1]),
            colorbar={"tickformat": ".0%", "title": {"text": "retained"}},
            hovertemplate="%{y}, month %{x}: %{text}<extra></extra>",
            xgap=2,
            ygap=2,
        )
    )
    fig.update_layout(
        xaxis={"type": "category", "title": {"text": "months since first order"}, "side": "top"},
        yaxis={"autorange": "reversed", "type": "category", "automargin": True},
        margin={"t": 50},
    )
    note = (
        '<p class="note">Month 0 is the first-order month (100%). Cells of the month not over yet say '
        f"“partial”; the colour scale leaves out month 0. “few”: under {MIN_COHORT} customers, where "
        "one customer moves the rate by 10 points or more.</p>"
    )
    return note + Chart(fig, height=max(260, 90 + 28 * len(cohorts_)), name="cohorts").html()


# ---- Email ---------------------------------------------------------------------------------------


def email(ctx: Context) -> str:
    rows = data.email_campaigns(ctx.m)
    labels = [r["campaign"] for r in rows]
    fig = go.Figure()
    for key, label, color in (
        ("open_rate", "open rate", PALETTE[0]),
        ("click_rate", "click rate", PALETTE[1]),
    ):
        fig.add_bar(
            y=labels,
            x=[r[key] for r in rows],
            name=label,
            orientation="h",
            marker_color=[color if r["delivered"] >= MIN_DELIVERED else GREY for r in rows],
            customdata=[r["delivered"] for r in rows],
            hovertemplate=f"%{{y}}: {label} %{{x:.1%}} of %{{customdata:,d}} delivered<extra></extra>",
        )
    fig.update_layout(
        barmode="group",
        xaxis={"tickformat": ".0%", "rangemode": "tozero", "title": {"text": "share of delivered emails"}},
        yaxis={"autorange": "reversed", "automargin": True},
    )
    body = [
        [
            escape(r["campaign"]),
            fmt_count(r["sent"]),
            fmt_count(r["delivered"]),
            escape(_dates(r["first_sent"], r["last_sent"])),
            fmt_pct(r["open_rate"], 1),
            fmt_pct(r["click_rate"], 1),
        ]
        for r in rows
    ]
    head = ["campaign", "sent", "delivered", "sent on", "open rate", "click rate"]
    note = f'<p class="note">Grey bars: fewer than {MIN_DELIVERED} delivered emails, too few to compare.</p>'
    return (
        f'<div class="pair"><div>{Chart(fig, height=max(260, 60 + 40 * len(rows)), name="email").html()}'
        f"</div><div>{table(head, body, 'data campaigns', text_cols=(0, 3))}</div></div>{note}"
    )


def _dates(first: date | None, last: date | None) -> str:
    if first is None:
        return "–"
    return first.isoformat() if last in (None, first) else f"{first.isoformat()} – {last.isoformat()}"


# ---- Support -------------------------------------------------------------------------------------


def support(ctx: Context, sla: dict[str, int]) -> str:
    rows = data.support_weekly(ctx.m, sla)
    x = [r["week"].isoformat() for r in rows]
    weeks = [r["week"] for r in rows]
    volume = go.Figure(
        go.Bar(
            x=x,
            y=[r["created"] for r in rows],
            name="tickets created",
            marker_color=PALETTE[1],
            hovertemplate="%{y:,d} tickets created<extra>week of %{x}</extra>",
        )
    )
    volume.update_layout(
        xaxis=date_axis("week starting"), yaxis=count_axis([r["created"] for r in rows], "tickets")
    )
    _shade_partial(volume, weeks, "week", ctx.as_of)

    rates = go.Figure()
    for key, n_key, label, color, unit in (
        ("csat", "rated", "CSAT", PALETTE[2], "ratings"),
        ("breach_rate", "replied", "SLA breach rate", PALETTE[4], "first replies"),
    ):
        solid = [r[key] if r[n_key] >= MIN_RATINGS else None for r in rows]
        thin = [r[key] if r[n_key] < MIN_RATINGS else None for r in rows]
        counts = [r[n_key] for r in rows]
        rates.add_scatter(
            x=x,
            y=solid,
            name=label,
            mode="lines+markers",
            line={"color": color},
            customdata=counts,
            hovertemplate=f"{label} %{{y:.0%}} of %{{customdata}} {unit}<extra>week of %{{x}}</extra>",
        )
        rates.add_scatter(
            x=x,
            y=thin,
            name=f"{label}, under {MIN_RATINGS} {unit}",
            mode="markers",
            marker={"color": GREY, "line": {"color": color, "width": 1.5}, "size": 8},
            customdata=counts,
            hovertemplate=(
                f"{label} %{{y:.0%}} of only %{{customdata}} {unit}: too few to read"
                "<extra>week of %{x}</extra>"
            ),
        )
    rates.update_layout(xaxis=date_axis("week starting"), yaxis=pct_axis("", 1.05))
    _shade_partial(rates, weeks, "week", ctx.as_of)
    return (
        "<h3>Tickets created per week</h3>"
        f"{Chart(volume, height=220, timeseries=True, name='tickets').html()}"
        f"<h3>CSAT and first-reply SLA breach rate</h3>"
        f"{Chart(rates, height=280, timeseries=True, name='support rates').html()}"
        f'<p class="note">Grey points rest on fewer than {MIN_RATINGS} ratings or replies that week. '
        f"Tickets in the period: {sum(r['created'] for r in rows):,}.</p>"
    )


def since(as_of: datetime | None, days: int) -> date | None:
    return None if as_of is None else (as_of - timedelta(days=days)).date()
