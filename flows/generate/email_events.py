"""SendGrid Event Webhook events for our own email programme.

Campaigns go to leads and customers: a weekly newsletter (Tuesdays), a promotion every other Friday
to customers and engaged leads, and two automations that SendGrid tags only with `category`: a
welcome mail the day after sign-up (category as a string) and an abandoned-cart mail the day after a
checkout without an order (category as an array). Each send walks the real event chain: processed,
then dropped (suppressed address), bounce (hard `bounce`, or `blocked`), deferred then delivered, or
delivered; then opens, clicks, unsubscribes, spam reports and group (un)subscribes. Clicks and opens
are returned to the behaviour model, because engagement is what raises the chance to buy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from flows.generate.encode import F, obj
from flows.generate.ids import random_b64, random_hex, strings
from flows.generate.population import Population

NEWSLETTER_GROUP = 4242
PROMOS = (
    "Upgrade Week: Footwear",
    "Storm Season Shells",
    "Pack Your Weekend",
    "Gear Up Sale",
    "New Arrivals",
    "Members Early Access",
)
USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36",
)
SITE = "https://shop.example.com"
LINK_PATHS = ("/", "/c/footwear", "/c/apparel", "/c/packs", "/p/P102", "/p/P202", "/sale")


@dataclass
class Sends:
    """One batch: a campaign or an automation's mails for today (campaign fields are per batch)."""

    person: np.ndarray
    ts0: np.ndarray  # unix seconds of `processed`
    campaign_id: int | None  # None for automations (SendGrid then only sends `category`)
    campaign_name: str  # the name, or the category for automations
    category_json: str | None  # raw JSON of `category` (string or array), automations only
    open_mult: float
    newsletter: bool

    @property
    def slug(self) -> str:
        """utm_campaign of tracked links."""
        keep = "".join(ch if ch.isalnum() or ch == " " else "" for ch in self.campaign_name.lower())
        return "_".join(keep.split())


@dataclass
class EmailOutcome:
    """What today's sends mean for behaviour (each row is applied on its own day)."""

    clicks: dict[str, np.ndarray]  # person, ms, campaign (object)
    opens: dict[str, np.ndarray]  # person, day
    suppress: dict[str, np.ndarray]  # person, day
    group_unsub: dict[str, np.ndarray]  # person, day
    group_resub: dict[str, np.ndarray]  # person, day
    events: pl.DataFrame  # SendGrid rows, any future day


def _empty(*names: str) -> dict[str, np.ndarray]:
    return {n: np.zeros(0, dtype=np.int64) for n in names}


