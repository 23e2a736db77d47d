"""The behaviour model: what each person does, day by day, as vectorised state transitions.

People arrive on their acquisition channel, come back less and less unless they sign up, become
leads (`Signed Up` + identify with email), get email, and buy. Buying is per session: a lead buys
with their own propensity, raised for a week by email opens and clicks; a customer re-orders with a
propensity that decays with every order and may go dormant after each one (the BG/NBD story, which
is also what the CLV model fits). Returning customers upgrade to the catalog's next tier. Orders
cause tickets; a bad CSAT rating makes going dormant likelier. Dormant customers are what produce
at_risk and churned stages; decay plus heterogeneity produce repeat and 4+ order buyers.

The state is a handful of arrays over people; each day is a few dozen numpy operations over them,
never a loop over people or events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from flows.generate.campaigns import WinBackCampaign
from flows.generate.catalog import Catalog
from flows.generate.email_events import EmailProgramme
from flows.generate.population import CHANNELS, DIRECT, ORGANIC, WEEKDAY_FACTOR, Population
from flows.generate.schedule import DaySchedule

EMAIL_CHANNEL = len(CHANNELS)  # sessions that start from a click in our own email
HOUR_WEIGHT = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 3.5, 3.5, 3.5, 4, 3.8, 3.5, 3.5, 3.6, 4, 4.5, 5, 5.2, 4.5, 3, 2]
)
HOUR_P = HOUR_WEIGHT / HOUR_WEIGHT.sum()
# Returning visits: direct, organic search, Google brand search, Facebook retargeting.
REVISIT_CHANNEL = np.array([DIRECT, ORGANIC, 0, 1])
REVISIT_P = np.array([0.47, 0.3, 0.14, 0.09])
REVISIT_CAMPAIGN = np.array([0, 0, 0, 2])  # brand_search, retargeting_cart


@dataclass
class Day:
    """Everything that happened on one day, for the writers (arrays, one row per session/line)."""

    d: int
    person: np.ndarray
    anon_idx: np.ndarray  # person * 2 + device, or -(1 + shared device)
    app: np.ndarray
    start_ms: np.ndarray
    channel: np.ndarray  # index into CHANNELS, or EMAIL_CHANNEL
    campaign: np.ndarray  # object: utm_campaign or None
    landing: np.ndarray  # object: landing path for email clicks, else None
    known: np.ndarray  # userId known before the session
    signup: np.ndarray
    buy: np.ndarray
    abandon: np.ndarray
    n_pages: np.ndarray
    n_views: np.ndarray
    view_upgrade: np.ndarray  # product index a customer looks at (their upgrade), -1 none
    order_no: np.ndarray  # -1 when no order
    line_session: np.ndarray  # order lines: session row
    line_product: np.ndarray
    line_qty: np.ndarray
    refunds: dict[str, np.ndarray] | None  # person, order_no, product, qty, ms


@dataclass
class TicketRequest:
    person: np.ndarray
    created_ms: np.ndarray
    order_no: np.ndarray  # -1 for pre-sales questions


@dataclass
class Simulator:
    pop: Population
    catalog: Catalog
    rng: np.random.Generator
    email: EmailProgramme
    start: date
    days: int
    start_ts: int
    lead_day: np.ndarray = field(init=False)
    n_orders: np.ndarray = field(init=False)
    last_order_day: np.ndarray = field(init=False)
    abandon_day: np.ndarray = field(init=False)
    dormant: np.ndarray = field(init=False)
    bad_csat: np.ndarray = field(init=False)
    suppressed: np.ndarray = field(init=False)
    hard_bounced: np.ndarray = field(init=False)
    group_unsub: np.ndarray = field(init=False)
    last_open_day: np.ndarray = field(init=False)
    last_click_day: np.ndarray = field(init=False)
    owned: np.ndarray = field(init=False)
    next_order_no: int = 100_001
    sched: dict[str, DaySchedule] = field(init=False)
    # The demo's win-back campaign with its holdout (campaigns.py); None: no campaign.
    campaign: WinBackCampaign | None = None

    def __post_init__(self) -> None:
        n = self.pop.n
        self.lead_day = np.full(n, -1, dtype=np.int64)
        self.n_orders = np.zeros(n, dtype=np.int64)
        self.last_order_day = np.full(n, -10_000, dtype=np.int64)
        self.abandon_day = np.full(n, -10_000, dtype=np.int64)
        self.dormant = np.zeros(n, dtype=bool)
        self.bad_csat = np.zeros(n, dtype=bool)
        self.suppressed = np.zeros(n, dtype=bool)
        self.hard_bounced = np.zeros(n, dtype=bool)
        self.group_unsub = np.zeros(n, dtype=bool)
        self.last_open_day = np.full(n, -10_000, dtype=np.int64)
        self.last_click_day = np.full(n, -10_000, dtype=np.int64)
        self.owned = np.full((n, len(self.catalog.categories)), -1, dtype=np.int64)
        names = ("clicks", "opens", "suppress", "hard", "gun", "gre", "refunds", "csat", "winback")
        self.sched = {k: DaySchedule(self.days) for k in names}

    # ------------------------------------------------------------------ email
    def _email(self, d: int, today: date):
        iso = today.isocalendar()
        sends = self.email.plan(
            d,
            today.weekday(),
            iso.week,
            self.lead_day,
            self.n_orders,
            self.abandon_day,
            self.last_order_day,
            self.group_unsub,
        )
        if self.campaign is not None:
            batch, back, on_day = self.campaign.plan(
                d, self.n_orders, self.last_order_day, self.suppressed, self.pop.bad_address, self.rng
            )
            if batch is not None:
                sends.append(batch)
            self.sched["winback"].add(on_day, person=back)
        out = self.email.simulate(sends, self.suppressed, self.hard_bounced)
        s = self.sched
        s["clicks"].add(out.clicks["ms"] // 1000 // 86400 - self.start_ts // 86400, **out.clicks)
        s["opens"].add(out.opens["day"], person=out.opens["person"])
        s["suppress"].add(out.suppress["day"], person=out.suppress["person"])
        s["gun"].add(out.group_unsub["day"], person=out.group_unsub["person"])
        s["gre"].add(out.group_resub["day"], person=out.group_resub["person"])
        return out.events

    def _apply_effects(self, d: int) -> None:
        s = self.sched
        if (x := s["opens"].pop(d)) is not None:
            self.last_open_day[x["person"]] = d
        if (x := s["suppress"].pop(d)) is not None:
            self.suppressed[x["person"]] = True
            # a hard bounce is reported as a drop reason later; unsub/spam share the flag
            self.hard_bounced[x["person"]] |= self.pop.bad_address[x["person"]]
        if (x := s["gun"].pop(d)) is not None:
            self.group_unsub[x["person"]] = True
        if (x := s["gre"].pop(d)) is not None:
            self.group_unsub[x["person"]] = False
        if (x := s["csat"].pop(d)) is not None:
            p = x["person"]
            self.bad_csat[p] = True
            self.dormant[p] |= self.rng.random(len(p)) < 0.5

    # --------------------------------------------------------------- sessions
    def step(self, d: int) -> tuple[Day, object, TicketRequest]:
        """Simulate day `d`; returns the day's web activity, email events and new tickets."""
        pop, rng = self.pop, self.rng
        today = self.start + timedelta(days=d)
        day0_ms = (self.start_ts + d * 86400) * 1000
        self._apply_effects(d)
        email_events = self._email(d, today)
        clicks = self.sched["clicks"].pop(d)
        if clicks is not None:
            self.last_click_day[clicks["person"]] = d
        # Win-back treatment effect: these treated persons come back today and order (campaigns.py).
        comeback = self.sched["winback"].pop(d)
        back_today = np.zeros(pop.n, dtype=bool)
        if comeback is not None and len(comeback["person"]):
            back_today[comeback["person"]] = True
            n_back = len(comeback["person"])
            clicks = {
                k: np.concatenate([(clicks or {}).get(k, np.zeros(0, dtype=dt)), v])
                for k, dt, v in (
                    ("person", np.int64, comeback["person"]),
                    ("ms", np.int64, day0_ms + rng.integers(9 * 3_600_000, 21 * 3_600_000, n_back)),
                    ("campaign", object, np.full(n_back, "win_back", dtype=object)),
                    ("path", object, np.full(n_back, "/sale", dtype=object)),
                )
            }

        wk = WEEKDAY_FACTOR[today.weekday()]
        arrived_before = pop.arrival_day < d
        is_lead = self.lead_day >= 0
        cust = self.n_orders > 0
        age = d - pop.arrival_day
        p_visit = np.where(
            ~is_lead,
            0.3 * np.exp(-age / 14.0) + 0.01,
            np.where(
                ~cust,
                0.07 + 0.15 * np.exp(-(d - self.lead_day) / 40.0),
                np.where(self.dormant, 0.012, 0.15),
            ),
        )
        p_visit = p_visit * wk * (0.5 + pop.engagement)
        revisit = np.flatnonzero(arrived_before & (rng.random(pop.n) < p_visit))
        arrive = np.flatnonzero(pop.arrival_day == d)

        r_ch = rng.choice(len(REVISIT_CHANNEL), size=len(revisit), p=REVISIT_P)
        person = np.concatenate([arrive, revisit])
        channel = np.concatenate([pop.channel[arrive], REVISIT_CHANNEL[r_ch]])
        camp_idx = np.concatenate([pop.campaign[arrive], REVISIT_CAMPAIGN[r_ch]])
        campaign = _campaign_names(channel, camp_idx)
        landing = np.full(len(person), None, dtype=object)
        hours = rng.choice(24, size=len(person), p=HOUR_P)
        start_ms = day0_ms + hours * 3_600_000 + rng.integers(0, 3_600_000, len(person))
        if clicks is not None and len(clicks["person"]):
            person = np.concatenate([person, clicks["person"]])
            channel = np.concatenate([channel, np.full(len(clicks["person"]), EMAIL_CHANNEL)])
            campaign = np.concatenate([campaign, clicks["campaign"]])
            landing = np.concatenate([landing, clicks["path"]])
            start_ms = np.concatenate(
                [start_ms, clicks["ms"] + rng.integers(1000, 20_000, len(clicks["person"]))]
            )
        ns = len(person)
        is_arrival = np.zeros(ns, dtype=bool)
        is_arrival[: len(arrive)] = True

        # Devices: one of the person's own; shared-device members sign up on the kiosk on arrival.
        device = (rng.random(ns) * pop.n_devices[person]).astype(np.int64)
        anon_idx = person * 2 + device
        shared = (pop.shared_of[person] >= 0) & (is_arrival | (rng.random(ns) < 0.3))
        anon_idx = np.where(shared, -(1 + pop.shared_of[person]), anon_idx)
        app = (device == 1) & pop.app_device[person] & ~shared

        # One decision per person per day: the first session of the day carries sign-up/purchase.
        order = np.lexsort((start_ms, person))
        first = np.zeros(ns, dtype=bool)
        first[order] = np.r_[True, person[order][1:] != person[order][:-1]]

        known = is_lead[person]
        boost = (
            1.0
            + 2.0 * (d - self.last_click_day[person] <= 7)
            + 0.6 * (d - self.last_open_day[person] <= 7)
            + 0.5 * (channel == EMAIL_CHANNEL)
        )
        u = rng.random(ns)
        p_buy = np.where(
            ~known,
            pop.p_first_buy[person] * 0.2,
            np.where(
                ~cust[person],
                pop.p_first_buy[person],
                pop.p_repeat[person]
                * 0.85 ** (self.n_orders[person] - 1)
                * np.where(self.dormant[person], 0.15, 1.0)
                * np.where(self.bad_csat[person], 0.5, 1.0),
            ),
        )
        buy = first & ((u < np.clip(p_buy * boost, 0, 0.95)) | back_today[person])
        signup = first & ~known & (buy | (rng.random(ns) < pop.p_signup[person]) | (shared & is_arrival))
        abandon = first & ~buy & (known | signup) & (rng.random(ns) < np.where(cust[person], 0.03, 0.07))

        n_pages = 1 + rng.poisson(np.where(known, 5.0, 4.0))
        n_views = rng.poisson(np.where(buy, 2.0, 0.8 + 2.4 * pop.engagement[person]))
        # a session ends before midnight, so a day's file holds exactly that day's events
        latest = day0_ms + 86_400_000 - (n_pages + n_views + 6) * 45_000
        start_ms = np.minimum(start_ms, latest)
        up = self._upgrade_candidate(person)
        view_upgrade = np.where(cust[person] & (up >= 0) & (rng.random(ns) < 0.35), up, -1)

        # ---- state updates
        sp = person[signup]
        self.lead_day[sp] = d
        self.abandon_day[person[abandon]] = d
        buyers_rows = np.flatnonzero(buy)
        order_no = np.full(ns, -1, dtype=np.int64)
        order_no[buyers_rows] = self.next_order_no + np.arange(len(buyers_rows))
        self.next_order_no += len(buyers_rows)
        line_session, line_product, line_qty = self._basket(buyers_rows, person)
        bp = person[buyers_rows]
        self.n_orders[bp] += 1
        self.last_order_day[bp] = d
        p_drop = np.clip(pop.p_drop[bp] + 0.25 * self.bad_csat[bp], 0, 1)
        self.dormant[bp] = rng.random(len(bp)) < p_drop

        # ---- consequences on later days: refunds and tickets
        self._schedule_refunds(
            d, buyers_rows, person, order_no, start_ms, line_session, line_product, line_qty
        )
        tickets = self._ticket_requests(d, buyers_rows, person, order_no, start_ms, signup)
        refunds = self.sched["refunds"].pop(d)

        day = Day(
            d=d,
            person=person,
            anon_idx=anon_idx,
            app=app,
            start_ms=start_ms,
            channel=channel,
            campaign=campaign,
            landing=landing,
            known=known,
            signup=signup,
            buy=buy,
            abandon=abandon,
            n_pages=n_pages,
            n_views=n_views,
            view_upgrade=view_upgrade,
            order_no=order_no,
            line_session=line_session,
            line_product=line_product,
            line_qty=line_qty,
            refunds=refunds,
        )
        return day, email_events, tickets

    def _upgrade_candidate(self, person: np.ndarray) -> np.ndarray:
        """The next tier up of the best product a person owns in a random category, or -1."""
        c = self.rng.integers(0, self.owned.shape[1], len(person))
        owned = self.owned[person, c]
        return np.where(owned >= 0, self.catalog.upgrade[np.maximum(owned, 0)], -1)

    def _basket(self, rows: np.ndarray, person: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Main item (an upgrade for some returning customers) plus an optional accessory add-on."""
        rng, cat = self.rng, self.catalog
        p = person[rows]
        c = cat.draw_category(rng, len(rows))
        owned = self.owned[p, c]
        fresh = cat.draw_in_category(rng, c)
        upgrade = np.where(owned >= 0, cat.upgrade[np.maximum(owned, 0)], -1)
        u = rng.random(len(rows))
        main = np.where((upgrade >= 0) & (u < 0.5), upgrade, np.where((owned >= 0) & (u < 0.7), owned, fresh))
        better = (owned < 0) | (cat.tier[main] > cat.tier[np.maximum(owned, 0)])
        self.owned[p, c] = np.where(better, main, owned)
        add = (rng.random(len(rows)) < 0.35) & (cat.category[main] != cat.accessory)
        acc = cat.draw_in_category(rng, np.full(int(add.sum()), cat.accessory))
        main_qty = np.where(cat.category[main] == cat.accessory, rng.integers(1, 4, len(rows)), 1)
        line_session = np.concatenate([rows, rows[add]])
        line_product = np.concatenate([main, acc])
        line_qty = np.concatenate([main_qty, rng.integers(1, 3, len(acc))])
        o = np.argsort(line_session, kind="stable")
        return line_session[o], line_product[o], line_qty[o]

    def _schedule_refunds(
        self, d, buyers_rows, person, order_no, start_ms, line_session, line_product, line_qty
    ):  # noqa: ANN001
        """5% of orders come back: fully, or (with two lines) just the add-on."""
        rng = self.rng
        n = len(buyers_rows)
        refund = rng.random(n) < 0.05
        partial = rng.random(n) < 0.35
        lag = rng.integers(2, 21, n)
        row_of = np.full(len(person), -1)
        row_of[buyers_rows] = np.arange(n)
        k = row_of[line_session]
        n_lines = np.bincount(k, minlength=n)
        is_last_line = np.r_[line_session[1:] != line_session[:-1], True]
        take = refund[k] & (~(partial[k] & (n_lines[k] > 1)) | is_last_line)
        day0_ms = (self.start_ts + (d + lag[k]) * 86400) * 1000
        ms = day0_ms + rng.integers(8 * 3_600_000, 20 * 3_600_000, len(k))
        self.sched["refunds"].add(
            d + lag[k][take],
            person=person[line_session][take],
            order_no=order_no[line_session][take],
            product=line_product[take],
            qty=line_qty[take],
            ms=ms[take],
        )

    def _ticket_requests(self, d, buyers_rows, person, order_no, start_ms, signup) -> TicketRequest:  # noqa: ANN001
        """~11% of orders and ~3% of sign-ups lead to a ticket (delivery, sizing, returns, questions)."""
        rng = self.rng
        o = buyers_rows[rng.random(len(buyers_rows)) < 0.11]
        s = np.flatnonzero(signup & (order_no < 0) & (rng.random(len(person)) < 0.03))
        rows = np.concatenate([o, s])
        lag_ms = np.concatenate(
            [rng.integers(3_600_000, 14 * 86_400_000, len(o)), rng.integers(600_000, 2 * 86_400_000, len(s))]
        )
        return TicketRequest(person=person[rows], created_ms=start_ms[rows] + lag_ms, order_no=order_no[rows])

    def schedule_bad_csat(self, person: np.ndarray, ms: np.ndarray) -> None:
        self.sched["csat"].add(ms // 86_400_000 - self.start_ts // 86400, person=person)


def _campaign_names(channel: np.ndarray, camp_idx: np.ndarray) -> np.ndarray:
    width = max(len(c.campaigns) for c in CHANNELS)
    table = np.full((len(CHANNELS), width), None, dtype=object)
    for i, c in enumerate(CHANNELS):
        for j, name in enumerate(c.campaigns):
            table[i, j] = name
    return table[channel, np.minimum(camp_idx, width - 1)]
