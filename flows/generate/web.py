"""Segment Spec messages for one day of sessions (page/screen, track, identify, alias).

Each session becomes a short, ordered story: a landing page (the only message carrying
`context.campaign`, as analytics.js does, with the external referrer), more pages and product views,
then perhaps `Signed Up` + identify (+ alias), cart, `Checkout Started` and `Order Completed`.
Sessions on the mobile app send `screen` instead of `page`. Refunds are server-side `track` calls with
only a userId. Rows are built with np.repeat over sessions and encoded by `encode.obj` in one pass.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from flows.generate.behaviour import EMAIL_CHANNEL, Day
from flows.generate.catalog import Catalog
from flows.generate.encode import F, obj, optional_obj
from flows.generate.ids import iso, random_uuid, strings
from flows.generate.population import CHANNELS, Population

SITE = "https://shop.example.com"
STEP_MS = 45_000
PAGES = (
    "/",
    "/c/footwear",
    "/c/apparel",
    "/c/packs",
    "/c/electronics",
    "/c/accessories",
    "/sale",
    "/blog/trail-guide",
    "/blog/layering-101",
    "/about",
    "/help/returns",
    "/cart",
)
TERMS = ("trail running shoes", "rain jacket", "hiking backpack", "gps watch", "trail runner pro")
CONTENTS = ("carousel_a", "video_15s", "static_b")
UTM_SOURCE = np.array([c.source for c in CHANNELS] + ["newsletter"], dtype=object)
UTM_MEDIUM = np.array([c.medium for c in CHANNELS] + ["email"], dtype=object)
LANDING = np.array([c.landing for c in CHANNELS] + ["/"], dtype=object)


PRODUCT = pl.Struct(
    {
        "product_id": pl.String,
        "sku": pl.String,
        "name": pl.String,
        "category": pl.String,
        "price": pl.Float64,
        "quantity": pl.Int64,
    }
)
# The columns of a day's web frame (what dirt mutates and `encode_web` reads).
WEB_COLUMNS: dict[str, pl.DataType] = {
    "ms": pl.Int64,
    "messageId": pl.String,
    "timestamp": pl.String,
    "anonymousId": pl.String,
    "userId": pl.String,
    "type": pl.String,
    "event": pl.String,
    "page_path": pl.String,
    "page_referrer": pl.String,
    "is_landing": pl.Boolean,
    "utm": pl.Boolean,
    "utm_source": pl.String,
    "utm_medium": pl.String,
    "utm_campaign": pl.String,
    "utm_term": pl.String,
    "utm_content": pl.String,
    "app": pl.Boolean,
    "t_email": pl.String,
    "t_name": pl.String,
    "t_phone": pl.String,
    "t_created": pl.String,
    "previousId": pl.String,
    "product_id": pl.String,
    "sku": pl.String,
    "p_name": pl.String,
    "category": pl.String,
    "price": pl.Float64,
    "quantity": pl.Int64,
    "order_id": pl.String,
    "checkout_id": pl.String,
    "total": pl.Float64,
    "revenue": pl.Float64,
    "currency": pl.String,
    "products": pl.List(PRODUCT),
    "method": pl.String,
}


def _title(path: pl.Expr) -> pl.Expr:
    name = path.str.replace(r"^/(c|p|blog|help)/", "/").str.strip_prefix("/").str.replace_all(r"[/_-]", " ")
    name = name.str.to_titlecase()
    return (
        pl.when(path == "/")
        .then(pl.lit("Trailhead Outfitters"))
        .otherwise(pl.concat_str([name, pl.lit(" | Trailhead Outfitters")]))
    )


class WebWriter:
    """Builds the day's Segment messages as a frame of (ms, line) rows ready for dirt and writing."""

    def __init__(self, pop: Population, catalog: Catalog, rng: np.random.Generator) -> None:
        self.pop = pop
        self.cat = catalog
        self.rng = rng
        prod = catalog.frame
        self.products = pl.DataFrame(
            {
                "product": np.arange(catalog.size),
                "product_id": prod["product_id"],
                "sku": prod["sku"],
                "p_name": prod["name"],
                "category": prod["category"],
                "price": prod["price"],
            }
        )
        self.popularity = catalog.category_weight[catalog.category] * np.array(
            [{1: 0.6, 2: 0.3, 3: 0.15}.get(int(t), 0.1) for t in catalog.tier]
        )
        self.popularity = self.popularity / self.popularity.sum()
        # numpy copies of the identity columns, made once (converting 200k strings a day is costly)
        self.anon_np = pop.anon.to_numpy()
        self.shared_np = pop.shared_anon.to_numpy()
        self.user_np = pop.user_id.to_numpy()
        self.product_np = self.products["product_id"].to_numpy()

    def frame(self, day: Day) -> pl.DataFrame:
        rng = self.rng
        ns = len(day.person)
        # Referrer and UTMs of the landing page.
        ch = day.channel
        referrer = np.full(ns, "", dtype=object)
        for i, c in enumerate(CHANNELS):
            m = ch == i
            if c.referrers and m.any():
                referrer[m] = np.array(c.referrers, dtype=object)[
                    rng.integers(0, len(c.referrers), int(m.sum()))
                ]
        has_utm = np.array([c.source is not None for c in CHANNELS] + [True])[ch]
        term = np.where(ch == 0, np.array(TERMS, dtype=object)[rng.integers(0, len(TERMS), ns)], None)
        content = np.where(
            ch == 1, np.array(CONTENTS, dtype=object)[rng.integers(0, len(CONTENTS), ns)], None
        )
        content = np.where(ch == EMAIL_CHANNEL, "cta_button", content)
        landing = np.where(day.landing != None, day.landing, LANDING[ch])  # noqa: E711
        land_cat = np.array(self.cat.categories, dtype=object)[self.cat.draw_category(rng, ns)]
        land_prod = self.product_np[rng.choice(self.cat.size, size=ns, p=self.popularity)]
        landing = np.where(
            landing == "/c", "/c/" + land_cat, np.where(landing == "/p", "/p/" + land_prod, landing)
        )
        user_id = self.user_np[day.person]
        shared = day.anon_idx < 0
        anon = np.where(
            shared,
            self.shared_np[np.maximum(-day.anon_idx - 1, 0)] if len(self.shared_np) else None,
            self.anon_np[np.maximum(day.anon_idx, 0)],
        )
        sess = pl.DataFrame(
            {
                "s": np.arange(ns),
                "start_ms": day.start_ms,
                "anonymousId": strings(anon),
                "uid": strings(user_id),
                "known": day.known,
                "signup": day.signup,
                "app": day.app,
                "utm": has_utm,
                "utm_source": strings(UTM_SOURCE[ch]),
                "utm_medium": strings(UTM_MEDIUM[ch]),
                "utm_campaign": strings(day.campaign),
                "utm_term": strings(term),
                "utm_content": strings(content),
                "ext_referrer": strings(referrer),
                "landing": strings(landing),
                "signup_seq": (day.n_pages + day.n_views).astype(np.float64),
                "person": day.person,
            }
        )
        parts = [
            self._pages(day),
            self._views(day),
            self._signups(day),
            self._carts(day),
        ]
        parts = [p for p in parts if p.height]
        rows = pl.DataFrame(schema={"ms": pl.Int64})
        if parts:
            rows = pl.concat(parts, how="diagonal_relaxed").join(sess, on="s", how="left")
            rows = rows.with_columns(
                ms=(pl.col("start_ms") + (pl.col("seq") * STEP_MS).cast(pl.Int64) + pl.col("jitter")),
            ).with_columns(
                userId=pl.when(
                    pl.col("known") | (pl.col("signup") & (pl.col("seq") >= pl.col("signup_seq")))
                ).then(pl.col("uid")),
                is_landing=(pl.col("seq") == 0) & (pl.col("type") == "page"),
            )
            rows = rows.with_columns(
                type=pl.when(pl.col("app") & (pl.col("type") == "page"))
                .then(pl.lit("screen"))
                .otherwise("type"),
                page_path=pl.when(pl.col("is_landing")).then("landing").otherwise("page_path"),
            ).with_columns(
                page_referrer=pl.when(pl.col("is_landing"))
                .then("ext_referrer")
                .otherwise(pl.lit(SITE + "/")),
                previousId=pl.when(pl.col("type") == "alias").then("anonymousId"),
            )
        refunds = self._refunds(day)
        if refunds.height:
            rows = pl.concat([rows, refunds], how="diagonal_relaxed") if rows.height else refunds
        n = rows.height
        rows = rows.with_columns(
            messageId=random_uuid(rng, n),
            timestamp=iso(pl.col("ms")),
        )
        missing = [pl.lit(None, dtype=t).alias(k) for k, t in WEB_COLUMNS.items() if k not in rows.columns]
        return rows.with_columns(missing).sort(["ms", "messageId"]).select(list(WEB_COLUMNS))

    # -------------------------------------------------------------- builders
    def _pages(self, day: Day) -> pl.DataFrame:
        rng = self.rng
        s = np.repeat(np.arange(len(day.person)), day.n_pages)
        seq = _seq(day.n_pages)
        paths = np.array(PAGES, dtype=object)[rng.integers(0, len(PAGES), len(s))]
        return pl.DataFrame(
            {
                "s": s,
                "seq": seq.astype(np.float64),
                "jitter": rng.integers(0, 20_000, len(s)),
                "page_path": strings(paths),
            }
        ).with_columns(type=pl.lit("page"))

    def _views(self, day: Day) -> pl.DataFrame:
        rng = self.rng
        s = np.repeat(np.arange(len(day.person)), day.n_views)
        seq = day.n_pages[s] + _seq(day.n_views)
        prod = rng.choice(self.cat.size, size=len(s), p=self.popularity)
        up = np.flatnonzero(day.view_upgrade >= 0)
        s = np.concatenate([s, up])
        seq = np.concatenate([seq.astype(np.float64), day.n_pages[up] - 0.5])
        prod = np.concatenate([prod, day.view_upgrade[up]])
        return self._with_product(
            pl.DataFrame({"s": s, "seq": seq, "jitter": rng.integers(0, 20_000, len(s)), "product": prod})
        ).with_columns(
            type=pl.lit("track"), event=pl.lit("Product Viewed"), page_path="/p/" + pl.col("product_id")
        )

    def _with_product(self, df: pl.DataFrame) -> pl.DataFrame:
        return df.join(self.products, on="product", how="left")

    def _signups(self, day: Day) -> pl.DataFrame:
        rng, pop = self.rng, self.pop
        s = np.flatnonzero(day.signup)
        if not len(s):
            return pl.DataFrame()
        p = day.person[s]
        base = (day.n_pages + day.n_views)[s].astype(np.float64)
        created = pl.Series(day.start_ms[s] + (base * STEP_MS).astype(np.int64))
        traits = pl.DataFrame(
            {
                "s": s,
                "t_email": pop.email.gather(p),
                "t_name": pop.name.gather(p),
                "t_phone": pop.phone.gather(p),
                "t_created": pl.select(iso(pl.lit(created), "%Y-%m-%dT%H:%M:%SZ")).to_series(),
            }
        )
        signed = pl.DataFrame({"s": s, "seq": base, "event": "Signed Up", "type": "track", "method": "email"})
        ident = traits.with_columns(seq=pl.Series(base + 0.3), type=pl.lit("identify"))
        al = s[rng.random(len(s)) < 0.5]
        alias = pl.DataFrame({"s": al, "seq": (day.n_pages + day.n_views)[al] + 0.6, "type": "alias"})
        out = pl.concat([signed, ident, alias], how="diagonal_relaxed")
        # alias: previousId is the device's anonymousId, filled in after the session join
        return out.with_columns(jitter=pl.lit(0, dtype=pl.Int64), page_path=pl.lit("/signup"))

    def _carts(self, day: Day) -> pl.DataFrame:
        rng = self.rng
        buy = np.flatnonzero(day.buy)
        ab = np.flatnonzero(day.abandon)
        base = (day.n_pages + day.n_views).astype(np.float64) + 1.0
        # abandoned carts: one product added, checkout started, nothing bought
        ab_prod = rng.choice(self.cat.size, size=len(ab), p=self.popularity)
        lines = pl.DataFrame(
            {
                "s": np.concatenate([day.line_session, ab]),
                "product": np.concatenate([day.line_product, ab_prod]),
                "quantity": np.concatenate([day.line_qty, np.ones(len(ab), dtype=np.int64)]),
            }
        )
        lines = self._with_product(lines)
        checkout_ids = pl.DataFrame(
            {"s": np.concatenate([buy, ab]), "checkout_id": random_uuid(rng, len(buy) + len(ab))}
        )
        order_ids = pl.DataFrame({"s": buy, "order_id": pl.Series(day.order_no[buy]).cast(pl.String)})
        added = lines.with_columns(
            seq=pl.Series(base[lines["s"].to_numpy()] + 1.0),
            jitter=pl.lit(0, dtype=pl.Int64),
            type=pl.lit("track"),
            event=pl.lit("Product Added"),
            page_path="/p/" + pl.col("product_id"),
        )
        baskets = (
            lines.group_by("s", maintain_order=True)
            .agg(
                products=pl.struct(
                    "product_id", "sku", pl.col("p_name").alias("name"), "category", "price", "quantity"
                ),
                total=(pl.col("price") * pl.col("quantity")).sum().round(2),
            )
            .join(checkout_ids, on="s", how="left")
            .join(order_ids, on="s", how="left")
        )
        started = baskets.with_columns(
            seq=pl.Series(base[baskets["s"].to_numpy()] + 2.0),
            jitter=pl.lit(0, dtype=pl.Int64),
            type=pl.lit("track"),
            event=pl.lit("Checkout Started"),
            page_path=pl.lit("/checkout"),
            revenue=pl.col("total"),
            currency=pl.lit("USD"),
        ).drop("total")
        done = baskets.filter(pl.col("order_id").is_not_null())
        only_revenue = pl.Series(rng.random(done.height) < 0.05)
        done = done.with_columns(
            seq=pl.Series(base[done["s"].to_numpy()] + 3.0),
            jitter=pl.lit(0, dtype=pl.Int64),
            type=pl.lit("track"),
            event=pl.lit("Order Completed"),
            page_path=pl.lit("/checkout/complete"),
            revenue=pl.col("total"),
            currency=pl.lit("USD"),
        ).with_columns(total=pl.when(~only_revenue).then("total"))
        return pl.concat([added, started, done], how="diagonal_relaxed")

    def _refunds(self, day: Day) -> pl.DataFrame:
        r = day.refunds
        if r is None or not len(r["person"]):
            return pl.DataFrame()
        lines = self._with_product(
            pl.DataFrame(
                {
                    "order_no": r["order_no"],
                    "product": r["product"],
                    "quantity": r["qty"],
                    "ms": r["ms"],
                    "person": r["person"],
                }
            )
        )
        out = lines.group_by("order_no", maintain_order=True).agg(
            products=pl.struct(
                "product_id", "sku", pl.col("p_name").alias("name"), "category", "price", "quantity"
            ),
            total=(pl.col("price") * pl.col("quantity")).sum().round(2),
            ms=pl.col("ms").first(),
            person=pl.col("person").first(),
        )
        return out.with_columns(
            userId=self.pop.user_id.gather(out["person"]),
            order_id=pl.col("order_no").cast(pl.String),
            type=pl.lit("track"),
            event=pl.lit("Order Refunded"),
            currency=pl.lit("USD"),
            is_landing=pl.lit(False),
            utm=pl.lit(False),
            app=pl.lit(False),
        ).drop("order_no", "person")