class EmailProgramme:
    def __init__(self, pop: Population, rng: np.random.Generator, start_ts: int) -> None:
        self.pop = pop
        self.rng = rng
        self.start_ts = start_ts
        self.promo_count = 0
        self.newsletter_count = 0

    def plan(
        self,
        d: int,
        weekday: int,
        iso_week: int,
        lead_day: np.ndarray,
        n_orders: np.ndarray,
        abandon_day: np.ndarray,
        last_order_day: np.ndarray,
        group_unsub: np.ndarray,
    ) -> list[Sends]:
        pop, rng = self.pop, self.rng
        day0 = self.start_ts + d * 86400
        out: list[Sends] = []
        leads = (lead_day >= 0) & (lead_day < d)
        if weekday == 1:  # Tuesday newsletter to every lead not out of the newsletter group
            who = np.flatnonzero(leads & ~group_unsub)
            self.newsletter_count += 1
            cid = 20_000 + self.newsletter_count
            name = f"Trail Notes #{self.newsletter_count}"
            out.append(self._campaign(who, day0, cid, name, 1.0, newsletter=True))
        if weekday == 4 and iso_week % 2 == 0:  # fortnightly promotion
            who = np.flatnonzero(leads & ((n_orders > 0) | (pop.engagement > 0.45)))
            self.promo_count += 1
            cid = 30_000 + self.promo_count
            name = f"{PROMOS[(self.promo_count - 1) % len(PROMOS)]} {self.promo_count}"
            out.append(self._campaign(who, day0, cid, name, 1.2, newsletter=False))
        welcome = np.flatnonzero((lead_day == d - 1) & (lead_day >= 0))
        if len(welcome):
            ts0 = day0 + rng.integers(0, 86_000, len(welcome))
            out.append(Sends(welcome, ts0, None, "welcome", '"welcome"', 1.6, False))
        cart = np.flatnonzero((abandon_day == d - 1) & (last_order_day < d - 1) & (lead_day >= 0))
        if len(cart):
            ts0 = day0 + rng.integers(0, 86_000, len(cart))
            out.append(
                Sends(cart, ts0, None, "abandoned_cart", '["abandoned_cart","automation"]', 1.4, False)
            )
        return out

    def _campaign(
        self, who: np.ndarray, day0: int, cid: int, name: str, mult: float, newsletter: bool
    ) -> Sends:
        ts0 = day0 + 8 * 3600 + self.rng.integers(0, 7200, len(who))
        return Sends(who, ts0, cid, name, None, mult, newsletter)

    def simulate(self, sends: list[Sends], suppressed: np.ndarray, hard_bounced: np.ndarray) -> EmailOutcome:
        """Turn today's sends into SendGrid events and engagement signals (vectorised per batch)."""
        parts: list[pl.DataFrame] = []
        clicks: list[dict[str, np.ndarray]] = []
        opens: list[dict[str, np.ndarray]] = []
        supp: list[dict[str, np.ndarray]] = []
        gun: list[dict[str, np.ndarray]] = []
        gre: list[dict[str, np.ndarray]] = []
        for s in sends:
            if len(s.person):
                self._one_batch(s, suppressed, hard_bounced, parts, clicks, opens, supp, gun, gre)

        def cat(chunks: list[dict[str, np.ndarray]], *names: str) -> dict[str, np.ndarray]:
            if not chunks:
                return _empty(*names)
            return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}

        events = pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()
        out = EmailOutcome(
            clicks=cat(clicks, "person", "ms", "campaign", "path"),
            opens=cat(opens, "person", "day"),
            suppress=cat(supp, "person", "day"),
            group_unsub=cat(gun, "person", "day"),
            group_resub=cat(gre, "person", "day"),
            events=events,
        )
        return out

    def _one_batch(
        self,
        s: Sends,
        suppressed: np.ndarray,
        hard_bounced: np.ndarray,
        parts: list[pl.DataFrame],
        clicks: list[dict[str, np.ndarray]],
        opens: list[dict[str, np.ndarray]],
        supp: list[dict[str, np.ndarray]],
        gun: list[dict[str, np.ndarray]],
        gre: list[dict[str, np.ndarray]],
    ) -> None:
        pop, rng = self.pop, self.rng
        # Lists usually leave suppressed addresses out; when one slips in, SendGrid drops it.
        slipped = rng.random(len(s.person)) < 0.3
        attempt = ~suppressed[s.person] | slipped
        p = s.person[attempt]
        s_ts0 = s.ts0[attempt]
        n = len(p)
        if n == 0:
            return
        msg_id = _message_ids(rng, n)

        specs: list[tuple[np.ndarray, str, np.ndarray, dict[str, object]]] = []

        def frame(mask: np.ndarray, event: str, ts: np.ndarray, **extra: object) -> None:
            """Queue one event type for the rows in `mask`; built into one frame per batch below."""
            idx = np.flatnonzero(mask)
            if len(idx):
                specs.append(
                    (
                        idx,
                        event,
                        ts[idx],
                        {k: v[idx] if isinstance(v, np.ndarray) else v for k, v in extra.items()},
                    )
                )

        ts0 = s_ts0.astype(np.int64)
        frame(np.ones(n, bool), "processed", ts0)
        sup = suppressed[p]
        drop = sup
        reasons = np.where(hard_bounced[p], "Bounced Address", "Unsubscribed Address").astype(object)
        frame(drop, "dropped", ts0 + rng.integers(1, 5, n), reason=reasons)
        live = ~sup
        hard = live & pop.bad_address[p]
        frame(
            hard,
            "bounce",
            ts0 + rng.integers(2, 60, n),
            type="bounce",
            status="5.1.1",
            reason="550 5.1.1 The email account that you tried to reach does not exist.",
        )
        blocked = live & ~hard & (rng.random(n) < 0.005)
        frame(
            blocked,
            "bounce",
            ts0 + rng.integers(2, 60, n),
            type="blocked",
            status="4.0.0",
            reason="550 Message rejected due to local policy",
        )
        delivered = live & ~hard & ~blocked
        deferred = delivered & (rng.random(n) < 0.03)
        t_def = ts0 + rng.integers(30, 600, n)
        frame(deferred, "deferred", t_def, response="400 try again later", attempt="1")
        t_del = np.where(deferred, t_def + rng.integers(300, 3600, n), ts0 + rng.integers(1, 20, n))
        frame(delivered, "delivered", t_del, response="250 OK")
        ua = np.array(USER_AGENTS, dtype=object)[rng.integers(0, len(USER_AGENTS), n)]
        ip = np.array([f"203.0.113.{k}" for k in range(1, 255)], dtype=object)[rng.integers(0, 254, n)]
        opened = delivered & (rng.random(n) < np.clip(pop.p_open[p] * s.open_mult, 0, 0.95))
        t_open = t_del + np.minimum(rng.exponential(5 * 3600, n), 4 * 86400).astype(np.int64) + 1
        frame(opened, "open", t_open, useragent=ua, ip=ip)
        reopen = opened & (rng.random(n) < 0.25)
        t_reopen = t_open + np.minimum(rng.exponential(10 * 3600, n), 3 * 86400).astype(np.int64) + 1
        frame(reopen, "open", t_reopen, useragent=ua, ip=ip)
        clicked = opened & (rng.random(n) < np.clip(pop.p_click[p] * s.open_mult, 0, 0.9))
        t_click = t_open + rng.integers(10, 900, n)
        paths = np.array(LINK_PATHS, dtype=object)[rng.integers(0, len(LINK_PATHS), n)]
        url = (SITE + paths + f"?utm_source=newsletter&utm_medium=email&utm_campaign={s.slug}").astype(object)
        frame(clicked, "click", t_click, useragent=ua, ip=ip, url=url)
        unsub = delivered & (rng.random(n) < np.where(opened, 0.006, 0.002))
        t_unsub = np.where(opened, t_open, t_del) + rng.integers(20, 3600, n)
        frame(unsub, "unsubscribe", t_unsub)
        spam = delivered & ~unsub & (rng.random(n) < 0.0008)
        t_spam = t_del + rng.integers(600, 86400, n)
        frame(spam, "spamreport", t_spam)
        g_un = delivered & ~unsub & ~spam & (rng.random(n) < (0.003 if s.newsletter else 0.0))
        t_gun = t_del + rng.integers(60, 7200, n)
        frame(g_un, "group_unsubscribe", t_gun, asm_group_id=NEWSLETTER_GROUP, useragent=ua, ip=ip)
        g_re = g_un & (rng.random(n) < 0.3)
        t_gre = t_gun + rng.integers(2 * 86400, 20 * 86400, n)
        frame(g_re, "group_resubscribe", t_gre, asm_group_id=NEWSLETTER_GROUP, useragent=ua, ip=ip)

        parts.append(_build_batch(specs, p, msg_id, s))
        day = lambda t: (t - self.start_ts) // 86400  # noqa: E731
        clicks.append(
            {
                "person": p[clicked],
                "ms": t_click[clicked] * 1000,
                "campaign": np.full(int(clicked.sum()), s.slug, dtype=object),
                "path": paths[clicked],
            }
        )
        opens.append({"person": p[opened], "day": day(t_open[opened])})
        for m, t in ((hard, ts0), (unsub, t_unsub), (spam, t_spam)):
            supp.append({"person": p[m], "day": day(t[m])})
        gun.append({"person": p[g_un], "day": day(t_gun[g_un])})
        gre.append({"person": p[g_re], "day": day(t_gre[g_re])})


