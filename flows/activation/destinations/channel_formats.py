"""What each channel destination sends: its CSV columns, normalised and hashed as the vendor says.

The export frame of a channel destination has exactly the vendor's CSV headers as columns, so the
diff's `record` JSON is what was sent, a removal carries the identifiers the vendor needs, and the
CSV in the file history can be uploaded unchanged. Normalisation is vectorised polars, hashing is
DuckDB's sha256 (ads.sha256_column): no per-row Python. Emails go through flows/email_rule.py, the
one canonical rule; phones come from dim_persons.phone_e164 (int_persons_contact_details), else
the ads destination's E.164 normaliser with the destination's `default_country_code`.

Vendor documentation followed:
- Google Ads Customer Match, "Format your customer data file" and the hashed upload template:
  https://support.google.com/google-ads/answer/7659867 and https://support.google.com/google-ads/answer/7475964
  Headers `Email, Phone, First Name, Last Name, Country, Zip`; for hashed data: lower-case, remove
  extra spaces, phones in E.164 before hashing (SHA-256); gmail.com/googlemail.com local-part dots
  removed (Customer Match API normalisation guide:
  https://developers.google.com/google-ads/api/docs/remarketing/audience-segments/customer-match/get-started).
  Country and Zip are sent plain; the warehouse has no postal address, so they stay empty (Google
  then ignores the name pair, which only matches together with Country and Zip).
- Meta customer file custom audiences, "Hashing and normalizing data":
  https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences#hash
  email trimmed and lower-cased (no gmail dot rule); phone digits only with the country code, no
  `+` and no leading zeros; fn/ln lower-cased, letters only (no punctuation or spaces, UTF-8
  letters kept); all SHA-256. CSV headers `email, phone, fn, ln` (Meta's customer list template).
- Mailchimp, "Format guidelines for your import file":
  https://mailchimp.com/help/format-guidelines-for-your-import-file/
  `Email Address, First Name, Last Name`, plain text.
- Klaviyo, "Prepare a CSV for list import" (https://help.klaviyo.com/hc/en-us/articles/115005078747):
  `Email, First Name, Last Name, Phone Number` (phone in E.164).
- HubSpot, "Import files" default contact property labels
  (https://knowledge.hubspot.com/import-and-export/set-up-your-import-file):
  `Email, First Name, Last Name, Phone Number`.
"""

from __future__ import annotations

import polars as pl

from flows.activation.destinations.ads import normalise_phone_expr, sha256_column
from flows.activation.state import KEY
from flows.email_rule import match_key_expr, normalize_email_expr

GOOGLE = "google_ads_customer_match"
META = "meta_custom_audience"
MAILCHIMP = "mailchimp"
KLAVIYO = "klaviyo"
HUBSPOT = "hubspot"
CHANNEL_TYPES = (GOOGLE, META, MAILCHIMP, KLAVIYO, HUBSPOT)

COLUMNS: dict[str, list[str]] = {
    GOOGLE: ["Email", "Phone", "First Name", "Last Name", "Country", "Zip"],
    META: ["email", "phone", "fn", "ln"],
    MAILCHIMP: ["Email Address", "First Name", "Last Name"],
    KLAVIYO: ["Email", "First Name", "Last Name", "Phone Number"],
    HUBSPOT: ["Email", "First Name", "Last Name", "Phone Number"],
}
# Columns holding SHA-256 hex digests (the rest is plain text the vendor wants plain).
HASHED: dict[str, list[str]] = {
    GOOGLE: ["Email", "Phone", "First Name", "Last Name"],
    META: ["email", "phone", "fn", "ln"],
}
# Destinations that identify a person by email (they cannot use a phone-only person).
EMAIL_KEYED = {MAILCHIMP, KLAVIYO, HUBSPOT}


def _text(frame: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Utf8) if name in frame.columns else pl.lit(None, dtype=pl.Utf8)


def e164_expr(frame: pl.DataFrame, default_country_code: str | None) -> pl.Expr:
    """The warehouse's E.164 phone, else the raw phone normalised (ads destination rule)."""
    return pl.coalesce(
        _text(frame, "phone_e164").str.strip_chars(),
        normalise_phone_expr(_text(frame, "phone"), default_country_code),
    )


def clean_name_expr(col: pl.Expr) -> pl.Expr:
    """Trimmed, inner whitespace collapsed to one space, '' as NULL."""
    out = col.str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.when(out != "").then(out)


def google_name_expr(col: pl.Expr) -> pl.Expr:
    """Google: lower-case, no extra spaces (before, after or in between)."""
    return clean_name_expr(col).str.to_lowercase()


def meta_name_expr(col: pl.Expr) -> pl.Expr:
    """Meta fn/ln: lower-case, letters only (punctuation, digits and spaces removed)."""
    out = col.str.to_lowercase().str.replace_all(r"[^\p{L}]", "")
    return pl.when(out != "").then(out)


def meta_phone_expr(e164: pl.Expr) -> pl.Expr:
    """Meta phone: the E.164 digits with country code, no '+' (E.164 has no leading zero)."""
    return e164.str.strip_prefix("+")


def _hash(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    return frame.with_columns(*(sha256_column(frame, c) for c in columns))


def channel_export(
    dest_type: str, audience: pl.DataFrame, default_country_code: str | None = None
) -> pl.DataFrame:
    """record_key plus the vendor's CSV columns; persons the channel cannot identify are left out."""
    key = pl.col("person_id").cast(pl.Utf8).alias(KEY)
    phone = e164_expr(audience, default_country_code)
    first = clean_name_expr(_text(audience, "first_name"))
    last = clean_name_expr(_text(audience, "last_name"))
    email = _text(audience, "email")
    if dest_type == GOOGLE:
        out = audience.select(
            key,
            match_key_expr(email).alias("Email"),
            phone.alias("Phone"),
            google_name_expr(first).alias("First Name"),
            google_name_expr(last).alias("Last Name"),
            pl.lit(None, dtype=pl.Utf8).alias("Country"),
            pl.lit(None, dtype=pl.Utf8).alias("Zip"),
        )
        out = out.filter(pl.col("Email").is_not_null() | pl.col("Phone").is_not_null())
    elif dest_type == META:
        out = audience.select(
            key,
            normalize_email_expr(email).alias("email"),
            meta_phone_expr(phone).alias("phone"),
            meta_name_expr(first).alias("fn"),
            meta_name_expr(last).alias("ln"),
        )
        out = out.filter(pl.col("email").is_not_null() | pl.col("phone").is_not_null())
    elif dest_type in EMAIL_KEYED:
        cols = [
            normalize_email_expr(email).alias(COLUMNS[dest_type][0]),
            first.alias("First Name"),
            last.alias("Last Name"),
        ]
        if "Phone Number" in COLUMNS[dest_type]:
            cols.append(phone.alias("Phone Number"))
        out = audience.select(key, *cols).filter(pl.col(COLUMNS[dest_type][0]).is_not_null())
    else:
        raise ValueError(f"not a channel destination type: {dest_type!r}")
    return _hash(out, HASHED.get(dest_type, []))
