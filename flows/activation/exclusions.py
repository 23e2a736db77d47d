"""Why persons of a segment were left out of its audience: counts by reason, for the manifest.

`audiences.py` decides who is in an audience; this module only explains the difference, so it never
changes who is sent. It re-reads the same relations (the segment's model or filter, the person
table, the email suppression model, erasure requests, the identity map) in one set-based query:

- the candidates are the segment's persons before suppression;
- a candidate missing from the computed audience is "left out";
- each left-out person is counted under EVERY reason that holds for it (one person can be both
  unsubscribed and bounced), so the reasons can add up to more than `total`:
  unsubscribed, bounced (hard bounce or any drop), spam_report, erased, no_email, open_ticket and
  bad_csat (the last two only for segments with `exclude_support_issues`), holdout (held out of
  the segment's sends to measure lift, flows/activation/holdouts.py);
- `duplicate_address` counts persons left out only because another person in the audience has the
  same address (one message per address); `other` is whatever remains (for example a
  group-specific suppression), so `total` is always exact.
A person's reasons come from any of its addresses, as suppression does.
"""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

from flows.activation.audiences import PERSON_RELATION, dbt_var
from flows.activation.config import SegmentConfig, relation_columns
from flows.activation.state import query_frame, registered
from flows.activation.suppression import (
    ERASURE_RELATION,
    SUPPRESSIONS_RELATION,
    canonical_email_sql,
    person_emails_sql,
)
from flows.warehouse import relation_exists

REASONS = (
    "unsubscribed",
    "bounced",
    "spam_report",
    "erased",
    "no_email",
    "open_ticket",
    "bad_csat",
    "holdout",
    "duplicate_address",
    "other",
)


def _candidates_sql(seg: SegmentConfig) -> str:
    if seg.model:
        return (
            f"select distinct p.person_id, p.email from {seg.relation} as m "
            f"inner join {PERSON_RELATION} as p using (person_id)"
        )
    return f"select distinct p.person_id, p.email from {PERSON_RELATION} as p where ({seg.filter})"


def left_out_counts(
    con: duckdb.DuckDBPyConnection,
    seg: SegmentConfig,
    audience: pl.DataFrame,
    held_out: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """{"candidates": n, "total": n, "by_reason": {reason: persons}} for one segment.

    `audience` is what is sent; `held_out` (person_id) the persons its holdout kept out of it.
    """
    person_cols = set(relation_columns(con, PERSON_RELATION))
    reasons_sql = [
        "select person_id, 'no_email' as reason from left_out where email is null or trim(email) = ''"
    ]
    held_ids = (held_out if held_out is not None else pl.DataFrame({"person_id": []})).select(
        pl.col("person_id").cast(pl.Utf8)
    )
    reasons_sql.append(
        "select person_id, 'holdout' from left_out "
        "where cast(person_id as varchar) in (select person_id from __lifecycle_held_out)"
    )
    sup_cols = set(relation_columns(con, SUPPRESSIONS_RELATION))
    if "suppression_reason" in sup_cols:
        reason_map = {
            "unsubscribed": "%unsubscribe%",
            "bounced": "%bounce%",
            "spam_report": "%spam%",
            "erased": "%erasure%",
        }
        cases = "\n".join(
            f"select person_id, '{name}' from flagged where suppression_reason like '{pattern}'"
            for name, pattern in reason_map.items()
        ).replace("\nselect", "\nunion all select")
        dropped = (
            "union all select person_id, 'bounced' from flagged where suppression_reason like '%dropped%'"
        )
        reasons_sql.append(
            f"""select * from (
                with flagged as (
                    select distinct pe.person_id, s.suppression_reason
                    from person_emails as pe
                    inner join {SUPPRESSIONS_RELATION} as s on {canonical_email_sql("s.email")} = pe.email_key
                    where pe.person_id in (select person_id from left_out)
                )
                {cases}
                {dropped}
            )"""
        )
    if relation_exists(con, ERASURE_RELATION):
        reasons_sql.append(
            f"select pe.person_id, 'erased' from person_emails as pe inner join {ERASURE_RELATION} as e "
            f"on {canonical_email_sql('e.email')} = pe.email_key "
            "where pe.person_id in (select person_id from left_out)"
        )
    if (
        seg.exclude_support_issues
        and {"open_high_urgent_tickets", "last_bad_csat_at", "as_of"} <= person_cols
    ):
        days = int(dbt_var("bad_csat_suppression_days"))
        as_of_sql = f"(select max(as_of) from {PERSON_RELATION})"
        reasons_sql.append(
            f"select p.person_id, 'open_ticket' from {PERSON_RELATION} as p "
            "where p.person_id in (select person_id from left_out) "
            "and coalesce(p.open_high_urgent_tickets, 0) > 0"
        )
        reasons_sql.append(
            f"select p.person_id, 'bad_csat' from {PERSON_RELATION} as p "
            "where p.person_id in (select person_id from left_out) and p.last_bad_csat_at is not null "
            f"and p.last_bad_csat_at >= {as_of_sql} - to_days({days})"
        )
    kept = audience.select(pl.col("person_id").cast(pl.Utf8), pl.col("email").cast(pl.Utf8))
    with registered(con, "__lifecycle_kept", kept), registered(con, "__lifecycle_held_out", held_ids):
        rows = query_frame(
            con,
            f"""
            with candidates as ({_candidates_sql(seg)}),
            person_emails as ({person_emails_sql(con, PERSON_RELATION)}),
            left_out as (
                select c.person_id, any_value(c.email) as email
                from candidates as c
                where cast(c.person_id as varchar) not in (select person_id from __lifecycle_kept)
                group by c.person_id
            ),
            reasons as ({" union all ".join(reasons_sql)}),
            explained as (select distinct person_id, reason from reasons),
            unexplained as (
                select l.person_id, l.email from left_out as l
                where l.person_id not in (select person_id from explained)
            ),
            rest as (
                select person_id,
                    case when {canonical_email_sql("email")} in (
                        select {canonical_email_sql("email")} from __lifecycle_kept
                    ) then 'duplicate_address' else 'other' end as reason
                from unexplained
            ),
            everything as (select * from explained union all select * from rest)
            select reason, count(distinct person_id) as persons
            from everything
            group by reason
            """,
        )
        totals = query_frame(
            con,
            f"""
            with candidates as ({_candidates_sql(seg)})
            select count(distinct person_id) as candidates,
                count(distinct person_id) filter (
                    where cast(person_id as varchar) not in (select person_id from __lifecycle_kept)
                ) as total
            from candidates
            """,
        )
    by_reason = {r: 0 for r in REASONS}
    for reason, persons in zip(rows["reason"].to_list(), rows["persons"].to_list(), strict=True):
        by_reason[reason] = int(persons)
    return {
        "candidates": int(totals["candidates"][0]),
        "total": int(totals["total"][0]),
        "by_reason": by_reason,
        "note": "a person is counted under every reason that holds, so reasons may sum to more than total",
    }