def _build_batch(
    specs: list[tuple[np.ndarray, str, np.ndarray, dict[str, object]]],
    p: np.ndarray,
    msg_id: pl.Series,
    s: Sends,
) -> pl.DataFrame:
    """One frame for all of a batch's events (few polars calls per batch, not per event type)."""
    idx = np.concatenate([x[0] for x in specs])
    sizes = [len(x[0]) for x in specs]
    total = len(idx)
    cols: dict[str, object] = {
        "person": p[idx],
        "ts": np.concatenate([x[2] for x in specs]).astype(np.int64),
        "sg_message_id": msg_id.gather(idx),
        "event": strings(np.repeat(np.array([x[1] for x in specs], dtype=object), sizes)),
    }
    keys = sorted({k for x in specs for k in x[3]})
    offsets = np.cumsum([0, *sizes])
    for k in keys:
        values = np.full(total, None, dtype=object)
        for (_, _, _, extra), lo, hi in zip(specs, offsets[:-1], offsets[1:], strict=True):
            if k in extra:
                values[lo:hi] = extra[k]
        dtype = pl.Int64 if k == "asm_group_id" else pl.String
        cols[k] = pl.Series(values.tolist(), dtype=dtype)
    return pl.DataFrame(cols).with_columns(
        campaign_id=pl.lit(s.campaign_id, dtype=pl.Int64),
        campaign_name=pl.lit(s.campaign_name if s.campaign_id is not None else None, dtype=pl.String),
        category_json=pl.lit(s.category_json, dtype=pl.String),
    )


