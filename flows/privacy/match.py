"""The canonical match key of an address, as SQL: the one email rule (flows/email_rule.py) when it
exists, else the activation rule it replaces (trim, lower-case, gmail/googlemail dots removed).

Ledger hashes are HMACs of this key, so the rule must not change under a ledger silently: a change
that maps an address to another key stops matching it (see DECISIONS.md, Privacy).
"""

from __future__ import annotations


def match_key_sql(expr: str) -> str:
    try:
        from flows import email_rule  # the consent helper's single rule
    except ImportError:
        email_rule = None
    for name in ("match_key_sql", "match_key_expr_sql", "sql_match_key"):
        fn = getattr(email_rule, name, None) if email_rule else None
        if callable(fn):
            return str(fn(expr))
    from flows.activation.suppression import canonical_email_sql

    return canonical_email_sql(expr)
