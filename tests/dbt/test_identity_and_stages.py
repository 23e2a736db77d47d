"""Identity stitching and lifecycle stages, end to end: raw rows -> real `dbt build` -> marts.

One warehouse is built twice per module (the second load merges two existing persons), so every
assertion runs against real dbt output, and data tests (closed components, current stage equals
last transition) run inside both builds.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest

from flows.settings import Settings, configure_environment
from flows.transform.dbt import run_dbt
from flows.warehouse import fetch_all, open_warehouse
from tests.dbt.dbt_raw_rows import LOADED_AT, RawBatch, ts

pytestmark = pytest.mark.slow

# Only this area's nodes: faster, and independent of other areas' marts.
CORE_SELECTION = (
    "path:seeds path:models/staging path:models/intermediate path:models/marts/core path:snapshots"
)


def pid(identifier_type: str, value: str) -> str:
    return "p_" + hashlib.md5(f"{identifier_type}:{value}".encode()).hexdigest()[:16]


def first_load() -> RawBatch:
    b = RawBatch()
    # Chain: anonymousId -> userId -> email -> Zendesk requester.
    b.web("chain-1", "page", ts(1), anon="a-chain")
    b.web("chain-2", "identify", ts(2), anon="a-chain", user="u-chain")
    b.web("chain-3", "identify", ts(3), user="u-chain", traits={"email": " Chain@Example.com "})
    b.zendesk_user(501, "chain@example.com", ts(3))
    b.ticket(9001, 501, ts(4), status="open", priority="urgent")
    # A Zendesk user with an email, no timestamps and no ticket: a lead from its load time (<= as_of).
    b.zendesk_user(777, "undated@example.com", None)
    # A long chain (80 hops: anon k - user k - anon k+1 ...) still closes into one component.
    for k in range(40):
        b.web(f"long-{k}-a", "identify", ts(4), anon=f"long-a{k:03d}", user=f"long-u{k:03d}")
        b.web(f"long-{k}-b", "page", ts(4), anon=f"long-a{k + 1:03d}", user=f"long-u{k:03d}")
    # Shared device: 6 users (> 5) on one anonymousId link nothing; 5 users on another do link.
    for i in range(1, 7):
        b.web(f"sh-{i}", "identify", ts(5), anon="dev-shared", user=f"sh{i}")
    b.web("sh-page", "page", ts(5), anon="dev-shared")
    for i in range(1, 6):
        b.web(f"f-{i}", "identify", ts(5), anon="dev-five", user=f"f{i}")
    # Blocked values never link.
    b.web("b-1", "page", ts(6), anon="b-1", user="undefined")
    b.web("b-2", "page", ts(6), anon="b-2", user=" Undefined ")
    b.web("b-3", "identify", ts(6), anon="b-3", traits={"email": "test@test.com"})
    b.web("b-4", "identify", ts(6), anon="b-4", traits={"email": "not-an-email"})
    b.web("b-5", "page", ts(6), anon="anonymous", user="null")
    # Two persons that the second load merges.
    b.web("m-1", "identify", ts(10), anon="m-anon", traits={"email": "merge@example.com"})
    b.web("m-2", "page", ts(11), user="m-user")
    # Stages (as_of = day 181, the clock event).
    b.web("r-1", "page", ts(170), anon="r-anon", context={"page": {"referrer": "https://www.google.com/q"}})
    internal = {"page": {"url": "https://shop.example.com/b", "referrer": "https://shop.example.com/a"}}
    b.web("ir-1", "page", ts(170), anon="ir-anon", context=internal)
    b.web("lo-1", "track", ts(100), user="lo", event="Signed Up")
    b.web("lq-0", "track", ts(175), user="lq", event="Signed Up")
    for i in range(12):
        b.web(f"lq-p{i}", "page", ts(170 + i * 0.5), user="lq")
    for i in range(5):
        b.web(f"lq-v{i}", "track", ts(176), user="lq", event="Product Viewed")
    b.web("lc-1", "identify", ts(100), user="lc", traits={"email": "lc@example.com"})
    b.email("lc-d", "delivered", "lc@example.com", ts(101))
    b.web("lu-1", "identify", ts(100), user="lu", traits={"email": "lu@example.com"})
    b.email("lu-b", "bounce", "lu@example.com", ts(101), bounce_type="bounce")
    b.web("ls-1", "identify", ts(100), user="ls", traits={"email": "ls@example.com"})
    b.email("ls-b", "bounce", "ls@example.com", ts(101), bounce_type="blocked")
    b.email("lr-u", "group_unsubscribe", "lr@example.com", ts(100))
    b.email("lr-r", "group_resubscribe", "lr@example.com", ts(102))
    b.web(
        "c1-0",
        "identify",
        ts(150),
        user="c1",
        traits={"email": "c1@example.com"},
        context={"campaign": {"source": "google", "medium": "cpc", "name": "spring"}},
    )
    b.order("c1-o", ts(171), "o-c1", 100.0, user="c1")
    b.web(
        "c1-r",
        "track",
        ts(172),
        user="c1",
        event="Order Refunded",
        properties={"order_id": "o-c1", "total": 10},
    )
    b.order("c2-o1", ts(120), "o-c2-1", 40.0, user="c2")
    b.order("c2-o2", ts(160), "o-c2-2", 60.0, user="c2")
    b.order("c2-o2-dup", ts(160.1), "o-c2-2", 60.0, user="c2")
    for i, day in enumerate((100, 110, 120, 170)):
        b.order(f"c4-o{i}", ts(day), f"o-c4-{i}", 20.0, user="c4")
    b.order("risk-o", ts(80), "o-risk", 30.0, user="c-risk")
    b.order("churn-o", ts(0), "o-churn", 30.0, user="c-churn")
    b.order("react-o1", ts(10), "o-react-1", 30.0, user="c-react")
    b.order("react-o2", ts(150), "o-react-2", 30.0, user="c-react")
    b.order("ref-o", ts(160), "o-ref", 50.0, user="c-ref")
    b.web("ref-r", "track", ts(161), user="c-ref", event="Order Refunded", properties={"order_id": "o-ref"})
    # A refund whose amount is there but not a number: not applied, and counted as unreadable.
    b.order("bad-o", ts(160), "o-bad", 50.0, user="c-bad")
    b.web(
        "bad-r",
        "track",
        ts(161),
        user="c-bad",
        event="Order Refunded",
        properties={"order_id": "o-bad", "total": "12,50"},
    )
    b.web("clock", "page", ts(181), anon="clock")
    return b


def second_load() -> RawBatch:
    b = RawBatch()
    b.web("m-3", "identify", ts(12), user="m-user", traits={"email": "merge@example.com"})
    return b


def identity(con) -> dict[tuple[str, str], str]:
    rows = fetch_all(
        con, "select identifier_type, identifier_value, person_id from intermediate.int_identity_map"
    )
    return {(t, v): p for t, v, p in rows}


@pytest.fixture(scope="module")
def built(tmp_path_factory, request) -> dict:
    s = Settings(data_dir=Path(tmp_path_factory.mktemp("identity")) / "data")
    request.addfinalizer(configure_environment(s).restore)  # the module's environment only
    with open_warehouse(s) as con:
        first_load().write(con)
    run_dbt(s, ["build", "--indirect-selection", "cautious", "--select", CORE_SELECTION])
    with open_warehouse(s) as con:
        before = identity(con)
    with open_warehouse(s) as con:
        # A later ingest commits later: staging reads rows loaded after its newest _loaded_at.
        second_load().write(con, loaded_at=LOADED_AT + timedelta(days=1))
    run_dbt(
        s,
        [
            "build",
            "--indirect-selection",
            "cautious",
            "--exclude-resource-type",
            "unit_test",
            "--select",
            CORE_SELECTION,
        ],
    )
    with open_warehouse(s) as con:
        after = identity(con)
        persons = {
            r[0]: r
            for r in fetch_all(
                con,
                "select person_id, lifecycle_stage, lead_status, lead_score, order_count, net_revenue, "
                "email, is_email_suppressed, first_touch_source, first_touch_medium, "
                "open_high_urgent_tickets, "
                "cast(as_of as varchar) from marts.dim_persons",
            )
        }
        transitions = fetch_all(
            con,
            "select person_id, from_stage, to_stage, cast(transitioned_at as date)::varchar, trigger "
            "from marts.fct_lifecycle_transitions order by person_id, transition_number",
        )
        unresolved = fetch_all(con, "select message_id from marts.fct_web_events where person_id is null")
        orders = {
            r[0]: r[1:]
            for r in fetch_all(
                con,
                "select order_id, is_fully_refunded, unreadable_refund_amounts "
                "from intermediate.int_orders_netted",
            )
        }
    return {
        "before": before,
        "after": after,
        "persons": persons,
        "transitions": transitions,
        "unresolved": unresolved,
        "orders": orders,
    }


def test_chain_anonymous_user_email_ticket_is_one_person(built) -> None:
    m = built["after"]
    expected = pid("user_id", "u-chain")
    for key in [
        ("anonymous_id", "a-chain"),
        ("user_id", "u-chain"),
        ("email", "chain@example.com"),
        ("zendesk_user_id", "501"),
    ]:
        assert m[key] == expected, key
    assert built["persons"][expected][10] == 1  # the urgent open ticket reached the person


def test_long_chain_is_one_component(built) -> None:
    m = built["after"]
    members = {v for (t, v), p in m.items() if p == pid("user_id", "long-u000")}
    assert len(members) == 81
    assert m[("anonymous_id", "long-a040")] == pid("user_id", "long-u000")


def test_shared_device_links_none_of_its_users(built) -> None:
    m = built["after"]
    shared_users = {m[("user_id", f"sh{i}")] for i in range(1, 7)}
    assert len(shared_users) == 6
    assert m[("anonymous_id", "dev-shared")] not in shared_users
    # at the limit (5 users) the device still links its users
    assert {m[("user_id", f"f{i}")] for i in range(1, 6)} == {pid("user_id", "f1")}


def test_blocked_and_invalid_values_are_not_identifiers(built) -> None:
    m = built["after"]
    values = {v.lower().strip() for _, v in m}
    assert not values & {"undefined", "null", "anonymous", "test@test.com", "not-an-email"}
    assert m[("anonymous_id", "b-1")] != m[("anonymous_id", "b-2")]
    assert built["unresolved"] == [("b-5",)]


def test_merge_of_two_persons_keeps_the_best_identifiers_person_id(built) -> None:
    before, after = built["before"], built["after"]
    assert before[("email", "merge@example.com")] == pid("email", "merge@example.com")
    assert before[("user_id", "m-user")] == pid("user_id", "m-user")
    assert (
        after[("anonymous_id", "m-anon")] == after[("email", "merge@example.com")] == pid("user_id", "m-user")
    )
    # every other component is unchanged, so its person_id is too
    untouched = {
        k: v
        for k, v in before.items()
        if k not in {("anonymous_id", "m-anon"), ("email", "merge@example.com")}
    }
    assert {k: after[k] for k in untouched} == untouched


@pytest.mark.parametrize(
    ("person", "stage", "lead_status"),
    [
        (pid("anonymous_id", "r-anon"), "reach", None),
        (pid("user_id", "lo"), "acquisition", "open"),
        (pid("user_id", "lq"), "acquisition", "qualified"),
        (pid("user_id", "lc"), "acquisition", "contacted"),
        (pid("user_id", "lu"), "acquisition", "unqualified"),
        (pid("user_id", "ls"), "acquisition", "open"),
        (pid("email", "lr@example.com"), "acquisition", "open"),
        (pid("user_id", "c1"), "conversion", None),
        (pid("user_id", "c2"), "retention", None),
        (pid("user_id", "c4"), "loyalty", None),
        (pid("user_id", "c-risk"), "at_risk", None),
        (pid("user_id", "c-churn"), "churned", None),
        (pid("user_id", "c-react"), "retention", None),
        (pid("user_id", "c-ref"), "reach", None),
        (pid("email", "undated@example.com"), "acquisition", "open"),
    ],
)
def test_stage_and_lead_status(built, person: str, stage: str, lead_status: str | None) -> None:
    row = built["persons"][person]
    assert (row[1], row[2]) == (stage, lead_status)


def test_orders_refunds_scores_and_touch(built) -> None:
    p = built["persons"]
    c1 = p[pid("user_id", "c1")]
    assert (c1[4], float(c1[5])) == (1, 90.0)  # partial refund nets revenue
    assert (c1[8], c1[9]) == ("google", "cpc")
    assert p[pid("user_id", "c2")][4] == 2  # duplicate Order Completed counted once
    # No amount refunds the whole order; an amount that is not a number ("12,50") refunds nothing.
    assert built["orders"]["o-ref"] == (True, 0)
    assert built["orders"]["o-bad"] == (False, 1)
    assert (p[pid("user_id", "c-bad")][4], float(p[pid("user_id", "c-bad")][5])) == (1, 50.0)
    assert p[pid("user_id", "lq")][3] == 55  # 10 signed up + 20 (capped page views) + 25 product views
    assert p[pid("user_id", "lu")][7] is True
    assert p[pid("user_id", "ls")][7] is False  # a 'blocked' bounce is not a hard bounce
    r = p[pid("anonymous_id", "r-anon")]
    assert (r[8], r[9]) == ("google.com", "search")
    assert r[11].startswith("2026-07-01")
    internal = p[pid("anonymous_id", "ir-anon")]
    assert (internal[8], internal[9]) == (
        "direct",
        "direct",
    )  # own-site referrer is not a source  # as_of defaults to the latest event


def test_a_person_known_only_from_an_undated_zendesk_user_enters_acquisition_at_as_of(built) -> None:
    person = pid("email", "undated@example.com")
    as_of = built["persons"][person][-1][:10]  # load time 2026-11-01 is after as_of: capped
    mine = [t for t in built["transitions"] if t[0] == person]
    assert mine == [(person, None, "acquisition", as_of, "became_lead")]


def test_transitions_include_lapses_and_reactivation(built) -> None:
    rows = [t[1:] for t in built["transitions"] if t[0] == pid("user_id", "c-react")]
    assert rows == [
        (None, "conversion", "2026-01-11", "first_order"),
        ("conversion", "at_risk", "2026-04-11", "no_order_90_days"),
        ("at_risk", "retention", "2026-05-31", "reactivation"),
    ]
    churn = [t[1:] for t in built["transitions"] if t[0] == pid("user_id", "c-churn")]
    assert [r[1] for r in churn] == ["conversion", "at_risk", "churned"]
    lead = [t[1:] for t in built["transitions"] if t[0] == pid("user_id", "c1")]
    assert [r[1] for r in lead] == ["acquisition", "conversion"]
