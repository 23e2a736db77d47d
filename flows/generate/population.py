"""Who the simulated people are: identities, devices, acquisition channel and propensities.

Everything a person *is* is drawn once, up front, as arrays indexed by person; what they *do* is
decided day by day in `behaviour`. Identity is consistent across sources on purpose: the same email
appears in Segment identify traits, in SendGrid events and on the Zendesk user, and the same
anonymousId follows a device (15% of people have a second one). A couple of shared devices (kiosk,
family laptop) carry more than `max_users_per_anonymous_id` userIds so the identity guard rail has
something to catch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from flows.generate.ids import random_hex, random_uuid

FIRST = [
    "james",
    "mary",
    "john",
    "patricia",
    "robert",
    "jennifer",
    "michael",
    "linda",
    "david",
    "elizabeth",
    "william",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "daniel",
    "lisa",
    "matthew",
    "nancy",
    "anthony",
    "sandra",
    "mark",
    "ashley",
    "paul",
    "emily",
    "steven",
    "donna",
    "andrew",
    "michelle",
    "joshua",
    "carol",
    "kevin",
    "amanda",
    "brian",
    "melissa",
    "george",
    "deborah",
    "noah",
    "olivia",
    "liam",
    "emma",
    "lucas",
    "mia",
    "mateo",
    "sofia",
    "hiro",
    "yuki",
    "ana",
    "ines",
    "omar",
    "fatima",
]
LAST = [
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
    "lee",
    "perez",
    "thompson",
    "white",
    "harris",
    "sanchez",
    "clark",
    "ramirez",
    "lewis",
    "robinson",
    "walker",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "torres",
    "nguyen",
    "hill",
    "flores",
    "green",
    "adams",
    "nelson",
    "baker",
    "hall",
    "rivera",
    "campbell",
    "mitchell",
    "carter",
    "roberts",
    "kowalski",
    "novak",
    "muller",
    "rossi",
    "tanaka",
]
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "proton.me", "gmx.de"]
DOMAIN_WEIGHT = [0.42, 0.12, 0.14, 0.12, 0.08, 0.06, 0.06]


@dataclass(frozen=True)
class Channel:
    """How a visit arrives: UTM tags for paid/email traffic, a referrer for organic/social."""

    source: str | None
    medium: str | None
    campaigns: tuple[str, ...]
    referrers: tuple[str, ...]
    paid: bool
    cost_per_visit: float  # mean media cost of one landing visit (paid channels only)
    landing: str  # path of the landing page


# Acquisition channels. `newsletter/email` here is a sponsored partner newsletter (paid); our own
# SendGrid campaign clicks land with utm_source=newsletter&utm_medium=email and the campaign name.
CHANNELS: tuple[Channel, ...] = (
    Channel("google", "cpc", ("brand_search", "generic_search", "shopping_footwear"), (), True, 0.9, "/p"),
    Channel(
        "facebook",
        "paid_social",
        ("prospecting_lookalike", "spring_launch", "retargeting_cart"),
        (),
        True,
        0.6,
        "/c",
    ),
    Channel("newsletter", "email", ("partner_outdoor_digest",), (), True, 1.4, "/"),
    Channel(
        None,
        None,
        (),
        ("https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/"),
        False,
        0.0,
        "/c",
    ),
    Channel(
        None,
        None,
        (),
        ("https://www.reddit.com/r/hiking/", "https://www.instagram.com/", "https://trailblog.example.org/"),
        False,
        0.0,
        "/",
    ),
    Channel(None, None, (), (), False, 0.0, "/"),
)
CHANNEL_NAMES = (
    "google/cpc",
    "facebook/paid_social",
    "newsletter/email",
    "organic",
    "social_referral",
    "direct",
)
CHANNEL_WEIGHT = np.array([0.22, 0.17, 0.06, 0.25, 0.08, 0.22])
DIRECT = 5
ORGANIC = 3

# Busier on weekdays, quieter at the weekend (Monday first).
WEEKDAY_FACTOR = np.array([1.05, 1.1, 1.08, 1.02, 0.95, 0.78, 0.85])


@dataclass
class Population:
    n: int
    arrival_day: np.ndarray  # day index of the first visit
    channel: np.ndarray  # acquisition channel index into CHANNELS
    campaign: np.ndarray  # campaign index within the channel
    engagement: np.ndarray  # 0..1, drives visits, opens, buying
    p_signup: np.ndarray  # per session, while anonymous
    p_first_buy: np.ndarray  # per session, lead without an order
    p_repeat: np.ndarray  # per session, customer
    p_drop: np.ndarray  # chance to go dormant after each order
    p_open: np.ndarray
    p_click: np.ndarray  # given an open
    bad_address: np.ndarray  # bool: the mailbox hard-bounces
    n_devices: np.ndarray  # 1 or 2
    app_device: np.ndarray  # bool: the second device is the mobile app (sends `screen`)
    shared_member: np.ndarray  # bool: signs up on a shared device
    anon: pl.Series  # [2 * n] anonymousId per (person, device): index person * 2 + device
    shared_anon: pl.Series  # anonymousIds of the shared devices
    shared_of: np.ndarray  # per person: shared device index, -1 when none
    user_id: pl.Series
    email: pl.Series
    name: pl.Series
    phone: pl.Series  # null when the person never gave one
    zendesk_user_id: np.ndarray


def build_population(rng: np.random.Generator, n: int, days: int) -> Population:
    """Draw `n` people arriving over `days` days, weekday-seasonal and growing over time."""
    day = np.arange(days)
    # Weekday of day index d is unknown here (start date varies); behaviour re-weights by real date.
    w = 1.0 + 0.5 * day / max(days - 1, 1)
    arrival_day = np.sort(rng.choice(days, size=n, p=w / w.sum()))
    channel = rng.choice(len(CHANNELS), size=n, p=CHANNEL_WEIGHT / CHANNEL_WEIGHT.sum())
    ncamp = np.array([max(len(c.campaigns), 1) for c in CHANNELS])
    campaign = (rng.random(n) * ncamp[channel]).astype(np.int64)
    engagement = rng.beta(2.0, 3.5, size=n)
    chan_signup = np.array([1.0, 0.8, 1.4, 1.1, 0.9, 1.0])[channel]
    p_signup = np.clip(0.07 * chan_signup * (0.4 + 1.6 * engagement), 0, 0.6)
    p_first_buy = np.clip(0.03 * (0.3 + 1.8 * engagement), 0, 0.5)
    p_repeat = np.clip(rng.gamma(2.0, 0.04, size=n) * (0.5 + engagement), 0, 0.9)
    p_drop = rng.beta(2.2, 5.5, size=n)
    p_open = rng.beta(2.0, 4.0, size=n) * (0.5 + engagement)
    p_click = rng.beta(2.0, 6.0, size=n)
    bad_address = rng.random(n) < 0.025
    n_devices = np.where(rng.random(n) < 0.15, 2, 1)
    app_device = (n_devices == 2) & (rng.random(n) < 0.4)

    anon = random_uuid(rng, 2 * n)
    n_shared = 2 if n >= 60 else 0
    members_per = 7
    shared_of = np.full(n, -1, dtype=np.int64)
    if n_shared:
        members = rng.choice(n, size=n_shared * members_per, replace=False)
        shared_of[members] = np.repeat(np.arange(n_shared), members_per)
    shared_anon = random_uuid(rng, n_shared)
    user_id = random_hex(rng, n, 12)

    first = np.array(FIRST)[rng.integers(0, len(FIRST), n)]
    last = np.array(LAST)[rng.integers(0, len(LAST), n)]
    domain = np.array(DOMAINS)[rng.choice(len(DOMAINS), size=n, p=DOMAIN_WEIGHT)]
    people = pl.DataFrame(
        {"first": first, "last": last, "domain": domain, "i": np.arange(n), "k": rng.integers(1, 99, n)}
    )
    email = people.select(
        pl.concat_str(
            [
                pl.col("first"),
                pl.lit("."),
                pl.col("last"),
                pl.col("i").cast(pl.String),
                pl.lit("@"),
                pl.col("domain"),
            ]
        )
    ).to_series()
    name = people.select(
        pl.concat_str([pl.col("first").str.to_titlecase(), pl.col("last").str.to_titlecase()], separator=" ")
    ).to_series()
    digits = rng.integers(2_000_000, 9_999_999, n)
    area = rng.choice([212, 312, 415, 503, 617, 720, 206, 512], size=n)
    has_phone = rng.random(n) < 0.6
    phone = (
        pl.DataFrame({"a": area, "d": digits, "h": has_phone})
        .select(
            pl.when(pl.col("h")).then(
                pl.concat_str([pl.lit("+1"), pl.col("a").cast(pl.String), pl.col("d").cast(pl.String)])
            )
        )
        .to_series()
    )
    zendesk_user_id = 361_000_000_000 + np.arange(n, dtype=np.int64) * 13 + 7
    return Population(
        n=n,
        arrival_day=arrival_day,
        channel=channel,
        campaign=campaign,
        engagement=engagement,
        p_signup=p_signup,
        p_first_buy=p_first_buy,
        p_repeat=p_repeat,
        p_drop=p_drop,
        p_open=np.clip(p_open, 0, 0.95),
        p_click=p_click,
        bad_address=bad_address,
        n_devices=n_devices,
        app_device=app_device,
        shared_member=shared_of >= 0,
        anon=anon,
        shared_anon=shared_anon,
        shared_of=shared_of,
        user_id=user_id,
        email=email,
        name=name,
        phone=phone,
        zendesk_user_id=zendesk_user_id,
    )