def _message_ids(rng: np.random.Generator, n: int) -> pl.Series:
    df = pl.DataFrame(
        {"a": random_hex(rng, n, 11), "b": random_hex(rng, n, 4), "k": rng.integers(1000, 9999, n)}
    )
    return df.select(
        pl.concat_str(
            [
                pl.col("a"),
                pl.lit(".filterdrecv-"),
                pl.col("k").cast(pl.String),
                pl.lit("."),
                pl.col("b"),
                pl.lit(".0"),
            ]
        )
    ).to_series()


def sg_event_ids(rng: np.random.Generator, n: int) -> pl.Series:
    return random_b64(rng, n)


def encode_email_lines(df: pl.DataFrame) -> pl.Series:
    """SendGrid event JSON for every row (after dirt), in row order.

    Encoded per (event, campaign kind) group, where optional fields are either always or never
    present, so most fields merge into one `json_encode` pass.
    """
    if df.is_empty():
        return pl.Series("line", [], dtype=pl.String)
    df = df.with_row_index("_row").with_columns(_auto=pl.col("campaign_id").is_null())
    parts = [
        part.select("_row", line=_encode_group(part))
        for _, part in df.group_by(["event", "_auto"], maintain_order=True)
    ]
    return pl.concat(parts).sort("_row")["line"]


def _encode_group(df: pl.DataFrame) -> pl.Expr:
    c = pl.col
    h = df.height
    nulls = df.null_count().row(0, named=True)

    def col(key: str, name: str, raw: bool = False) -> F | None:
        n = nulls.get(name, h)
        return None if n == h else F(key, c(name), optional=n > 0, raw=raw)

    fields = [
        col("email", "email"),
        col("timestamp", "timestamp_json", raw=True),
        F(
            "smtp-id",
            pl.concat_str([pl.lit("<"), c("sg_message_id").str.slice(0, 22), pl.lit("@ismtpd-555>")]),
        ),
        col("event", "event"),
        col("category", "category_json", raw=True),
        col("sg_event_id", "sg_event_id"),
        F("sg_message_id", c("sg_message_id")),
        col("marketing_campaign_id", "campaign_id"),
        col("marketing_campaign_name", "campaign_name"),
        col("response", "response"),
        col("attempt", "attempt"),
        col("type", "type"),
        col("status", "status"),
        col("reason", "reason"),
        col("useragent", "useragent"),
        col("ip", "ip"),
        col("url", "url"),
        col("asm_group_id", "asm_group_id"),
    ]
    return obj(*[f for f in fields if f is not None])
