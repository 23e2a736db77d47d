"""The declared map of personal data: which column holds what, and how each kind is redacted.

Redaction is driven by column names (and types) so it covers every schema of both DuckDB files
without a list of tables to keep in step with dbt: a column named `email` is an address wherever it
sits. `tests/privacy/test_pii_map.py` lists every text/JSON column of a built warehouse and fails
when one is neither personal (a kind below) nor declared NOT_PERSONAL, so a new model or raw column
that carries personal data cannot slip in unmapped.

Kinds, and what happens to them on the rows of an erased person:
- email, name, phone, ip, user_agent, text (free text): set NULL (a NOT NULL column gets '[erased]');
- web_id, key (identifiers and keys derived from them): replaced by the erasure's pseudonym
  `erased-<erasure_id>`, so the person's anonymous facts (orders, sends) still count once;
- zendesk_id (numeric Zendesk user ids): set NULL;
- json (the raw message/record JSON): personal members removed with json_merge_patch (RFC 7396);
- person: `person_id` only selects rows (it is rebuilt from the pseudonymised identifiers).
"""

from __future__ import annotations

import json

EMAIL = "email"
NAME = "name"
PHONE = "phone"
IP = "ip"
USER_AGENT = "user_agent"
TEXT = "text"
WEB_ID = "web_id"
KEY = "key"
ZENDESK_ID = "zendesk_id"
JSON = "json"
PERSON = "person"

PII_COLUMNS: dict[str, str] = {
    "email": EMAIL,
    "raw_email": EMAIL,
    "requester_email": EMAIL,
    "email_address": EMAIL,
    "email_key": EMAIL,
    "name": NAME,
    "first_name": NAME,
    "last_name": NAME,
    "full_name": NAME,
    "phone": PHONE,
    "phone_e164": PHONE,
    "phone_number": PHONE,
    "ip": IP,
    "ip_address": IP,
    "user_agent": USER_AGENT,
    "useragent": USER_AGENT,
    "subject": TEXT,
    "raw_subject": TEXT,
    "description": TEXT,
    "raw_text": TEXT,
    "error": TEXT,
    "observed": TEXT,
    "anonymous_id": WEB_ID,
    "user_id": WEB_ID,
    "previous_id": WEB_ID,
    "alias_previous_id": WEB_ID,
    "identity_key": KEY,
    "identifier_value": KEY,
    "person_identifier_value": KEY,
    "node_key": KEY,
    "component_label": KEY,
    "zendesk_user_key": KEY,
    "requester_key": KEY,
    "src": KEY,
    "dst": KEY,
    "record_key": PERSON,  # sync state is keyed by person_id: kept so the next sync sends the remove
    "requester_id": ZENDESK_ID,
    "submitter_id": ZENDESK_ID,
    "zendesk_user_id": ZENDESK_ID,
    "message": JSON,  # VARCHAR `message` columns (quality results) are treated as TEXT
    "record": JSON,
    "traits": JSON,
    "context": JSON,
    "summary": JSON,
    "person_id": PERSON,
}

# Text/JSON columns that hold no personal data (checked by the map test). Campaign, product and
# page fields describe the business, not the person; `page_url` is kept (see DECISIONS.md).
NOT_PERSONAL: frozenset[str] = frozenset(
    [
        "_file",
        "type",
        "original_type",
        "event",
        "message_id",
        "sg_event_id",
        "sg_message_id",
        "message_key",  # sg_message_id, or event:<sg_event_id> (int_email_events_keyed)
        "bounce_type",
        "marketing_campaign_id",
        "marketing_campaign_name",
        "campaign_id",
        "campaign_name",
        "category",
        "url",
        "status",
        "priority",
        "via_channel",
        "channel",
        "satisfaction_score",
        "ticket_type",
        "source",
        "medium",
        "campaign",
        "currency",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "page_url",
        "page_path",
        "referrer",
        "referrer_host",
        "referrer_class",
        "page_host",
        "page_title",
        "order_id",
        "product_id",
        "product_sku",
        "products",
        "sku",
        "product_name",
        "tier",
        "category_name",
        "lifecycle_stage",
        "from_stage",
        "to_stage",
        "trigger",
        "trigger_order_id",
        "transition_id",
        "lead_status",
        "lead_signal",
        "first_touch_source",
        "first_touch_medium",
        "first_touch_campaign",
        "email_consent_state",
        "suppression_reason",
        "touch_type",
        "touch_id",
        "identifier_type",
        "person_identifier_type",
        "anchor_product_id",
        "recommended_product_id",
        "recommended_product_name",
        "recommended_product_category",
        "current_product_id",
        "current_product_name",
        "associated_product_id",
        "associated_product_name",
        "associated_product_category",
        "upgrade_to_product_id",
        "rfm_cell",
        "segment",
        "rfm_segment",
        "vip_reason",
        "purchases_method",
        "spend_method",
        "fit_id",
        "fit_status",
        "period_grain",
        "run_id",
        "stage",
        "suite",
        "check_name",
        "severity",
        "data_docs_path",
        "table_name",
        "validated_through",  # quality.raw_watermarks: up to which _loaded_at a raw gate judged rows
        "recorded_at",
        "destination",
        "op",
        "record_hash",
        "as_of",
        "segments",
        "endpoint",
        "cursor",
        "path",
        "content_hash",
        "dbt_scd_id",
        "reason",
        "asm_group_ids",
        "consent_group",
        "group_name",
        "consent_state",
        "erasure_id",
        "relation",
        "phase",
        "detail",
        "kind",
        "key_hash",
        "fingerprint",
        "bucket",
        "consent_action",
        "consent_event_id",
        "consent_reason",
        "consent_scope",
        "record_origin",
        "reject_reason",
        "unsubscribed_group_ids",
        "action",
        "batch_id",
        "cohort_grain",
        "assigned_group",
    ]
)

