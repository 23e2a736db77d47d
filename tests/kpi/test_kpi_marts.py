"""Every KPI mart against values computed by hand from the fixture in kpi_fixture.py.

as_of = 2026-06-30 00:00. Orders after netting (fct_orders): O7 P6 2025-12-01 120 | O1 P1 01-10 100 |
O4 P2 02-03 200 | O2 P1 02-15 50 | O5 P3 03-10 60 | O9 P7 03-25 30 | O6 P3 04-10 40 |
O3 P1 06-20 80 - 30 refunded = 50. O8 (P6, fully refunded) is not an order.
Leads (entered acquisition): P6 2025-11-30 10:30, P1 01-05 10:05, P2 01-20 08:30, P3 03-01 12:10,
P4 03-08 09:00 (the Spring Sale email reached dave before his identify), P7 03-20 10:00.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.kpi.kpi_fixture import reading

pytestmark = pytest.mark.slow


def query(settings, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with reading(settings) as con:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def by(rows: list[dict[str, Any]], *keys: str) -> dict[Any, dict[str, Any]]:
    return {(r[keys[0]] if len(keys) == 1 else tuple(r[k] for k in keys)): r for r in rows}


@pytest.fixture(scope="module")
def person(kpi_warehouse) -> dict[str, str]:
    """userId -> person_id (P5, the anonymous visitor, is not needed by name)."""
    rows = query(kpi_warehouse, "select user_id, person_id from marts.dim_persons where user_id is not null")
    return {r["user_id"]: r["person_id"] for r in rows}


def test_funnel_monthly(kpi_warehouse) -> None:
    rows = by(
        query(kpi_warehouse, "select * from marts.mart_funnel where period_grain = 'month'"), "period_start"
    )
    # Months from the first activity (2025-11-30) to as_of (2026-06): 8 rows, zeros included.
    assert len(rows) == 8
    expected = {
        # month: (visitors, new leads, new customers, median days to convert)
        date(2025, 11, 1): (1, 1, 0, None),  # P6 visits and becomes a lead
        date(2025, 12, 1): (1, 0, 1, 1.0),  # P6 orders 1 day after becoming a lead
        date(2026, 1, 1): (2, 2, 1, 5.0),  # P1, P2 visit and become leads; P1 orders 5 days later
        date(2026, 2, 1): (2, 0, 1, 14.0),  # P1 (O2), P2 (O4) visit; P2 first order 14 days after lead
        # P3, P4, P5, P6 (O8 messages), P7 visit; leads P3, P4, P7; new customers P3 (9 d), P7 (5 d)
        date(2026, 3, 1): (5, 3, 2, 7.0),
        date(2026, 4, 1): (1, 0, 0, None),  # P3 (O6)
        date(2026, 5, 1): (0, 0, 0, None),  # emails only
        date(2026, 6, 1): (1, 0, 0, None),  # P1
    }
    for month, (visitors, leads, customers, median_days) in expected.items():
        row = rows[month]
        assert (row["visitors"], row["new_leads"], row["new_customers"]) == (visitors, leads, customers), (
            month
        )
        assert row["median_days_to_convert"] == (pytest.approx(median_days) if median_days else None)


def test_funnel_daily_and_weekly(kpi_warehouse) -> None:
    rows = by(query(kpi_warehouse, "select * from marts.mart_funnel"), "period_grain", "period_start")
    # 2025-11-30 .. 2026-06-30 is 213 days.
    assert sum(1 for grain, _ in rows if grain == "day") == 213
    assert rows[("day", date(2026, 3, 10))]["new_customers"] == 1  # O5
    assert rows[("day", date(2026, 3, 10))]["visitors"] == 1
    assert rows[("day", date(2026, 3, 11))]["visitors"] == 0
    # ISO week of Monday 2026-03-09 holds P3's first order (03-10); week of 03-23 holds P7's (03-25).
    assert rows[("week", date(2026, 3, 9))]["new_customers"] == 1
    assert rows[("week", date(2026, 3, 23))]["new_customers"] == 1
    assert all(start.weekday() == 0 for grain, start in rows if grain == "week")


def test_lead_conversion_by_lead_month(kpi_warehouse) -> None:
    rows = by(query(kpi_warehouse, "select * from marts.mart_lead_conversion_monthly"), "lead_month")
    jan, mar = rows[date(2026, 1, 1)], rows[date(2026, 3, 1)]
    # January: P1 (5 days) and P2 (14 days) both converted, within 30 days; median (5 + 14) / 2.
    assert (jan["leads"], jan["converted_leads"], jan["converted_within_window"]) == (2, 2, 2)
    assert jan["lead_to_customer_rate"] == 1.0
    assert jan["median_days_to_convert"] == pytest.approx(9.5)
    # March: P3 (9 days), P4 (never), P7 (5 days): 2 / 3; median (5, 9) = 7.
    assert (mar["leads"], mar["converted_leads"]) == (3, 2)
    assert mar["lead_to_customer_rate"] == pytest.approx(2 / 3)
    assert mar["lead_to_customer_rate_window"] == pytest.approx(2 / 3)
    assert mar["median_days_to_convert"] == pytest.approx(7.0)
    # February had no leads: rates NULL, never 0.
    feb = rows[date(2026, 2, 1)]
    assert feb["leads"] == 0 and feb["lead_to_customer_rate"] is None
    assert feb["lead_to_customer_rate_window"] is None


def test_first_touch_attribution_and_cac(kpi_warehouse) -> None:
    first = by(
        query(kpi_warehouse, "select * from marts.mart_attribution_first_touch"), "month", "source", "medium"
    )
    # P1 first touched by google/cpc/brand (w1), ordered in January: first order 100, lifetime 200.
    jan_google = first[(date(2026, 1, 1), "google", "cpc")]
    assert (jan_google["new_customers"], jan_google["new_leads"]) == (1, 1)
    assert float(jan_google["first_order_revenue"]) == 100.0
    assert float(jan_google["customer_net_revenue"]) == 200.0  # 100 + 50 + (80 - 30)
    # P2 has no UTM: the referrer class (search) is the medium.
    assert first[(date(2026, 2, 1), "google.com", "search")]["new_customers"] == 1
    # March: P4 and P7 have neither UTM nor referrer -> direct (2 leads, 1 customer: P7).
    march_direct = first[(date(2026, 3, 1), "direct", "direct")]
    assert (march_direct["new_leads"], march_direct["new_customers"]) == (2, 1)

    cac = by(query(kpi_warehouse, "select * from marts.mart_cac_monthly"), "month", "source", "medium")
    assert cac[(date(2025, 12, 1), "google", "cpc")]["cac"] == pytest.approx(60.0)  # 60 / P6
    # January google spend 100 + 200 ("Google"/"CPC" is lower-cased) for one new customer P1.
    assert float(cac[(date(2026, 1, 1), "google", "cpc")]["spend"]) == 300.0
    assert cac[(date(2026, 1, 1), "google", "cpc")]["cac"] == pytest.approx(300.0)
    # February: 50 spent on google, no new google customer -> NULL, not 0 and not an error.
    feb = cac[(date(2026, 2, 1), "google", "cpc")]
    assert (float(feb["spend"]), feb["new_customers"], feb["cac"]) == (50.0, 0, None)
    assert cac[(date(2026, 3, 1), "facebook", "social")]["cac"] == pytest.approx(90.0)  # 90 / P3
    assert cac[(date(2026, 3, 1), "direct", "direct")]["cac"] == 0.0  # P7, no spend


def test_last_touch_per_order(kpi_warehouse) -> None:
    rows = by(query(kpi_warehouse, "select * from marts.mart_order_last_touch"), "order_id")
    assert len(rows) == 8
    channel = {k: (r["source"], r["medium"], r["campaign"]) for k, r in rows.items()}
    assert channel["O7"] == ("google", "cpc", "brand")  # visit 2025-11-30, order next day
    assert channel["O1"] == ("google", "cpc", "brand")  # 5 days after w1
    assert channel["O2"] == ("direct", "direct", "(none)")  # w1 is 41 days before: outside 30
    # O5: Facebook visit 03-01 and Spring Sale click 03-09 both within 30 days; the click is last.
    assert channel["O5"] == ("email", "email", "Spring Sale")
    assert channel["O6"] == ("direct", "direct", "(none)")  # the click was 32 days before
    assert channel["O3"] == ("bing", "cpc", "summer")  # 06-15 visit; alice's 05-05 click is 46 days before
    assert rows["O6"]["has_touch"] is False


def test_revenue_periods(kpi_warehouse) -> None:
    rows = by(query(kpi_warehouse, "select * from marts.mart_revenue"), "period_grain", "period_start")
    feb = rows[("month", date(2026, 2, 1))]
    # O4 200 (first order of P2) + O2 50 (P1's second) = 250 over 2 orders.
    assert (feb["orders"], float(feb["net_revenue"]), feb["aov"]) == (2, 250.0, 125.0)
    assert (float(feb["new_revenue"]), float(feb["returning_revenue"])) == (200.0, 50.0)
    mar = rows[("month", date(2026, 3, 1))]
    assert (mar["orders"], float(mar["net_revenue"]), mar["aov"]) == (2, 90.0, 45.0)  # O5 60 + O9 30
    jun = rows[("month", date(2026, 6, 1))]
    # O3: total 80, refund 30 -> net 50; a returning order.
    assert (float(jun["gross_revenue"]), float(jun["refunds"]), float(jun["net_revenue"])) == (
        80.0,
        30.0,
        50.0,
    )
    assert float(jun["returning_revenue"]) == 50.0
    may = rows[("month", date(2026, 5, 1))]
    assert (may["orders"], float(may["net_revenue"]), may["aov"]) == (0, 0.0, None)  # AOV NULL, not 0
    # Sunday 2026-02-15 (O2) belongs to the ISO week starting Monday 02-09; O4 (Tue 02-03) to 02-02.
    assert float(rows[("week", date(2026, 2, 9))]["returning_revenue"]) == 50.0
    assert float(rows[("week", date(2026, 2, 2))]["new_revenue"]) == 200.0
    assert float(rows[("day", date(2026, 3, 25))]["net_revenue"]) == 30.0
    # Net revenue over all days = 120 + 100 + 200 + 50 + 60 + 30 + 40 + 50 = 650.
    total = sum(float(r["net_revenue"]) for (grain, _), r in rows.items() if grain == "day")
    assert total == 650.0


def test_customer_value_historical_and_predicted(kpi_warehouse, person) -> None:
    rows = by(query(kpi_warehouse, "select * from marts.mart_customer_value"), "person_id")
    assert len(rows) == 5  # P1, P2, P3, P6, P7
    historical = {u: float(rows[person[u]]["historical_clv"]) for u in ("u1", "u2", "u3", "u6", "u7")}
    assert historical == {"u1": 200.0, "u2": 200.0, "u3": 100.0, "u6": 120.0, "u7": 30.0}
    # Five customers are too few to fit (need 20 with 10 repeaters): documented fallback, no crash.
    # P1: 2 repeats over 24.4 weeks, tenure floored at 52 -> 52 * 2 / 52 = 2 purchases x AOV 200/3.
    p1 = rows[person["u1"]]
    assert (p1["purchases_method"], p1["spend_method"]) == ("observed_rate", "observed_aov")
    assert p1["expected_purchases_12m"] == pytest.approx(2.0)
    assert p1["predicted_clv_12m"] == pytest.approx(2 * 200 / 3)
    assert rows[person["u3"]]["predicted_clv_12m"] == pytest.approx(50.0)  # 1 repeat x AOV 50
    assert rows[person["u2"]]["predicted_clv_12m"] == 0.0  # no repeat purchase observed

    params = query(kpi_warehouse, "select * from marts.clv_model_params")
    assert len(params) == 1
    fit = params[0]
    assert (fit["n_customers"], fit["n_repeat_customers"]) == (5, 2)
    assert fit["bgnbd_used"] is False and fit["r"] is None
    assert "too little history" in fit["fit_status"]
    assert str(fit["as_of"]) == "2026-06-30 00:00:00"


def test_cohort_retention_matrix(kpi_warehouse) -> None:
    rows = by(
        query(kpi_warehouse, "select * from marts.mart_cohort_retention"),
        "cohort_month",
        "months_since_first_order",
    )
    # Cohorts Dec (P6), Jan (P1), Feb (P2), Mar (P3, P7); offsets up to June: 7 + 6 + 5 + 4 rows.
    assert len(rows) == 22
    assert rows[(date(2026, 1, 1), 1)]["retention_rate"] == 1.0  # P1 ordered again in February
    assert rows[(date(2026, 1, 1), 2)]["retention_rate"] == 0.0
    assert rows[(date(2026, 1, 1), 5)]["retention_rate"] == 1.0  # O3 in June
    assert rows[(date(2026, 1, 1), 5)]["is_partial_month"] is True
    march = rows[(date(2026, 3, 1), 1)]
    assert (march["cohort_size"], march["active_customers"], march["retention_rate"]) == (2, 1, 0.5)
    # P6's O8 in March 2026 was fully refunded: not an order, so the December cohort did not return.
    assert rows[(date(2025, 12, 1), 3)]["retention_rate"] == 0.0


def test_repeat_purchase_and_churn_rates(kpi_warehouse) -> None:
    rows = by(query(kpi_warehouse, "select * from marts.mart_retention_summary"), "month")
    # Repeat purchase rate at month end: Feb P1 of (P6, P1, P2) = 1/3; Mar 1/5; Apr P1, P3 of 5.
    assert rows[date(2026, 2, 1)]["repeat_purchase_rate"] == pytest.approx(1 / 3)
    assert rows[date(2026, 3, 1)]["repeat_purchase_rate"] == pytest.approx(0.2)
    assert rows[date(2026, 6, 1)]["repeat_purchase_rate"] == pytest.approx(0.4)
    # Churn: P6 enters churned 2025-12-01 + 180 days = 2026-05-30. Customers not churned on May 1:
    # P1 (at_risk only from 05-16), P2, P3, P6 (at_risk), P7 = 5 -> 1 / 5.
    may = rows[date(2026, 5, 1)]
    assert (may["churned"], may["customers_at_start"], may["churn_rate"]) == (1, 5, 0.2)
    # June 1: P6 churned, 4 customers left, nobody churns -> 0.0 (a real zero).
    assert (rows[date(2026, 6, 1)]["customers_at_start"], rows[date(2026, 6, 1)]["churn_rate"]) == (4, 0.0)
    # December 1 00:00: P6's first order is at 10:30, so no customers yet -> NULL.
    assert rows[date(2025, 12, 1)]["customers_at_start"] == 0
    assert rows[date(2025, 12, 1)]["churn_rate"] is None


def test_email_campaign_performance(kpi_warehouse) -> None:
    rows = by(query(kpi_warehouse, "select * from marts.mart_email_campaign_performance"), "campaign_name")
    spring = rows["Spring Sale"]
    # 4 processed; 3 delivered (e2 posted twice counts once); dave bounced; opens alice x2 (March)
    # + alice (May) + carol -> 2 unique; carol clicked; bob unsubscribed.
    counts = ("processed", "delivered", "bounces", "drops", "unique_opens", "unique_clicks", "unsubscribes")
    assert tuple(spring[c] for c in counts) == (4, 3, 1, 0, 2, 1, 1)
    assert spring["opens"] == 4
    assert spring["delivery_rate"] == pytest.approx(3 / 4)
    assert spring["open_rate"] == pytest.approx(2 / 3)
    assert spring["click_rate"] == pytest.approx(1 / 3)
    assert spring["click_to_open_rate"] == pytest.approx(1 / 2)
    assert spring["bounce_rate"] == pytest.approx(1 / 4)
    assert spring["unsubscribe_rate"] == pytest.approx(1 / 3)
    assert spring["spam_rate"] == 0.0
    # carol clicked 03-09 12:10 and ordered O5 (60) a day later: inside 7 days, last click wins.
    assert (spring["attributed_orders"], float(spring["attributed_revenue"])) == (1, 60.0)
    may = rows["May News"]
    # 3 processed, 2 delivered, gina dropped; alice opened and clicked; carol spam + group unsubscribe.
    assert tuple(may[c] for c in counts) == (3, 2, 0, 1, 1, 1, 1)
    assert (may["open_rate"], may["click_to_open_rate"], may["spam_rate"]) == (0.5, 1.0, 0.5)
    assert may["unsubscribe_rate"] == 0.5
    # alice's 05-05 click is 46 days before O3: no attribution.
    assert may["attributed_orders"] == 0


def test_email_monthly(kpi_warehouse) -> None:
    rows = by(query(kpi_warehouse, "select * from marts.mart_email_monthly"), "month", "campaign_name")
    # alice's late open (05-02) belongs to her March Spring Sale message: no May row for it.
    assert set(rows) == {
        (date(2026, 3, 1), "Spring Sale"),
        (date(2026, 5, 1), "May News"),
        (date(2026, 5, 1), "Test Blast"),
    }
    march = rows[(date(2026, 3, 1), "Spring Sale")]
    assert (march["opens"], march["unique_opens"], march["open_rate"]) == (4, 2, pytest.approx(2 / 3))
    blast = rows[(date(2026, 5, 1), "Test Blast")]
    # 1 processed, 1 dropped, nothing delivered: delivery rate 0 / 1 = 0.0, open rate NULL.
    assert (blast["processed"], blast["drops"], blast["delivered"]) == (1, 1, 0)
    assert blast["delivery_rate"] == 0.0
    assert blast["open_rate"] is None and blast["click_to_open_rate"] is None and blast["spam_rate"] is None


def test_support_weekly(kpi_warehouse) -> None:
    rows = by(
        query(kpi_warehouse, "select * from marts.mart_support_weekly"), "week_start", "priority", "channel"
    )
    urgent = rows[(date(2026, 4, 6), "urgent", "email")]
    # Created in the week of 04-06: T1 (reply 30), T2 (90), T6 (45). Solved in it: T1, T2.
    assert (urgent["tickets_created"], urgent["tickets_solved"]) == (3, 2)
    assert urgent["median_first_reply_minutes"] == 45.0
    assert urgent["p90_first_reply_minutes"] == pytest.approx(81.0)  # 45 + 0.8 * (90 - 45)
    assert urgent["median_full_resolution_minutes"] == 360.0  # (120 + 600) / 2
    assert urgent["p90_full_resolution_minutes"] == pytest.approx(552.0)  # 120 + 0.9 * 480
    assert urgent["sla_breach_rate"] == pytest.approx(1 / 3)  # T2: 90 > 60
    assert urgent["csat"] == 0.5  # T1 good, T2 bad
    assert urgent["one_touch_resolution_rate"] == 0.5  # T1 one reply, T2 three
    later = rows[(date(2026, 4, 13), "urgent", "email")]
    # T6 solved Monday 04-13 02:40 after 4000 minutes, one reply, rating unoffered.
    assert (later["tickets_created"], later["tickets_solved"]) == (0, 1)
    assert later["median_full_resolution_minutes"] == 4000.0
    assert later["one_touch_resolution_rate"] == 1.0
    assert later["csat"] is None and later["sla_breach_rate"] is None
    high = rows[(date(2026, 4, 6), "high", "web")]
    assert (high["sla_breach_rate"], high["one_touch_resolution_rate"]) == (1.0, None)  # 300 > 240
    normal = rows[(date(2026, 4, 6), "normal", "email")]
    assert normal["tickets_with_first_reply"] == 0 and normal["sla_breach_rate"] is None
    # T5 is deleted: left out everywhere.
    assert not any(priority == "low" for _, priority, _ in rows)


def test_support_backlog_daily(kpi_warehouse) -> None:
    rows = by(query(kpi_warehouse, "select * from marts.mart_support_backlog_daily"), "day")
    assert min(rows) == date(2026, 4, 6) and max(rows) == date(2026, 6, 30)
    backlog = {d.day: rows[d]["backlog"] for d in rows if d.month == 4 and d.day <= 14}
    # T1, T2 are solved on their creation day; T3 open from 04-08, T4 from 04-09, T6 04-10..04-12.
    assert backlog == {6: 0, 7: 0, 8: 1, 9: 2, 10: 3, 11: 3, 12: 3, 13: 2, 14: 2}
    assert rows[date(2026, 6, 30)]["backlog"] == 2
    assert rows[date(2026, 4, 10)]["backlog_high_urgent"] == 2  # T3 high, T6 urgent


def test_rfm_scores_and_segments(kpi_warehouse, person) -> None:
    rows = by(query(kpi_warehouse, "select * from marts.mart_rfm"), "person_id")
    recency = {u: rows[person[u]]["recency_days"] for u in ("u1", "u2", "u3", "u6", "u7")}
    # Calendar days from the last order's date to 2026-06-30.
    assert recency == {"u1": 10, "u2": 147, "u3": 81, "u6": 211, "u7": 97}
    r_scores = {u: rows[person[u]]["r_score"] for u in recency}
    assert r_scores == {"u6": 1, "u2": 2, "u7": 3, "u3": 4, "u1": 5}
    # Frequency 1 for P2, P6, P7: ntile buckets 1, 2, 3 go to them in person_id order.
    singles = sorted(person[u] for u in ("u2", "u6", "u7"))
    for bucket, person_id in enumerate(singles, start=1):
        assert rows[person_id]["f_score"] == bucket
    assert (rows[person["u3"]]["f_score"], rows[person["u1"]]["f_score"]) == (4, 5)
    # Monetary 30 (P7) < 100 (P3) < 120 (P6) < 200 = 200 (P1, P2 by person_id).
    assert rows[person["u7"]]["m_score"] == 1 and rows[person["u6"]]["m_score"] == 3
    first, second = sorted([person["u1"], person["u2"]])
    assert (rows[first]["m_score"], rows[second]["m_score"]) == (4, 5)

    def expected_segment(r: int, f: int) -> str:
        if r <= 2:
            return "at_risk" if f in (3, 4) else "hibernating" if f <= 2 else "cant_lose"
        return "need_attention" if f == 3 else "about_to_sleep"  # r == 3, f <= 3

    assert rows[person["u1"]]["segment"] == "champions"  # R5 F5
    assert rows[person["u3"]]["segment"] == "loyal"  # R4 F4
    for u in ("u2", "u6", "u7"):
        row = rows[person[u]]
        assert row["segment"] == expected_segment(row["r_score"], row["f_score"]), u


def test_bi_questions_are_one_select_each(kpi_warehouse) -> None:
    # "What is our open rate by campaign last month?" (last month = the month before as_of's).
    open_rates = query(
        kpi_warehouse,
        """
        select campaign_name, open_rate
        from marts.mart_email_monthly
        where month = date_trunc('month', (select max(as_of) from marts.mart_rfm)) - interval 1 month
        order by campaign_name
        """,
    )
    assert open_rates == [
        {"campaign_name": "May News", "open_rate": 0.5},
        {"campaign_name": "Test Blast", "open_rate": None},
    ]
    # "Which cohort retains best?" (share returning in the month after the first order).
    best = query(
        kpi_warehouse,
        """
        select cohort_month, retention_rate
        from marts.mart_cohort_retention
        where months_since_first_order = 1
        order by retention_rate desc, cohort_month
        limit 1
        """,
    )
    assert best == [{"cohort_month": date(2026, 1, 1), "retention_rate": 1.0}]


def test_rebuild_appends_one_fit_and_keeps_marts_identical(kpi_warehouse) -> None:
    # Runs last in this module: it writes to the shared fixture warehouse.
    from flows.transform.dbt import run_dbt

    before = query(kpi_warehouse, "select * from marts.mart_customer_value order by person_id")
    fits_before = query(kpi_warehouse, "select fit_id from marts.clv_model_params")
    run_dbt(
        kpi_warehouse,
        ["run", "--select", "clv_predictions+"],
        vars={"as_of": "2026-06-30 00:00:00"},
    )
    fits_after = query(
        kpi_warehouse, "select fit_id, fitted_at from marts.clv_model_params order by fitted_at"
    )
    assert len(fits_after) == len(fits_before) + 1  # one row per fit, history kept
    after = query(kpi_warehouse, "select * from marts.mart_customer_value order by person_id")
    drop = {"fit_id"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in after] == [
        {k: v for k, v in r.items() if k not in drop} for r in before
    ]
