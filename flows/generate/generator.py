"""`lifecycle generate`: orchestrates the simulation and the writers, one day at a time.

Memory is bounded by a day's activity (plus ~4 weeks of not-yet-written email events and the small
ticket/spend ledgers), never by the size of the history. Each concern draws from its own random
stream spawned from the seed, so the same arguments give byte-identical files.
"""

from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from flows.errors import LifecycleError
from flows.generate.behaviour import Simulator
from flows.generate.campaigns import DEFAULT_EFFECT, SEGMENT, WinBackCampaign
from flows.generate.catalog import load_catalog
from flows.generate.dirt import (
    DirtCounts,
    Picker,
    dirty_email_columns,
    dirty_web_columns,
    split_late_and_duplicates,
    truncate_lines,
)
from flows.generate.email_events import EmailProgramme, encode_email_lines, sg_event_ids
from flows.generate.population import build_population
from flows.generate.spend import SpendLedger, write_erasure
from flows.generate.summary import GenerateSummary
from flows.generate.tickets import TicketDesk
from flows.generate.web import WebWriter, encode_web_lines
from flows.generate.writers import DayFiles, day_path, json_array_bytes, jsonl_bytes

EMAIL_LAG_DAYS = 26  # latest SendGrid event after a send: resubscribe <= 20 days after a late open
MAX_DIRTY_RATE = 0.1


def _validate(customers: int, days: int, dirty_rate: float, start: date, today: date) -> None:
    if customers < 1:
        raise LifecycleError(f"--customers must be at least 1 (got {customers})")
    if days < 1:
        raise LifecycleError(f"--days must be at least 1 (got {days})")
    if not 0.0 <= dirty_rate <= MAX_DIRTY_RATE:
        raise LifecycleError(
            f"--dirty-rate must be between 0 and {MAX_DIRTY_RATE} (got {dirty_rate})",
            hint="it is the share of records per kind of defect; 0.01 is realistic",
        )
    if start + timedelta(days=days) > today:
        raise LifecycleError(
            f"--start {start} with --days {days} would write events after {today - timedelta(days=1)}",
            hint="generated data stays in the past; pick an earlier --start or fewer --days",
        )


def _winback_campaign(
    user_ids: list[str], start_ts: int, effect: float, share: float | None, salt: str | None
) -> WinBackCampaign | None:
    """The demo's win-back campaign with the holdout share and salt `lifecycle sync` will use.

    Share and salt default to the configured ones (segments.yml `holdout` of win_back, settings
    holdout_salt), so the simulated syncs and the real ones agree; no holdout: no campaign.
    """
    from flows.activation.config import load_config
    from flows.settings import Settings

    settings = Settings()
    if share is None:
        try:
            seg = load_config(settings.segments_file).segment(SEGMENT)
        except LifecycleError:
            return None
        share = seg.holdout
    if not share:
        return None
    if not 0.0 <= effect <= 1.0:
        raise LifecycleError(f"--winback-effect must be between 0 and 1 (got {effect})")
    return WinBackCampaign(user_ids, start_ts, share, salt or settings.holdout_salt, effect)