# Tables whose rows are about a person and nothing else: rows of erased persons are deleted.
DELETE_ROWS: frozenset[str] = frozenset(
    {
        "raw.zendesk_users",
        "staging.stg_zendesk__users",
        "intermediate.int_identity_edges",
        "intermediate.int_identity_map",
        "intermediate.int_email_suppressions",
        "intermediate.int_web_identities_resolved",
    }
)

# Tables unique on one column (dbt `unique` tests on incremental models): after pseudonymising, the
# erased person's rows would share the pseudonym, so only one row per value is kept.
UNIQUE_AFTER_REDACTION: dict[str, str] = {
    "intermediate.int_web_identities_deduplicated": "identity_key",
}

# Schemas whose JSON holds exported records in vendor formats: on erasure only keys declared
# NOT_PERSONAL are kept (an allow-list; vendor headers such as "Email" or "FNAME" are dropped).
ALLOW_LIST_SCHEMAS = frozenset({"sync"})

# Schemas never redacted: the ledger itself.
# An address-shaped token in free text (quarantined lines, vendor error texts).
EMAIL_TOKEN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
SKIP_SCHEMAS = frozenset({"privacy", "information_schema", "pg_catalog"})

# JSON members that carry personal data in the vendor formats (Segment spec: traits, context.ip,
# context.userAgent, ids; SendGrid event webhook: email, ip, useragent; Zendesk tickets: subject,
# description, requester/submitter, via.source; Zendesk users: email, name, phone) and in the
# exported records of sync state. RFC 7396 merge patch: a null member removes the key.
JSON_PATCH: dict = {
    "traits": None,
    "anonymousId": None,
    "userId": None,
    "previousId": None,
    "context": {"traits": None, "ip": None, "userAgent": None, "device": None, "location": None},
    "properties": {
        "email": None,
        "name": None,
        "phone": None,
        "first_name": None,
        "last_name": None,
        "address": None,
    },
    "email": None,
    "ip": None,
    "useragent": None,
    "user_agent": None,
    "name": None,
    "first_name": None,
    "last_name": None,
    "phone": None,
    "email_sha256": None,
    "phone_sha256": None,
    "subject": None,
    "raw_subject": None,
    "description": None,
    "requester_id": None,
    "submitter_id": None,
    "collaborator_ids": None,
    "follower_ids": None,
    "email_cc_ids": None,
    "via": {"source": None},
    "user_id": None,
    "anonymous_id": None,
}
JSON_PATCH_TEXT = json.dumps(JSON_PATCH)

# JSON paths where an address sits in the raw formats (row selection in raw tables).
JSON_EMAIL_PATHS = ("$.traits.email", "$.context.traits.email", "$.properties.email", "$.email")
JSON_ID_PATHS = ("$.anonymousId", "$.userId", "$.previousId")


def kind_of(column: str, data_type: str) -> str | None:
    """The PII kind of a column, or None when it is not personal."""
    kind = PII_COLUMNS.get(column.lower())
    if kind == JSON and not data_type.upper().startswith("JSON"):
        return TEXT
    return kind
