"""Queries behind each report panel, each one allowed to fail on its own.

Why per-panel: the report must still render when a mart is missing or renamed (a model failed, an
older warehouse): the panel says "not available" and why, the rest of the page is unaffected.
KPI marts (`mart_*`) are preferred when their columns are recognisable, so the report shows the
same numbers BI reads; otherwise the panel computes the SPEC definition from the core marts.
Panels read either `warehouse.duckdb` (schema `marts`) or `published/marts.duckdb` (schema `main`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from flows.warehouse import fetch_all

STAGES = ["reach", "acquisition", "conversion", "retention", "loyalty", "at_risk", "churned"]
DEFAULT_SLA = {"urgent": 60, "high": 240, "normal": 1440, "low": 2880}


class NotAvailable(Exception):
    """A panel's data is missing; the message says which table or column."""


@dataclass
class Marts:
    """Finds mart tables in whichever schema this file keeps them."""

    con: duckdb.DuckDBPyConnection
    tables: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rows = fetch_all(
            self.con,
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'main', 'seeds') order by table_schema = 'marts' desc",
        )
        for schema, name in rows:
            self.tables.setdefault(name, f'"{schema}"."{name}"')

    def table(self, name: str) -> str:
        if name not in self.tables:
            raise NotAvailable(f"table {name} is not in the warehouse")
        return self.tables[name]

    def columns(self, name: str) -> list[str]:
        schema, table = (p.strip('"') for p in self.table(name).split("."))
        return [
            c
            for (c,) in fetch_all(
                self.con,
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? "
                "order by ordinal_position",
                [schema, table],
            )
        ]

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        return fetch_all(self.con, sql, params)

    def pick(self, name: str, *candidates: str) -> str:
        """The first candidate column the table has (KPI mart names may vary)."""
        cols = self.columns(name)
        for c in candidates:
            if c in cols:
                return c
        raise NotAvailable(f"{name} has none of the columns {', '.join(candidates)}")


def stage_counts(m: Marts) -> list[tuple[str, int]]:
    rows = dict(m.query(f"select lifecycle_stage, count(*) from {m.table('dim_persons')} group by 1"))
    ordered = [(s, int(rows.pop(s, 0))) for s in STAGES]
    return ordered + [(str(k), int(v)) for k, v in rows.items()]


def stage_flow(m: Marts, max_periods: int = 16) -> tuple[list[str], dict[str, list[float]], str]:
    """Stage entries per period (week if the history is short, else month)."""
    t = m.table("fct_lifecycle_transitions")
    span = m.query(f"select datediff('day', min(transitioned_at), max(transitioned_at)) from {t}")[0][0]
    if span is None:
        raise NotAvailable("no stage transitions yet")
    grain, fmt = ("week", "%Y-%m-%d") if span <= 183 else ("month", "%Y-%m")
    rows = m.query(
        f"select strftime(date_trunc('{grain}', transitioned_at), '{fmt}') as p, to_stage, count(*) "
        f"from {t} group by all order by p"
    )
    periods = sorted({r[0] for r in rows})[-max_periods:]
    index = {p: i for i, p in enumerate(periods)}
    stages = [s for s in STAGES if any(r[1] == s for r in rows)] + sorted(
        {r[1] for r in rows if r[1] not in STAGES}
    )
    series = {s: [0.0] * len(periods) for s in stages}
    for p, stage, n in rows:
        if p in index:
            series[stage][index[p]] = float(n)
    return periods, series, grain


def rfm_segments(m: Marts) -> list[tuple[str, int]]:
    """Customers per RFM segment (SPEC 7), largest first."""
    rows = m.query(f"select segment, count(*) from {m.table('mart_rfm')} group by 1 order by 2 desc, 1")
    if not rows:
        raise NotAvailable("no customers with orders yet")
    return [(str(s).replace("_", " "), int(n)) for s, n in rows]


LIFT_COLUMNS = (
    "segment",
    "cohort_grain",
    "cohort_start",
    "lift_window_days",
    "treated_persons",
    "holdout_persons",
    "treated_pending",
    "holdout_pending",
    "treated_conversion_rate",
    "holdout_conversion_rate",
    "conversion_lift",
    "conversion_lift_ci_low",
    "conversion_lift_ci_high",
    "conversion_lift_significant",
    "revenue_lift",
    "revenue_lift_ci_low",
    "revenue_lift_ci_high",
    "revenue_lift_significant",
    "enough_data",
)


