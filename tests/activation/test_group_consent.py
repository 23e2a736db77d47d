"""Audiences and SendGrid unsubscribe groups (SPEC 8): a group unsubscribe suppresses only that
group's audiences, and every audience that declares no group; a global opt-out suppresses all."""

from __future__ import annotations

from flows.activation.audiences import compute_audiences
from flows.warehouse import open_warehouse
from tests.activation.mini_warehouse import person, write_warehouse

GROUPS_YML = """
destinations:
  news_file: {type: file, asm_group_id: 7}
  plain_file: {type: file}
segments:
  - name: newsletter
    description: sent under unsubscribe group 7 (from its destination)
    filter: "true"
    fields: [person_id, email]
    destinations: [news_file]
  - name: promo
    description: sent under group 9 (declared on the segment)
    filter: "true"
    fields: [person_id, email]
    destinations: [plain_file]
    asm_group_id: 9
  - name: undeclared
    description: no group declared anywhere
    filter: "true"
    fields: [person_id, email]
    destinations: [plain_file]
"""


def _consent_tables(con) -> None:
    """The two consent relations as the dbt models shape them (columns the readers use)."""
    con.execute(
        """
        create or replace table intermediate.int_email_consent_by_group as
        select * from (values
            ('g7@example.com', 'group', 7, true),
            ('g9@example.com', 'group', 9, true),
            ('lifted@example.com', 'group', 7, false),
            ('spam@example.com', 'global', null, false)
        ) t(email_key, consent_scope, asm_group_id, is_unsubscribed)
        """
    )
    con.execute(
        """
        create or replace table intermediate.int_email_suppressions as
        select * from (values
            ('g7@example.com', 'group_unsubscribed', false),
            ('g9@example.com', 'group_unsubscribed', false),
            ('spam@example.com', 'spam_report', true)
        ) t(email, suppression_reason, is_suppressed_from_all)
        """
    )


def test_group_unsubscribe_suppresses_only_its_group_and_undeclared(make_settings):
    settings = make_settings(GROUPS_YML)
    emails = ["g7@example.com", "g9@example.com", "lifted@example.com", "spam@example.com", "ok@example.com"]
    write_warehouse(settings, [person(f"p{i}", e) for i, e in enumerate(emails)])
    with open_warehouse(settings) as con:
        _consent_tables(con)
    with open_warehouse(settings, read_only=True) as con:
        frames = compute_audiences(settings, con)
    got = {name: sorted(f["email"].to_list()) for name, f in frames.items()}
    assert got["newsletter"] == ["g9@example.com", "lifted@example.com", "ok@example.com"]
    assert got["promo"] == ["g7@example.com", "lifted@example.com", "ok@example.com"]
    assert got["undeclared"] == ["lifted@example.com", "ok@example.com"]
