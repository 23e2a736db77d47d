"""Who must never be in an audience (SPEC section 8), as SQL the audience query anti-joins.

Suppression is enforced here, in Python-built SQL at audience time, for every segment and every
destination, instead of trusting each segment's model or filter: a careless `filter: "true"` must not
leak an unsubscribed or erased address. It fails closed: if a suppression source is missing, no
audience is computed at all.

Addresses are compared in canonical form (trimmed, lower-case, dots removed from gmail.com /
googlemail.com local parts), the same normalisation the ads destination hashes. Canonicalising both
sides can only match more addresses than an exact compare, never fewer, so `J.Doe@Gmail.com` erased
also removes `jdoe@gmail.com`.
"""

from __future__ import annotations

from typing import Any

from flows.activation.config import ConfigError

SUPPRESSIONS_RELATION = "intermediate.int_email_suppressions"
ERASURE_RELATION = "raw.erasure_requests"
IDENTITY_RELATION = "intermediate.int_identity_map"
GMAIL_DOMAINS = ("gmail.com", "googlemail.com")


def canonical_email_sql(expr: str) -> str:
    """SQL for the canonical form of an email expression (NULL stays NULL)."""
    e = f"lower(trim({expr}))"
    domains = ", ".join(f"'{d}'" for d in GMAIL_DOMAINS)
    return (
        f"case when split_part({e}, '@', 2) in ({domains}) "
        f"then replace(split_part({e}, '@', 1), '.', '') || '@' || split_part({e}, '@', 2) "
        f"else {e} end"
    )


def _exists(con: Any, relation: str) -> bool:
    schema, name = relation.split(".", 1)
    rows = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchall()
    return bool(rows[0][0])


def _columns(con: Any, relation: str) -> set[str]:
    schema, name = relation.split(".", 1)
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchall()
    return {r[0] for r in rows}


def suppressed_emails_sql(con: Any, person_relation: str) -> str:
    """A query with one column `email_key`: every canonical address that must not be contacted.

    Sources: the email suppression model (unsubscribed unless resubscribed later, hard bounces, any
    drop, spam reports), erasure requests, and the person table's own `is_email_suppressed` flag as
    belt and braces. Raises ConfigError when the suppression model is missing (fail closed).
    """
    if not _exists(con, SUPPRESSIONS_RELATION):
        raise ConfigError(
            f"{SUPPRESSIONS_RELATION} does not exist, so suppression cannot be applied",
            hint="run `lifecycle build`; no audience is computed without it",
        )
    parts = [f"select {canonical_email_sql('email')} as email_key from {SUPPRESSIONS_RELATION}"]
    if _exists(con, ERASURE_RELATION):
        parts.append(f"select {canonical_email_sql('email')} from {ERASURE_RELATION}")
    if "is_email_suppressed" in _columns(con, person_relation):
        parts.append(
            f"select {canonical_email_sql('email')} from {person_relation} "
            "where is_email_suppressed and email is not null"
        )
    return "\nunion\n".join(parts)


def person_emails_sql(con: Any, person_relation: str) -> str:
    """A query (person_id, email_key) over every address known for a person.

    A person is left out when ANY of their addresses is suppressed, not only the one exported: an
    erasure request or unsubscribe from a second address still covers the person.
    """
    parts = [
        f"select person_id, {canonical_email_sql('email')} as email_key from {person_relation} "
        "where email is not null"
    ]
    if _exists(con, IDENTITY_RELATION):
        parts.append(
            f"select person_id, {canonical_email_sql('identifier_value')} from {IDENTITY_RELATION} "
            "where identifier_type = 'email'"
        )
    return "\nunion\n".join(parts)


def support_exclusion_sql(person_alias: str, as_of_sql: str, bad_csat_days: int) -> str:
    """Boolean SQL: true when the person has an open high/urgent ticket or a recent bad CSAT."""
    p = person_alias
    return (
        f"(coalesce({p}.open_high_urgent_tickets, 0) > 0 "
        f"or ({p}.last_bad_csat_at is not null "
        f"and {p}.last_bad_csat_at >= {as_of_sql} - to_days({int(bad_csat_days)})))"
    )