def segment_lift(m: Marts, max_cohorts: int = 6) -> dict[str, list[dict[str, Any]]]:
    """Per holdout segment: its `all` row first, then its latest `max_cohorts` entry cohorts."""
    table = m.table("mart_segment_lift")
    rows = m.query(
        f"select {', '.join(LIFT_COLUMNS)} from {table} "
        "order by segment, cohort_grain = 'all' desc, cohort_start desc"
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        rec = dict(zip(LIFT_COLUMNS, row, strict=True))
        seg = out.setdefault(rec["segment"], [])
        if rec["cohort_grain"] == "all" or len(seg) <= max_cohorts:
            seg.append(rec)
    if not out:
        raise NotAvailable("no holdout assignments yet (give a segment a `holdout`, then sync)")
    return out


def lift_verdict(row: dict[str, Any], min_group: int) -> str:
    """What a marketer should read from one row: lift, no difference, or too small to tell."""
    if not row["treated_persons"] and not row["holdout_persons"]:
        return f"window still open ({row['lift_window_days']} days)"
    if not row["enough_data"]:
        return f"too small to tell (under {min_group} measured in a group)"
    if row["conversion_lift_significant"]:
        return "more conversions" if row["conversion_lift"] > 0 else "fewer conversions"
    if row["revenue_lift_significant"]:
        return "more revenue" if row["revenue_lift"] > 0 else "less revenue"
    return "no detectable difference"


# ---- Periods: which period is not over yet -----------------------------------------------------


def as_of(m: Marts) -> datetime | None:
    """The data's as_of (dim_persons), the moment every "partial period" is measured against."""
    value = m.query(f"select max(as_of) from {m.table('dim_persons')}")[0][0]
    return value if isinstance(value, datetime) or value is None else datetime.fromisoformat(str(value))


def period_end(start: date, grain: str) -> date:
    """First day after the period (day, ISO week from Monday, or month) starting at `start`."""
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def partial_days(start: date, grain: str, as_of_at: datetime | None) -> tuple[int, int] | None:
    """(days covered, days in the period) when as_of falls inside the period, else None."""
    if as_of_at is None:
        return None
    end = period_end(start, grain)
    covered = (as_of_at.date() - start).days + 1
    length = (end - start).days
    return (covered, length) if 0 < covered < length else None


def _day(v: Any) -> date:
    return (
        v.date() if isinstance(v, datetime) else v if isinstance(v, date) else date.fromisoformat(str(v)[:10])
    )


# ---- Money ---------------------------------------------------------------------------------------


def currency(m: Marts) -> tuple[str | None, str]:
    """The orders' currency (ISO 4217) and a note; the majority one when the orders mix several."""
    o = m.table("fct_orders")
    if "currency" not in m.columns("fct_orders"):
        return None, "the orders carry no currency"
    rows = m.query(
        f"select currency, count(*) from {o} where currency is not null group by 1 order by 2 desc"
    )
    if not rows:
        return None, "the orders carry no currency"
    if len(rows) == 1:
        return str(rows[0][0]), f"all orders are in {rows[0][0]}"
    total = sum(n for _, n in rows)
    mix = ", ".join(f"{c} {100 * n / total:.0f}%" for c, n in rows)
    return str(rows[0][0]), f"orders mix currencies ({mix}); amounts are summed as recorded"


# ---- KPI tiles: this month against the same days of last month ---------------------------------


def daily_kpis(m: Marts) -> dict[date, dict[str, float]]:
    """Per day: net revenue, orders, new customers, new leads, visitors (KPI marts, else core)."""
    days: dict[date, dict[str, float]] = {}

    def put(rows: list[tuple], names: tuple[str, ...]) -> None:
        for day, *values in rows:
            rec = days.setdefault(_day(day), {})
            for n, v in zip(names, values, strict=True):
                if v is not None:
                    rec[n] = float(v)

    try:
        put(
            m.query(
                f"select period_start, net_revenue, orders from {m.table('mart_revenue')} "
                "where period_grain = 'day'"
            ),
            ("net_revenue", "orders"),
        )
    except (NotAvailable, duckdb.Error):
        put(
            m.query(
                f"select cast(ordered_at as date), sum(net_revenue), count(*) from {m.table('fct_orders')} "
                "group by 1"
            ),
            ("net_revenue", "orders"),
        )
    try:
        put(
            m.query(
                f"select period_start, new_customers, new_leads, visitors from {m.table('mart_funnel')} "
                "where period_grain = 'day'"
            ),
            ("new_customers", "new_leads", "visitors"),
        )
    except (NotAvailable, duckdb.Error):
        put(
            m.query(
                f"select d, count(*) from (select min(cast(ordered_at as date)) as d "
                f"from {m.table('fct_orders')} group by person_id) group by 1"
            ),
            ("new_customers",),
        )
        put(
            m.query(
                f"select cast(transitioned_at as date), count(distinct person_id) "
                f"from {m.table('fct_lifecycle_transitions')} where to_stage = 'acquisition' group by 1"
            ),
            ("new_leads",),
        )
    return days


TILE_METRICS = (
    ("net_revenue", "net revenue", "money"),
    ("orders", "orders", "count"),
    ("aov", "AOV (net revenue / order)", "money"),
    ("new_customers", "new customers", "count"),
    ("new_leads", "new leads", "count"),
    ("visitors", "visitors", "count"),
)


def _window(days: dict[date, dict[str, float]], start: date, end: date) -> dict[str, float | None]:
    """Sums over [start, end) of each metric; AOV from the sums (a ratio is never averaged)."""
    sums: dict[str, float | None] = {}
    for key, _, _ in TILE_METRICS:
        vals = [rec[key] for d, rec in days.items() if start <= d < end and key in rec]
        sums[key] = sum(vals) if vals else None
    orders, revenue = sums.get("orders"), sums.get("net_revenue")
    sums["aov"] = revenue / orders if orders and revenue is not None else None
    return sums


def kpi_tiles(m: Marts) -> dict[str, Any]:
    """This month to date against the same days of last month, and the last full month against
    the month before: comparing a 2-day month with a 30-day one would read as a collapse."""
    at = as_of(m)
    if at is None:
        raise NotAvailable("no data yet")
    days = daily_kpis(m)
    today = at.date()
    this_start = today.replace(day=1)
    last_start = (this_start - timedelta(days=1)).replace(day=1)
    before_start = (last_start - timedelta(days=1)).replace(day=1)
    covered = today.day
    same_days_end = min(last_start + timedelta(days=covered), this_start)
    mtd = _window(days, this_start, today + timedelta(days=1))
    prev_same = _window(days, last_start, same_days_end)
    last_full = _window(days, last_start, this_start)
    before = _window(days, before_start, last_start)
    length = (period_end(this_start, "month") - this_start).days
    tiles = []
    for key, label, unit in TILE_METRICS:
        if mtd[key] is None and last_full[key] is None:
            continue
        tiles.append(
            {
                "key": key,
                "label": label,
                "unit": unit,
                "value": mtd[key],
                "previous": prev_same[key],
                "last_full": last_full[key],
                "before": before[key],
            }
        )
    return {
        "as_of": at,
        "month": this_start,
        "last_month": last_start,
        "covered_days": covered,
        "month_days": length,
        "partial": covered < length,
        "tiles": tiles,
    }


# ---- Revenue trend -------------------------------------------------------------------------------


def revenue_trend(m: Marts, grain: str = "week") -> list[dict[str, Any]]:
    """Per period: new and returning revenue (first orders against later ones), orders, AOV."""
    try:
        rows = m.query(
            f"select period_start, new_revenue, returning_revenue, net_revenue, orders, aov "
            f"from {m.table('mart_revenue')} where period_grain = ? order by 1",
            [grain],
        )
    except (NotAvailable, duckdb.Error):
        rows = m.query(
            f"""
            with o as (
                select *, row_number() over (partition by person_id order by ordered_at, order_id) as n
                from {m.table("fct_orders")}
            )
            select cast(date_trunc('{grain}', ordered_at) as date) as p,
                   sum(net_revenue) filter (where n = 1), sum(net_revenue) filter (where n > 1),
                   sum(net_revenue), count(*), sum(net_revenue) / count(*)
            from o group by 1 order by 1
            """
        )
    if not rows:
        raise NotAvailable("no orders yet")
    names = ("period", "new_revenue", "returning_revenue", "net_revenue", "orders", "aov")
    out = []
    for r in rows:
        rec = dict(zip(names, r, strict=True))
        rec["period"] = _day(rec["period"])
        for k in names[1:]:
            rec[k] = float(rec[k]) if rec[k] is not None else None
        out.append(rec)
    return out


# ---- Channels: spend, new customers, CAC, first-order revenue, ROI ------------------------------


def channel_economics(m: Marts) -> list[dict[str, Any]]:
    """Per month, source and medium: spend and new customers (mart_cac_monthly) with the
    first-order revenue of those customers (mart_attribution_first_touch), CAC and ROI.

    ROI = (first-order revenue - spend) / spend: what the first orders alone paid back; a
    channel without spend has no CAC or ROI (organic), which the table says instead of "0".
    """
    cac, ft = m.table("mart_cac_monthly"), m.table("mart_attribution_first_touch")
    rows = m.query(
        f"""
        with c as (
            select month, source, medium, sum(spend) as spend, sum(new_customers) as new_customers
            from {cac} group by all
        ),
        f as (
            select month, source, medium, sum(new_customers) as new_customers,
                   sum(first_order_revenue) as first_order_revenue
            from {ft} group by all
        )
        select coalesce(c.month, f.month), coalesce(c.source, f.source), coalesce(c.medium, f.medium),
               coalesce(c.spend, 0), coalesce(c.new_customers, f.new_customers, 0),
               coalesce(f.first_order_revenue, 0)
        from c full join f on c.month = f.month and c.source = f.source and c.medium = f.medium
        where coalesce(c.spend, 0) > 0 or coalesce(c.new_customers, f.new_customers, 0) > 0
        order by 1, 2, 3
        """
    )
    if not rows:
        raise NotAvailable("no spend and no new customers yet")
    out = []
    for month, source, medium, spend, customers, revenue in rows:
        spend, customers, revenue = float(spend), int(customers), float(revenue)
        out.append(
            {
                "month": _day(month),
                "source": str(source),
                "medium": str(medium),
                "spend": spend,
                "new_customers": customers,
                "first_order_revenue": revenue,
                "cac": spend / customers if spend > 0 and customers else None,
                "roi": (revenue - spend) / spend if spend > 0 else None,
            }
        )
    return out


# ---- Attribution ---------------------------------------------------------------------------------


def attribution(m: Marts) -> list[dict[str, Any]]:
    """Per source / medium: net revenue credited by first touch (the new customers' revenue to
    as_of) and by last touch (each order's last touch in the 30 days before it)."""
    ft, lt = m.table("mart_attribution_first_touch"), m.table("mart_attribution_last_touch_monthly")
    rows = m.query(
        f"""
        with f as (select source, medium, sum(new_customers) as customers,
                          sum(customer_net_revenue) as revenue from {ft} group by all),
             l as (select source, medium, sum(orders) as orders, sum(net_revenue) as revenue
                   from {lt} group by all)
        select coalesce(f.source, l.source), coalesce(f.medium, l.medium),
               coalesce(f.customers, 0), coalesce(f.revenue, 0), coalesce(l.orders, 0), coalesce(l.revenue, 0)
        from f full join l on f.source = l.source and f.medium = l.medium
        order by greatest(coalesce(f.revenue, 0), coalesce(l.revenue, 0)) desc
        """
    )
    out = [
        {
            "channel": f"{s} / {md}",
            "first_customers": int(fc),
            "first_revenue": float(fr),
            "last_orders": int(lo),
            "last_revenue": float(lr),
        }
        for s, md, fc, fr, lo, lr in rows
        if fr or lr
    ]
    if not out:
        raise NotAvailable("no attributed revenue yet")
    return out


# ---- CLV -----------------------------------------------------------------------------------------


def clv_predictions(m: Marts) -> dict[str, Any]:
    rows = m.query(
        f"select predicted_clv_12m, prob_alive, purchases_method from {m.table('clv_predictions')}"
    )
    if not rows:
        raise NotAvailable("no customers to predict yet")
    return {
        "clv": [float(r[0]) for r in rows if r[0] is not None],
        "p_alive": [float(r[1]) for r in rows if r[1] is not None],
        "customers": len(rows),
        "methods": sorted({str(r[2]) for r in rows}),
    }


BACKTEST_COLUMNS = (
    "bucket",
    "customers",
    "actual_repeat_purchases",
    "predicted_repeat_purchases",
    "actual_per_customer",
    "predicted_per_customer",
    "error_pct",
    "mean_abs_error_per_customer",
    "actual_holdout_revenue",
    "predicted_holdout_revenue",
    "revenue_error_pct",
    "cutoff_at",
    "as_of",
    "holdout_weeks",
    "calibration_weeks",
    "bgnbd_used",
    "fit_status",
)


def clv_backtest(m: Marts) -> list[dict[str, Any]]:
    """mart_clv_backtest rows, the frequency buckets in order and "all" last."""
    rows = m.query(
        f"select {', '.join(BACKTEST_COLUMNS)} from {m.table('mart_clv_backtest')} order by bucket_order"
    )
    if not rows:
        raise NotAvailable("no customers before the backtest cut-off")
    return [dict(zip(BACKTEST_COLUMNS, r, strict=True)) for r in rows]


# ---- Leads ---------------------------------------------------------------------------------------


def lead_breakdown(m: Marts) -> dict[str, Any]:
    """Leads ever (is_lead) by the stage they are in now, and the acquisition stage by lead
    status: why "leads" is larger than the acquisition stage."""
    p = m.table("dim_persons")
    status = "lead_status" if "lead_status" in m.columns("dim_persons") else "null"
    rows = m.query(
        f"select lifecycle_stage, {status}, count(*) filter (where is_lead), count(*) from {p} group by all"
    )
    by_stage: dict[str, int] = {}
    by_status: dict[str, int] = {}
    for stage, st, leads, persons in rows:
        by_stage[str(stage)] = by_stage.get(str(stage), 0) + int(leads)
        if stage == "acquisition":
            key = str(st or "no status")
            by_status[key] = by_status.get(key, 0) + int(persons)
    leads_ever = sum(by_stage.values())
    if not leads_ever:
        raise NotAvailable("no leads yet")
    ordered = [(s, by_stage.pop(s)) for s in STAGES if by_stage.get(s)] + sorted(by_stage.items())
    return {
        "leads_ever": leads_ever,
        "acquisition_now": sum(by_status.values()),
        "by_stage": [(s, n) for s, n in ordered if n],
        "by_status": sorted(by_status.items(), key=lambda kv: -kv[1]),
    }


# ---- Stage transitions (Sankey) ------------------------------------------------------------------


def recent_transitions(m: Marts, days: int = 90) -> list[tuple[str, str, int]]:
    """(from stage, to stage, persons) over the last `days` days before as_of."""
    t = m.table("fct_lifecycle_transitions")
    rows = m.query(
        f"""
        select coalesce(from_stage, 'new'), to_stage, count(*)
        from {t}
        where transitioned_at > (select max(transitioned_at) from {t}) - to_days(?)
        group by all order by 3 desc
        """,
        [days],
    )
    if not rows:
        raise NotAvailable(f"no stage transitions in the last {days} days")
    return [(str(a), str(b), int(n)) for a, b, n in rows]


# ---- Cohorts, with sizes and partial months -----------------------------------------------------


def cohort_matrix(m: Marts, max_cohorts: int = 12, max_months: int = 12) -> list[dict[str, Any]]:
    """Cells (cohort, m, retention, cohort size, partial) from mart_cohort_retention, else fct_orders."""
    try:
        name = "mart_cohort_retention"
        rows = m.query(
            f"select cohort_month, months_since_first_order, retention_rate, cohort_size, is_partial_month "
            f"from {m.table(name)} where months_since_first_order between 0 and ?",
            [max_months],
        )
    except (NotAvailable, duckdb.Error):
        o = m.table("fct_orders")
        rows = m.query(
            f"""
            with firsts as (
                select person_id, date_trunc('month', min(ordered_at)) as cohort from {o} group by 1
            ),
            activity as (select distinct person_id, date_trunc('month', ordered_at) as month from {o}),
            sizes as (select cohort, count(*) as n from firsts group by 1),
            last_month as (select date_trunc('month', max(ordered_at)) as lm from {o})
            select f.cohort, datediff('month', f.cohort, a.month) as k,
                   count(distinct a.person_id) / any_value(s.n), any_value(s.n),
                   any_value(a.month = (select lm from last_month))
            from firsts f join activity a using (person_id) join sizes s using (cohort)
            group by 1, 2 having k between 0 and ?
            """,
            [max_months],
        )
    if not rows:
        raise NotAvailable("no orders yet")
    cohorts = sorted({_day(r[0]) for r in rows})[-max_cohorts:]
    return [
        {
            "cohort": _day(c),
            "k": int(k),
            "rate": None if v is None else float(v),
            "size": int(n or 0),
            "partial": bool(partial),
        }
        for c, k, v, n, partial in rows
        if _day(c) in cohorts
    ]


# ---- Email campaigns with sends and send dates --------------------------------------------------


def email_campaigns(m: Marts, top: int = 12) -> list[dict[str, Any]]:
    """Per campaign: emails sent (processed), delivered, unique open and click rates, and when it
    was sent (first and last processed email), the campaigns with most sends first."""
    e = m.table("fct_email_events")
    dates = {
        str(c): (_day(a), _day(b))
        for c, a, b in m.query(
            f"select coalesce(campaign_name, campaign_id, '(none)'), min(event_at), max(event_at) "
            f"from {e} where event in ('processed', 'delivered') group by 1"
        )
    }
    try:
        name = "mart_email_campaign_performance"
        rows = m.query(
            f"select coalesce(campaign_name, campaign_id, '(none)'), sum(processed), sum(delivered), "
            f"sum(unique_opens), sum(unique_clicks) from {m.table(name)} group by 1 "
            "order by 2 desc nulls last limit ?",
            [top],
        )
    except (NotAvailable, duckdb.Error):
        rows = m.query(
            f"""
            select coalesce(campaign_name, campaign_id, '(none)') as campaign,
                   count_if(event = 'processed'), count_if(event = 'delivered'),
                   count(distinct case when event = 'open' then email end),
                   count(distinct case when event = 'click' then email end)
            from {e} group by 1 order by 2 desc limit ?
            """,
            [top],
        )
    out = []
    for campaign, processed, delivered, opens, clicks in rows:
        d = float(delivered or 0)
        first, last = dates.get(str(campaign), (None, None))
        out.append(
            {
                "campaign": str(campaign),
                "sent": int(processed or 0),
                "delivered": int(d),
                "open_rate": (float(opens or 0) / d) if d else None,
                "click_rate": (float(clicks or 0) / d) if d else None,
                "first_sent": first,
                "last_sent": last,
            }
        )
    if not out:
        raise NotAvailable("no email campaigns yet")
    return out


# ---- Support with counts -------------------------------------------------------------------------


def support_weekly(m: Marts, sla: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """Per week: tickets created, SLA breach rate and CSAT with the counts behind each rate."""
    try:
        rows = m.query(
            f"""
            select week_start, sum(tickets_created), sum(sla_breaches), sum(tickets_with_first_reply),
                   sum(csat_good), sum(csat_good + csat_bad)
            from {m.table("mart_support_weekly")} group by 1 order by 1
            """
        )
    except (NotAvailable, duckdb.Error):
        t = m.table("fct_tickets")
        targets = sla or DEFAULT_SLA
        case = " ".join(f"when '{p}' then {int(v)}" for p, v in targets.items())
        default = int(targets.get("normal", 1440))
        rows = m.query(
            f"""
            select cast(date_trunc('week', created_at) as date), count(*),
                   count_if(first_reply_minutes > case lower(priority) {case} else {default} end),
                   count_if(first_reply_minutes is not null),
                   count_if(satisfaction_score = 'good'), count_if(satisfaction_score in ('good', 'bad'))
            from {t} group by 1 order by 1
            """
        )
    if not rows:
        raise NotAvailable("no tickets yet")
    out = []
    for week, created, breaches, replied, good, rated in rows:
        replied, rated = int(replied or 0), int(rated or 0)
        out.append(
            {
                "week": _day(week),
                "created": int(created or 0),
                "replied": replied,
                "breach_rate": (float(breaches or 0) / replied) if replied else None,
                "rated": rated,
                "csat": (float(good or 0) / rated) if rated else None,
            }
        )
    return out