def generate(
    raw_dir: Path,
    *,
    customers: int,
    days: int,
    seed: int,
    start: date | None,
    dirty_rate: float,
    winback_effect: float = DEFAULT_EFFECT,
    holdout_share: float | None = None,
    holdout_salt: str | None = None,
) -> GenerateSummary:
    """Write synthetic raw files for `customers` persons over `days` days into `raw_dir`.

    `start=None` means `days` days before today (UTC): the last day written is yesterday, so nothing
    is ever in the future. Same arguments and seed => byte-identical files; file names depend only on
    the day, so re-running into the same directory overwrites instead of doubling. Files of days
    outside a new, shorter window are left as they are.
    """
    t0 = time.monotonic()
    today = datetime.now(UTC).date()
    if start is None:
        start = today - timedelta(days=days)
    _validate(customers, days, dirty_rate, start, today)
    raw_dir = Path(raw_dir)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(10)]
    r_pop, r_sim, r_email, r_web, r_tix, r_dweb, r_demail, r_spend, r_ids, r_erase = streams

    catalog = load_catalog()
    pop = build_population(r_pop, customers, days)
    start_ts = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
    end_ms = (start_ts + days * 86400) * 1000
    emailer = EmailProgramme(pop, r_email, start_ts)
    campaign = _winback_campaign(pop.user_id.to_list(), start_ts, winback_effect, holdout_share, holdout_salt)
    sim = Simulator(pop, catalog, r_sim, emailer, start, days, start_ts, campaign=campaign)
    web = WebWriter(pop, catalog, r_web)
    desk = TicketDesk(pop, r_tix, end_ms)
    spend = SpendLedger()
    counts = DirtCounts()
    email_buffer: dict[int, list[pl.DataFrame]] = defaultdict(list)

    with ThreadPoolExecutor(max_workers=2) as pool:
        web_files = DayFiles(raw_dir / "web", start, days, pool)
        email_files = DayFiles(raw_dir / "email", start, days, pool)

        def write_web(d: int, frame: pl.DataFrame) -> None:
            picker = Picker(r_dweb, frame.height, dirty_rate)
            frame = dirty_web_columns(frame, picker, counts)
            lines = encode_web_lines(frame)
            lines = truncate_lines(lines, picker, counts, "web")
            today_lines, carry = split_late_and_duplicates(lines, picker, counts, "web", d, days)
            for dd, part in carry:
                web_files.carry(dd, part)
            out = web_files.take(d, today_lines)
            web_files.write(day_path(web_files.root, start, d, ".jsonl.gz"), jsonl_bytes(out), True, len(out))

        def write_email(d: int) -> None:
            parts = email_buffer.pop(d, [])
            frame = pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()
            # some days arrive as JSONL, the rest as webhook arrays; by calendar date, so the name of a
            # given day never changes between runs with other windows
            as_jsonl = (start + timedelta(days=d)).toordinal() % 5 == 2
            if frame.height:
                frame = frame.sort(["ts", "sg_message_id", "event"], maintain_order=True)
                frame = frame.with_columns(
                    email=pop.email.gather(frame["person"]),
                    timestamp_json=pl.col("ts").cast(pl.String),
                    sg_event_id=sg_event_ids(r_ids, frame.height),
                )
                picker = Picker(r_demail, frame.height, dirty_rate)
                frame = dirty_email_columns(frame, picker, counts)
                lines = encode_email_lines(frame)
                if as_jsonl:
                    lines = truncate_lines(lines, picker, counts, "email")
                lines, carry = split_late_and_duplicates(lines, picker, counts, "email", d, days)
                for dd, part in carry:
                    email_files.carry(dd, part)
            else:
                lines = pl.Series([], dtype=pl.String)
            out = email_files.take(d, lines)
            if out.is_empty():
                return
            suffix = ".jsonl" if as_jsonl else ".json"
            body = jsonl_bytes(out) if as_jsonl else json_array_bytes(out)
            email_files.write(day_path(email_files.root, start, d, suffix), body, False, len(out))

        next_email_day = 0
        for d in range(days):
            day, email_events, requests = sim.step(d)
            bad_person, bad_ms = desk.open(requests)
            sim.schedule_bad_csat(bad_person, bad_ms)
            spend.add(d, day.channel, day.campaign)
            if email_events.height:
                ev_day = (email_events["ts"] - start_ts) // 86400
                email_events = email_events.with_columns(_d=ev_day)
                for (k,), part in email_events.group_by("_d", maintain_order=True):
                    if int(k) < days:
                        email_buffer[int(k)].append(part.drop("_d"))
            write_web(d, web.frame(day))
            while next_email_day <= d - EMAIL_LAG_DAYS:
                write_email(next_email_day)
                next_email_day += 1
        while next_email_day < days:
            write_email(next_email_day)
            next_email_day += 1
        web_files.finish()
        email_files.finish()

    t_files, t_records = desk.write(raw_dir / "tickets", start, days, dirty_rate, counts)
    s_files, s_records = spend.write(raw_dir / "spend", start, r_spend)
    erasures = write_erasure(raw_dir / "erasure", pop, sim.lead_day, end_ms, r_erase)
    assignments = campaign.write_log(raw_dir) if campaign is not None else 0

    last = days - 1
    ordered = sim.n_orders > 0
    since = last - sim.last_order_day
    funnel = {
        "visitors": int((pop.arrival_day < days).sum()),
        "leads": int((sim.lead_day >= 0).sum()),
        "customers": int(ordered.sum()),
        "repeat_2plus": int((sim.n_orders >= 2).sum()),
        "loyal_4plus": int((sim.n_orders >= 4).sum()),
        "at_risk": int((ordered & (since > 90) & (since <= 180)).sum()),
        "churned": int((ordered & (since > 180)).sum()),
    }
    return GenerateSummary(
        raw_dir=raw_dir,
        start=start,
        end=start + timedelta(days=last),
        persons=customers,
        files={
            "web": web_files.files,
            "email": email_files.files,
            "tickets": t_files,
            "spend": s_files,
            "erasure": 1,
            "sync_history": 1 if assignments else 0,
        },
        records={
            "web": web_files.records,
            "email": email_files.records,
            "tickets": t_records,
            "spend": s_records,
            "erasure": erasures,
            "sync_history": assignments,
        },
        dirty={src: dict(c) for src, c in counts.by_source.items()},
        funnel=funnel,
        seconds=time.monotonic() - t0,
    )
