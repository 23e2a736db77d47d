"""Zendesk Support: tickets (one record per version), users and ticket_metrics, as export pages.

A ticket's life is drawn when it is created: first reply after a priority-dependent delay (chat is
faster), maybe pending, solved, a CSAT rating for about half (bad more often when slow or past the SLA),
closed four days after solving; a few are deleted as spam. Every change is a new version with a
later `updated_at`, and the incremental export returns each version, so raw keeps them all. Versions
after the end of the window are not yet known and are left out (open tickets make the backlog).
Bad ratings are handed back to the behaviour model, where they raise churn.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from flows.generate.behaviour import TicketRequest
from flows.generate.dirt import DirtCounts, Picker
from flows.generate.encode import F, obj
from flows.generate.ids import ISO_S, iso, strings
from flows.generate.population import Population
from flows.generate.writers import atomic_write

PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_P = (0.2, 0.55, 0.18, 0.07)
REPLY_MEDIAN_MIN = np.array([1600.0, 700.0, 150.0, 35.0])
SLA_MIN = np.array([2880, 1440, 240, 60])
CHANNELS = ("email", "web", "chat", "api")
CHANNEL_P = (0.45, 0.3, 0.2, 0.05)
ORDER_SUBJECTS = (
    ("Where is my order #{o}?", "shipping"),
    ("Return request for order #{o}", "returns"),
    ("Wrong size received (order #{o})", "returns"),
    ("Item arrived damaged, order #{o}", "damaged"),
    ("Invoice needed for order #{o}", "billing"),
)
PRESALE_SUBJECTS = (
    ("Question about sizing", "presale"),
    ("Do you ship to Canada?", "shipping"),
    ("Warranty question", "warranty"),
)
PAGE_SIZE = 100
BASE_URL = "https://trailhead.zendesk.com/api/v2"
AGENTS = np.array([364_100_000_001, 364_100_000_002, 364_100_000_003, 364_100_000_004], dtype=np.int64)


@dataclass
class TicketDesk:
    pop: Population
    rng: np.random.Generator
    end_ms: int
    next_id: int = 10_001
    _tickets: list[pl.DataFrame] = field(default_factory=list)
    _versions: list[pl.DataFrame] = field(default_factory=list)
    _user_seen: np.ndarray | None = None
    _users: list[pl.DataFrame] = field(default_factory=list)

    def open(self, req: TicketRequest) -> tuple[np.ndarray, np.ndarray]:
        """Create tickets and their whole timeline; returns (person, ms) of bad CSAT ratings."""
        rng, n = self.rng, len(req.person)
        if self._user_seen is None:
            self._user_seen = np.zeros(self.pop.n, dtype=bool)
        if n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        tid = self.next_id + np.arange(n)
        self.next_id += n
        prio = rng.choice(4, size=n, p=PRIORITY_P)
        chan = rng.choice(4, size=n, p=CHANNEL_P)
        created = req.created_ms
        reply_min = np.exp(rng.normal(np.log(REPLY_MEDIAN_MIN[prio]), 0.9)) * np.where(chan == 2, 0.3, 1.0)
        reply_min = np.maximum(reply_min, 1).astype(np.int64)
        replies = np.where(rng.random(n) < 0.6, 1, np.where(rng.random(n) < 0.6, 2, rng.integers(3, 6, n)))
        resolve_min = reply_min + np.exp(rng.normal(np.log(900 * replies), 1.0)).astype(np.int64) + 5
        t_reply = created + reply_min * 60_000
        t_solved = created + resolve_min * 60_000
        pending = rng.random(n) < 0.4
        t_pending = t_reply + (t_solved - t_reply) // 2
        rated = rng.random(n) < 0.55
        p_bad = 0.1 + 0.25 * (resolve_min > 3 * 1440) + 0.2 * (reply_min > SLA_MIN[prio])
        bad = rated & (rng.random(n) < p_bad)
        t_rated = t_solved + rng.integers(3_600_000, 72 * 3_600_000, n)
        t_closed = t_solved + 4 * 86_400_000
        deleted = rng.random(n) < 0.015
        t_deleted = created + rng.integers(30, 600, n) * 60_000
        is_order = req.order_no >= 0
        subj_k = rng.integers(0, 5, n)
        pre_k = rng.integers(0, 3, n)
        subject = np.where(
            is_order,
            np.array([s for s, _ in ORDER_SUBJECTS], dtype=object)[subj_k],
            np.array([s for s, _ in PRESALE_SUBJECTS], dtype=object)[pre_k],
        )
        tag = np.where(
            is_order,
            np.array([t for _, t in ORDER_SUBJECTS], dtype=object)[subj_k],
            np.array([t for _, t in PRESALE_SUBJECTS], dtype=object)[pre_k],
        )
        tickets = pl.DataFrame(
            {
                "id": tid,
                "person": req.person,
                "requester_id": self.pop.zendesk_user_id[req.person],
                "priority": pl.Series(np.array(PRIORITIES, dtype=object)[prio], dtype=pl.String),
                "channel": pl.Series(np.array(CHANNELS, dtype=object)[chan], dtype=pl.String),
                "subject": strings(subject).str.replace(
                    "{o}", pl.Series(req.order_no).cast(pl.String), literal=True
                ),
                "tag": strings(tag),
                "assignee_id": AGENTS[rng.integers(0, len(AGENTS), n)],
                "created_ms": created,
                "reply_ms": t_reply,
                "solved_ms": np.where(deleted, -1, t_solved),
                "reply_min": reply_min,
                "resolve_min": resolve_min,
                "replies": replies,
                "deleted": deleted,
            }
        )
        self._tickets.append(tickets)
        # versions: (ticket row, updated_ms, status, score)
        rows, ts, status, score = [], [], [], []

        def v(mask: np.ndarray, t: np.ndarray, st: str, sc: np.ndarray | str) -> None:
            idx = np.flatnonzero(mask)
            rows.append(idx)
            ts.append(t[idx])
            status.append(np.full(len(idx), st, dtype=object))
            score.append(np.full(len(idx), sc, dtype=object) if isinstance(sc, str) else sc[idx])

        live = ~deleted
        all_ = np.ones(n, dtype=bool)
        rating = np.where(bad, "bad", "good").astype(object)
        v(all_, created, "new", "unoffered")
        v(deleted, t_deleted, "deleted", "unoffered")
        v(live, t_reply, "open", "unoffered")
        v(live & pending, t_pending, "pending", "unoffered")
        v(live, t_solved, "solved", "offered")
        v(live & rated, t_rated, "solved", rating)
        v(live, t_closed, "closed", np.where(rated, rating, "offered").astype(object))
        r = np.concatenate(rows)
        versions = pl.DataFrame(
            {
                "row": r,
                "updated_ms": np.concatenate(ts),
                "status": strings(np.concatenate(status)),
                "score": strings(np.concatenate(score)),
            }
        ).filter(pl.col("updated_ms") < self.end_ms)
        versions = versions.with_columns(id=pl.Series(tid).gather(versions["row"])).drop("row")
        self._versions.append(versions)
        # users: a requester appears in the users export when they first contact support
        first_time = ~self._user_seen[req.person]
        new_people, first_idx = np.unique(req.person[first_time], return_index=True)
        self._user_seen[new_people] = True
        if len(new_people):
            self._users.append(
                pl.DataFrame({"person": new_people, "created_ms": created[first_time][first_idx] - 60_000})
            )
        return req.person[bad], t_rated[bad]

    # -------------------------------------------------------------- writing
    def write(self, root: Path, start: date, days: int, rate: float, counts: DirtCounts) -> tuple[int, int]:
        """Write export pages per day; returns (files, records)."""
        if not self._tickets:
            return 0, 0
        tickets = pl.concat(self._tickets)
        versions = pl.concat(self._versions).join(tickets, on="id", how="left")
        versions = versions.sort(["updated_ms", "id"])
        start_ms = _epoch_ms(start)
        picker = Picker(self.rng, versions.height, rate)
        dup = picker.pick()
        counts.add("tickets", "duplicate", len(dup))
        versions = versions.with_columns(page_day=((pl.col("updated_ms") - start_ms) // 86_400_000))
        if len(dup):
            again = versions[dup].with_columns(page_day=pl.min_horizontal(pl.col("page_day") + 1, days - 1))
            versions = pl.concat([versions, again]).sort(
                ["page_day", "updated_ms", "id"], maintain_order=True
            )
        versions = versions.with_columns(line=_ticket_json())
        users = pl.concat(self._users).sort("created_ms") if self._users else pl.DataFrame()
        users = users.with_columns(
            page_day=(pl.col("created_ms") - start_ms) // 86_400_000,
            line=_user_json(self.pop, users["person"].to_numpy()),
        )
        metrics = _metrics(tickets, self.end_ms).with_columns(
            page_day=(pl.col("updated_ms") - start_ms) // 86_400_000
        )
        files = records = 0
        for name, df in (("tickets", versions), ("users", users), ("ticket_metrics", metrics)):
            for (d,), part in df.group_by("page_day", maintain_order=True):
                day = start + timedelta(days=int(d))
                pages = _pages(part, PAGE_SIZE)
                for k, page in enumerate(pages, start=1):
                    path = root / f"{day:%Y}" / f"{day:%m}" / f"{day:%Y-%m-%d}-{name}-{k:03d}.json"
                    body = _page_body(name, page, last=k == len(pages), time_based=int(d) % 4 == 3)
                    atomic_write(path, body.encode())
                    files += 1
                    records += page.height
        return files, records


def _epoch_ms(day: date) -> int:
    return (day - date(1970, 1, 1)).days * 86_400_000


def _pages(df: pl.DataFrame, size: int) -> list[pl.DataFrame]:
    return [df.slice(i, size) for i in range(0, df.height, size)]


def _page_body(name: str, page: pl.DataFrame, last: bool, time_based: bool) -> str:
    records = "[" + page["line"].str.join(",").item() + "]"
    if name != "tickets":
        return f'{{"{name}":{records},"next_page":null,"previous_page":null,"count":{page.height}}}\n'
    last_ms = int(page["updated_ms"].max())
    last_id = int(page["id"].max())
    if time_based:
        end_time = last_ms // 1000
        nxt = f'"{BASE_URL}/incremental/tickets.json?start_time={end_time}"'
        eos = "true" if last else "false"
        return (
            f'{{"tickets":{records},"next_page":{nxt},"end_time":{end_time},"count":{page.height},'
            f'"end_of_stream":{eos}}}\n'
        )
    cursor = base64.b64encode(f"{last_ms / 1000:.1f}||{last_id}|".encode()).decode()
    eos = "true" if last else "false"
    return (
        f'{{"tickets":{records},"after_cursor":"{cursor}",'
        f'"after_url":"{BASE_URL}/incremental/tickets/cursor.json?cursor={cursor}",'
        f'"before_cursor":null,"before_url":null,"end_of_stream":{eos}}}\n'
    )


def _ticket_json() -> pl.Expr:
    c = pl.col
    at = lambda e: iso(e, ISO_S)  # noqa: E731
    return obj(
        F("url", pl.concat_str([pl.lit(f"{BASE_URL}/tickets/"), c("id").cast(pl.String), pl.lit(".json")])),
        F("id", c("id")),
        F("external_id", pl.lit(None, dtype=pl.String)),
        F("via", obj(F("channel", c("channel"))), raw=True),
        F("created_at", at(c("created_ms"))),
        F("updated_at", at(c("updated_ms"))),
        F("generated_timestamp", c("updated_ms") // 1000),
        F("type", pl.when(c("tag") == "presale").then(pl.lit("question")).otherwise(pl.lit("incident"))),
        F("subject", c("subject")),
        F("raw_subject", c("subject")),
        F("description", pl.concat_str([c("subject"), pl.lit(" - sent from the help centre.")])),
        F("priority", c("priority")),
        F("status", c("status")),
        F("recipient", pl.lit("support@shop.example.com")),
        F("requester_id", c("requester_id")),
        F("submitter_id", c("requester_id")),
        F("assignee_id", pl.when(c("status") != "new").then(c("assignee_id")), optional=False),
        F("organization_id", pl.lit(None, dtype=pl.Int64)),
        F("group_id", pl.lit(360_000_111_222)),
        F("tags", pl.concat_list([c("tag"), c("channel")])),
        F(
            "satisfaction_rating",
            obj(
                F("score", c("score")),
                F("comment", pl.when(c("score") == "bad").then(pl.lit("Took far too long.")), optional=True),
            ),
            raw=True,
        ),
    )


def _user_json(pop: Population, person: np.ndarray) -> pl.Series:
    rng_case = (person * 7919) % 20 == 0  # a few addresses typed with capitals: identity must normalise
    email = pop.email.gather(person)
    email = pl.select(
        pl.when(pl.Series(rng_case)).then(email.str.to_titlecase()).otherwise(email)
    ).to_series()
    df = pl.DataFrame(
        {
            "id": pop.zendesk_user_id[person],
            "email": email,
            "name": pop.name.gather(person),
            "phone": pop.phone.gather(person),
        }
    )
    return df.select(
        obj(
            F("id", pl.col("id")),
            F(
                "url",
                pl.concat_str([pl.lit(f"{BASE_URL}/users/"), pl.col("id").cast(pl.String), pl.lit(".json")]),
            ),
            F("name", pl.col("name")),
            F("email", pl.col("email")),
            F("phone", pl.col("phone")),
            F("role", pl.lit("end-user")),
            F("verified", pl.lit(True)),
            F("active", pl.lit(True)),
        )
    ).to_series()


def _metrics(tickets: pl.DataFrame, end_ms: int) -> pl.DataFrame:
    """ticket_metrics as of the end of the window: unknown future facts are null."""
    c = pl.col
    t = tickets.filter(~c("deleted") & (c("created_ms") < end_ms)).with_columns(
        replied=c("reply_ms") < end_ms,
        solved=(c("solved_ms") >= 0) & (c("solved_ms") < end_ms),
    )
    t = t.with_columns(
        updated_ms=pl.when(c("solved"))
        .then(c("solved_ms"))
        .when(c("replied"))
        .then(c("reply_ms"))
        .otherwise(c("created_ms"))
    )

    def minutes(expr: pl.Expr, cond: pl.Expr) -> pl.Expr:
        cal = pl.when(cond).then(expr)
        return obj(F("calendar", cal), F("business", (cal * 0.33).round(0).cast(pl.Int64)))

    line = obj(
        F(
            "url",
            pl.concat_str([pl.lit(f"{BASE_URL}/ticket_metrics/"), (c("id") + 9_000_000).cast(pl.String)]),
        ),
        F("id", c("id") + 9_000_000),
        F("ticket_id", c("id")),
        F("created_at", iso(c("created_ms"), ISO_S)),
        F("updated_at", iso(c("updated_ms"), ISO_S)),
        F("group_stations", pl.lit(1)),
        F("assignee_stations", pl.lit(1)),
        F("reopens", pl.lit(0)),
        F("replies", pl.when(c("replied")).then(c("replies")).otherwise(0)),
        F("assigned_at", pl.when(c("replied")).then(iso(c("reply_ms"), ISO_S))),
        F("solved_at", pl.when(c("solved")).then(iso(c("solved_ms"), ISO_S))),
        F("reply_time_in_minutes", minutes(c("reply_min"), c("replied")), raw=True),
        F("first_resolution_time_in_minutes", minutes(c("resolve_min"), c("solved")), raw=True),
        F("full_resolution_time_in_minutes", minutes(c("resolve_min"), c("solved")), raw=True),
    )
    return t.select("id", "updated_ms", line=line).sort(["updated_ms", "id"])
