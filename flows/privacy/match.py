"""The canonical match key of an address, as SQL: the one email rule (flows/email_rule.py).

Ledger hashes are HMACs of this key, so the rule must not change under a ledger silently: a change
that maps an address to another key stops matching it (see DECISIONS.md, Privacy).
"""

from __future__ import annotations

from flows.email_rule import match_key_sql as _rule_sql


def match_key_sql(expr: str) -> str:
    """DuckDB SQL for the match key of `expr` (NULL when NULL or not a valid address)."""
    return _rule_sql(f"cast({expr} as varchar)")
