"""Queries behind each report panel, each one allowed to fail on its own.

Why per-panel: the report must still render when a mart is missing or renamed (a model failed, an
older warehouse): the panel says "not available" and why, the rest of the page is unaffected.
KPI marts (`mart_*`) are preferred when their columns are recognisable, so the report shows the
same numbers BI reads; otherwise the panel computes the SPEC definition from the core marts.
Panels read either `warehouse.duckdb` (schema `marts`) or `published/marts.duckdb` (schema `main`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


def headline(m: Marts) -> dict[str, Any]:
    p = m.table("dim_persons")
    cols = m.columns("dim_persons")
    lead = "count_if(is_lead)" if "is_lead" in cols else "null"
    rows = m.query(
        f"select count(*), {lead}, count_if(coalesce(order_count, 0) > 0), sum(net_revenue), max(as_of) "
        f"from {p}"
    )
    persons, leads, customers, revenue, as_of = rows[0]
    return {
        "persons": persons,
        "leads": leads,
        "customers": customers,
        "net_revenue": revenue,
        "as_of": as_of,
    }


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


def cohort_retention(m: Marts, max_cohorts: int = 12, max_months: int = 12) -> dict[tuple[str, str], float]:
    """retention(cohort, m) from mart_cohort_retention when recognisable, else from fct_orders (SPEC 7)."""
    try:
        name = "mart_cohort_retention"
        cohort = m.pick(name, "cohort_month", "cohort", "first_order_month")
        k = m.pick(name, "months_since_first_order", "month_number", "months_since", "month_offset", "period")
        rate = m.pick(name, "retention_rate", "retention", "retention_share", "share_retained")
        rows = m.query(
            f"select strftime(cast({cohort} as date), '%Y-%m'), cast({k} as integer), {rate} "
            f"from {m.table(name)} where {k} between 0 and ?",
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
            sizes as (select cohort, count(*) as n from firsts group by 1)
            select strftime(f.cohort, '%Y-%m'), datediff('month', f.cohort, a.month) as k,
                   count(distinct a.person_id) / any_value(s.n)
            from firsts f join activity a using (person_id) join sizes s using (cohort)
            group by 1, 2 having k between 0 and ?
            """,
            [max_months],
        )
    cohorts = sorted({r[0] for r in rows})[-max_cohorts:]
    return {(c, str(k)): (float(v) if v is not None else None) for c, k, v in rows if c in cohorts}


def email_by_campaign(m: Marts, top: int = 10) -> list[dict[str, Any]]:
    """Delivered, open and click rates per campaign (the campaigns with most delivered emails)."""
    try:
        name = "mart_email_campaign_performance"
        campaign = m.pick(name, "campaign_name", "campaign", "campaign_id")
        delivered = m.pick(name, "delivered", "delivered_count")
        opens = m.pick(name, "unique_opens", "opens")
        clicks = m.pick(name, "unique_clicks", "clicks")
        rows = m.query(
            f"select {campaign}, sum({delivered}), sum({opens}), sum({clicks}) from {m.table(name)} "
            f"group by 1 order by 2 desc nulls last limit ?",
            [top],
        )
    except (NotAvailable, duckdb.Error):
        e = m.table("fct_email_events")
        rows = m.query(
            f"""
            select coalesce(campaign_name, campaign_id, '(none)') as campaign,
                   count_if(event = 'delivered'),
                   count(distinct case when event = 'open' then email end),
                   count(distinct case when event = 'click' then email end)
            from {e} group by 1 order by 2 desc limit ?
            """,
            [top],
        )
    out = []
    for campaign, delivered, opens, clicks in rows:
        d = float(delivered or 0)
        out.append(
            {
                "campaign": str(campaign),
                "delivered": int(d),
                "open_rate": (float(opens or 0) / d) if d else None,
                "click_rate": (float(clicks or 0) / d) if d else None,
            }
        )
    if not out:
        raise NotAvailable("no email campaigns yet")
    return out


def support_trends(m: Marts, sla: dict[str, int] | None = None, max_weeks: int = 16) -> dict[str, Any]:
    """Weekly SLA breach rate and CSAT over all priorities and channels (SPEC 7, support).

    From mart_support_weekly (summing its counts over priority and channel, since rates cannot be
    averaged), else from fct_tickets with the same definitions.
    """
    try:
        w = m.table("mart_support_weekly")
        rows = m.query(
            f"""
            select strftime(week_start, '%Y-%m-%d'), sum(tickets_created),
                   sum(sla_breaches) / nullif(sum(tickets_with_first_reply), 0),
                   sum(csat_good) / nullif(sum(csat_good + csat_bad), 0)
            from {w} group by 1 order by 1
            """
        )[-max_weeks:]
    except (NotAvailable, duckdb.Error):
        rows = _support_from_tickets(m, sla)[-max_weeks:]
    if not rows:
        raise NotAvailable("no tickets yet")
    return {
        "weeks": [r[0] for r in rows],
        "created": [float(r[1] or 0) for r in rows],
        "breach_rate": [None if r[2] is None else float(r[2]) for r in rows],
        "csat": [None if r[3] is None else float(r[3]) for r in rows],
    }


def _support_from_tickets(m: Marts, sla: dict[str, int] | None) -> list[tuple]:
    t = m.table("fct_tickets")
    targets = sla or DEFAULT_SLA
    case = " ".join(f"when '{p}' then {int(v)}" for p, v in targets.items())
    default = int(targets.get("normal", 1440))
    rows = m.query(
        f"""
        select strftime(date_trunc('week', created_at), '%Y-%m-%d') as week,
               count(*) as created,
               count_if(first_reply_minutes > case lower(priority) {case} else {default} end)
                 / nullif(count_if(first_reply_minutes is not null), 0) as breach_rate,
               count_if(satisfaction_score = 'good')
                 / nullif(count_if(satisfaction_score in ('good', 'bad')), 0) as csat
        from {t} group by 1 order by 1
        """
    )
    return rows


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