def _seq(counts: np.ndarray) -> np.ndarray:
    """0..k-1 within each group of a np.repeat."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - starts


LIBRARY_WEB = '{"name":"analytics.js","version":"5.2.0"}'
LIBRARY_APP = '{"name":"analytics-ios","version":"4.1.8"}'
APP_CONTEXT = '{"name":"Trailhead","version":"3.9.0","build":"390"}'
DEVICE_CONTEXT = '{"type":"ios","manufacturer":"Apple"}'


def encode_web_lines(df: pl.DataFrame) -> pl.Series:
    """Segment message JSON for every row of a `WebWriter.frame` (after dirt), in row order.

    Rows are encoded per (type, event, app) group: within a group most fields are either always
    present or always absent, so they merge into one `json_encode` pass instead of one per field.
    """
    if df.is_empty():
        return pl.Series("line", [], dtype=pl.String)
    df = df.with_row_index("_row")
    parts = [
        part.select("_row", line=_encode_group(part))
        for _, part in df.group_by(["type", "event", "app"], maintain_order=True)
    ]
    return pl.concat(parts).sort("_row")["line"]


def _encode_group(df: pl.DataFrame) -> pl.Expr:
    c = pl.col
    h = df.height
    nulls = df.null_count().row(0, named=True)
    kind, app = df["type"][0], bool(df["app"][0])
    is_page = kind in ("page", "screen")

    def col(key: str, name: str) -> F | None:
        """A plain column: left out when null everywhere, optional only when null somewhere."""
        n = nulls[name]
        return None if n == h else F(key, c(name), optional=n > 0)

    def o(*fields: F | None) -> pl.Expr:
        return obj(*[f for f in fields if f is not None])

    has_page = not app and nulls["page_path"] < h
    page = (
        F(
            "page",
            o(
                F("path", c("page_path")),
                F("referrer", c("page_referrer")),
                F("title", _title(c("page_path"))),
                F("url", pl.lit(SITE) + c("page_path")),
            ),
            optional=nulls["page_path"] > 0,
            raw=True,
        )
        if has_page
        else None
    )
    campaign = None
    if is_page and df["is_landing"].any():
        campaign = F(
            "campaign",
            optional_obj(
                c("is_landing") & c("utm"),
                F("source", c("utm_source")),
                F("medium", c("utm_medium")),
                F("name", c("utm_campaign")),
                F("term", c("utm_term"), optional=True),
                F("content", c("utm_content"), optional=True),
            ),
            optional=True,
            raw=True,
        )
    context = o(
        F("library", pl.lit(LIBRARY_APP if app else LIBRARY_WEB), raw=True),
        F("app", pl.lit(APP_CONTEXT), raw=True) if app else None,
        F("device", pl.lit(DEVICE_CONTEXT), raw=True) if app else None,
        page,
        campaign,
        F("locale", pl.lit("en-US")),
    )
    props = None
    if kind in ("page", "screen", "track"):
        props = o(
            F("path", c("page_path")) if is_page and not app else None,
            F("title", _title(c("page_path"))) if is_page else None,
            F("url", pl.lit(SITE) + c("page_path")) if is_page and not app else None,
            None if is_page else col("method", "method"),
            None if is_page else col("checkout_id", "checkout_id"),
            None if is_page else col("order_id", "order_id"),
            None if is_page else col("product_id", "product_id"),
            None if is_page else col("sku", "sku"),
            None if is_page else col("name", "p_name"),
            None if is_page else col("category", "category"),
            None if is_page else col("price", "price"),
            col("quantity", "quantity") if df["event"][0] == "Product Added" else None,
            None if is_page else col("total", "total"),
            None if is_page else col("revenue", "revenue"),
            None if is_page else col("currency", "currency"),
            None if is_page else col("products", "products"),
        )
    traits = None
    if kind == "identify":
        traits = o(
            col("email", "t_email"),
            col("name", "t_name"),
            col("phone", "t_phone"),
            col("createdAt", "t_created"),
        )
    event = df["event"][0]
    channel = "mobile" if app else "server" if event == "Order Refunded" else "client"
    return o(
        col("anonymousId", "anonymousId"),
        col("userId", "userId"),
        col("messageId", "messageId"),
        F("type", c("type")),
        col("event", "event"),
        F("name", _title(c("page_path")).str.split(" | ").list.first()) if is_page else None,
        col("previousId", "previousId") if kind == "alias" else None,
        col("timestamp", "timestamp"),
        F("channel", pl.lit(channel)),
        F("context", context, raw=True),
        F("properties", props, raw=True) if props is not None else None,
        F("traits", traits, raw=True) if traits is not None else None,
    )
