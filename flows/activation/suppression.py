"""Who must never be in an audience (SPEC section 8), as SQL the audience query anti-joins.

Suppression is enforced here, in Python-built SQL at audience time, for every segment and every
destination, instead of trusting each segment's model or filter: a careless `filter: "true"` must not
leak an unsubscribed or erased address. It fails closed: if a suppression source is missing, no
audience is computed at all.

Addresses are compared by their match key (flows/email_rule.py: trimmed, lower-case, valid, dots
removed from gmail.com / googlemail.com local parts), the same key the ads destination hashes and
the dbt consent models store. Canonicalising both sides can only match more addresses than an exact
compare, never fewer, so `J.Doe@Gmail.com` erased also removes `jdoe@gmail.com`.

Consent by unsubscribe group (SPEC 8): an audience sent under declared SendGrid unsubscribe groups
(`asm_group_id` on the segment or its destinations) leaves out the addresses suppressed from all
(global unsubscribe, spam report, hard bounce, drop, erasure) and those unsubscribed from one of
ITS groups; an audience that declares no group leaves out every unsubscribe of any group.
"""

from __future__ import annotations

from typing import Any

from flows.activation.config import ConfigError
from flows.email_rule import match_key_sql
from flows.warehouse import relation_exists

SUPPRESSIONS_RELATION = "intermediate.int_email_suppressions"
CONSENT_BY_GROUP_RELATION = "intermediate.int_email_consent_by_group"
ERASURE_RELATION = "raw.erasure_requests"
IDENTITY_RELATION = "intermediate.int_identity_map"


def canonical_email_sql(expr: str) -> str:
    """SQL (DuckDB) for the match key of an email expression: NULL when NULL or invalid."""
    return match_key_sql(f"cast({expr} as varchar)")


def _columns(con: Any, relation: str) -> set[str]:
    schema, name = relation.split(".", 1)
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchall()
    return {r[0] for r in rows}


def suppressed_emails_sql(con: Any, person_relation: str, asm_group_ids: frozenset[int] | None = None) -> str:
    """A query with one column `email_key`: every canonical address that must not be contacted.

    Sources: the email suppression model (quarantined opt-outs included: unsubscribed unless
    resubscribed later, hard bounces, any drop, spam reports), erasure requests, and the person
    table's own `is_email_suppressed` flag as belt and braces. `asm_group_ids` are the SendGrid
    unsubscribe groups the audience is sent under: None (no group declared) leaves out an
    unsubscribe from ANY group; a set leaves out only those groups' unsubscribes besides everything
    suppressed from all. Raises ConfigError when a consent model is missing (fail closed).
    """
    if not relation_exists(con, SUPPRESSIONS_RELATION):
        raise ConfigError(
            f"{SUPPRESSIONS_RELATION} does not exist, so suppression cannot be applied",
            hint="run `lifecycle build`; no audience is computed without it",
        )
    grouped = bool(asm_group_ids) and "is_suppressed_from_all" in _columns(con, SUPPRESSIONS_RELATION)
    if grouped and not relation_exists(con, CONSENT_BY_GROUP_RELATION):
        raise ConfigError(
            f"{CONSENT_BY_GROUP_RELATION} does not exist, so group consent cannot be applied",
            hint="run `lifecycle build`; no audience is computed without it",
        )
    if grouped:
        groups = ", ".join(str(int(g)) for g in sorted(asm_group_ids or ()))
        parts = [
            f"select {canonical_email_sql('email')} as email_key from {SUPPRESSIONS_RELATION} "
            "where is_suppressed_from_all is not false",
            f"select {canonical_email_sql('email_key')} from {CONSENT_BY_GROUP_RELATION} "
            f"where consent_scope = 'group' and asm_group_id in ({groups}) and is_unsubscribed is not false",
        ]
    else:
        parts = [f"select {canonical_email_sql('email')} as email_key from {SUPPRESSIONS_RELATION}"]
    if relation_exists(con, ERASURE_RELATION):
        parts.append(f"select {canonical_email_sql('email')} from {ERASURE_RELATION}")
    # dim_persons' flag counts group unsubscribes too, so it only backs up group-less audiences.
    if not grouped and "is_email_suppressed" in _columns(con, person_relation):
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
    if relation_exists(con, IDENTITY_RELATION):
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
