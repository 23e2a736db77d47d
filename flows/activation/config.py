"""Segment and destination definitions from `segments.yml` (SPEC section 8), validated on load.

Analytics engineers edit this file by hand, so every mistake must surface as one clear line naming
the segment and the bad value (unknown field, unknown destination, bad name) before anything is
computed or sent. Structural checks happen in `load_config`; field names are checked against the
real warehouse columns in `validate_fields`, because only the warehouse knows what a model exports.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from flows.errors import LifecycleError

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# A dbt model name is interpolated into SQL as an identifier, so it gets the same strict shape.
MODEL_RE = NAME_RE
FIELD_RE = NAME_RE
# Columns sync state adds to every export frame; a segment cannot export columns with these names.
RESERVED_FIELDS = {"record_key", "record", "record_hash"}
DestinationType = Literal[
    "file",
    "http",
    "ads_audience",
    "google_ads_customer_match",
    "meta_custom_audience",
    "mailchimp",
    "klaviyo",
    "hubspot",
]
# Channel destinations (flows/activation/destinations/channel_*.py): the vendor's CSV in the file
# history, and (push) the vendor's API. What each needs besides its token:
CHANNEL_NEEDS: dict[str, tuple[str, ...]] = {
    "google_ads_customer_match": ("audience_id", "customer_id"),
    "meta_custom_audience": ("audience_id",),
    "mailchimp": ("audience_id",),
    "klaviyo": ("audience_id",),
    "hubspot": (),
}
# The schema the person table and activation marts live in (dbt custom schema, used verbatim).
MARTS_SCHEMA = "marts"
PERSON_TABLE = "dim_persons"


class ConfigError(LifecycleError):
    """segments.yml is invalid; the message names the segment/destination and the bad value."""


class DestinationConfig(BaseModel):
    """One destination. Secrets are never stored here, only the names of where to read them."""

    model_config = ConfigDict(extra="forbid")

    name: str
    type: DestinationType
    # http: where the URL and bearer token come from (environment variable or Prefect Secret block).
    url_env: str | None = None
    url_secret: str | None = None
    token_env: str | None = None
    token_secret: str | None = None
    batch_size: int = Field(default=500, ge=1, le=10_000)
    rate_limit_per_second: float = Field(default=5.0, gt=0)
    max_retries: int = Field(default=5, ge=0, le=20)
    backoff_base_seconds: float = Field(default=0.5, ge=0)
    backoff_max_seconds: float = Field(default=60.0, ge=0)
    timeout_seconds: float = Field(default=30.0, gt=0)
    # http: skip (not fail) the destination when its URL is not configured, so the default
    # segments.yml runs on the demo without a CRM.
    optional: bool = False
    # ads_audience: calling code used for phones written without an international prefix.
    default_country_code: str | None = None
    # Channel destinations: the channel's list/audience id (Google user list id, Meta custom
    # audience id, Mailchimp audience id, Klaviyo list id); Google Ads customer id (digits) and
    # where its developer token comes from (token_env/token_secret hold the OAuth access token or
    # API key); push: false writes the upload-ready CSV only, without calling the API.
    audience_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    customer_id: str | None = Field(default=None, pattern=r"^[0-9]{10}$")
    developer_token_env: str | None = None
    developer_token_secret: str | None = None
    push: bool = True
    # meta_custom_audience: replace the whole audience each run in one usersreplace session.
    replace_audience: bool = False
    # SendGrid unsubscribe group (ASM group id) this destination sends under; overrides the segment's.
    asm_group_id: int | None = Field(default=None, ge=1, strict=True)
    # file-writing destinations: how many runs/<run_id>/ folders to keep (newest first).
    history_runs: int = Field(default=30, ge=1, le=10_000)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError(f"bad destination name {v!r}: use lower-case letters, digits and _")
        return v

    @field_validator("default_country_code")
    @classmethod
    def _cc(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"\+?[1-9][0-9]{0,2}", str(v)):
            raise ValueError(f"bad default_country_code {v!r}: a calling code like 1 or 44")
        return None if v is None else str(v).lstrip("+")

    @model_validator(mode="after")
    def _http_needs_url(self) -> DestinationConfig:
        if self.type == "http" and not (self.url_env or self.url_secret):
            raise ValueError("an http destination needs url_env or url_secret")
        if self.type in CHANNEL_NEEDS and self.push:
            if not (self.token_env or self.token_secret):
                raise ValueError(
                    f"a {self.type} destination needs token_env or token_secret (or push: false)"
                )
            missing = [k for k in CHANNEL_NEEDS[self.type] if getattr(self, k) is None]
            if missing:
                raise ValueError(f"a {self.type} destination needs {' and '.join(missing)}")
            if self.type == "google_ads_customer_match" and not (
                self.developer_token_env or self.developer_token_secret
            ):
                raise ValueError("a google_ads_customer_match destination needs developer_token_env")
        return self


class SegmentConfig(BaseModel):
    """One audience: who (a dbt model or a filter over the person table), what (fields), where."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    model: str | None = None
    filter: str | None = None
    fields: list[str]
    destinations: list[str]
    # upsell/cross_sell rule: leave out open high/urgent tickets and recent bad CSAT.
    exclude_support_issues: bool = False
    enabled: bool = True
    # SendGrid unsubscribe group (ASM group id) the segment is sent under: a group_unsubscribe of
    # another group does not leave a person out of it (SPEC 8). None: any unsubscribe does.
    asm_group_id: int | None = Field(default=None, ge=1, strict=True)
    # Share of the audience held out of every destination to measure lift (SPEC 11), e.g. 0.1.
    # Who is held out is deterministic (flows/activation/holdouts.py); 0 or unset: nobody.
    holdout: float | None = Field(default=None, ge=0, le=0.5)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError(f"bad segment name {v!r}: use lower-case letters, digits and _ (max 63)")
        return v

    @field_validator("model")
    @classmethod
    def _model(cls, v: str | None) -> str | None:
        if v is not None and not MODEL_RE.match(v):
            raise ValueError(f"bad model name {v!r}")
        return v

    @field_validator("filter")
    @classmethod
    def _filter(cls, v: str | None) -> str | None:
        # A filter is a boolean SQL expression, not a statement: no way to smuggle a second one in.
        if v is not None and (";" in v or "--" in v or "/*" in v or not v.strip()):
            raise ValueError(f"bad filter {v!r}: one SQL boolean expression, no ';' or comments")
        return v

    @field_validator("fields")
    @classmethod
    def _fields(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("fields must list at least one column")
        bad = [f for f in v if not FIELD_RE.match(f)]
        if bad:
            raise ValueError(f"bad field name(s) {bad}")
        if len(set(v)) != len(v):
            raise ValueError("fields has duplicates")
        reserved = sorted(set(v) & RESERVED_FIELDS)
        if reserved:
            raise ValueError(f"field name(s) {reserved} are reserved for sync state")
        # person_id is the record key of every destination, so it is always exported first.
        return ["person_id", *[f for f in v if f != "person_id"]]

    @model_validator(mode="after")
    def _who(self) -> SegmentConfig:
        if (self.model is None) == (self.filter is None):
            raise ValueError("give exactly one of `model` or `filter`")
        if not self.destinations:
            raise ValueError("destinations must list at least one destination")
        return self

    @property
    def relation(self) -> str:
        return f"{MARTS_SCHEMA}.{self.model or PERSON_TABLE}"


class ActivationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    destinations: dict[str, DestinationConfig]
    segments: list[SegmentConfig]

    def segment(self, name: str) -> SegmentConfig:
        for s in self.segments:
            if s.name == name:
                return s
        raise ConfigError(
            f"unknown segment {name!r}", hint=f"known: {', '.join(s.name for s in self.segments)}"
        )

    def select(self, names: list[str] | None) -> list[SegmentConfig]:
        """The segments to run: the named ones (even if disabled), else every enabled one."""
        if names:
            return [self.segment(n) for n in names]
        return [s for s in self.segments if s.enabled]


def _closest(word: str, valid: list[str], label: str = "valid keys") -> str:
    """` (did you mean 'x'?)` for the nearest valid name (difflib), else the list of valid names."""
    import difflib

    match = difflib.get_close_matches(word, valid, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else f" ({label}: {', '.join(valid)})"


def _key_lines(text: str) -> dict[tuple[Any, ...], int]:
    """1-based line of every mapping key and list item in a YAML document, by path.

    Why: pydantic knows the bad key but not where it is; users fix files by line number.
    """
    lines: dict[tuple[Any, ...], int] = {}

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                lines[(*path, key.value)] = key.start_mark.line + 1
                walk(value, (*path, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[(*path, i)] = item.start_mark.line + 1
                walk(item, (*path, i))

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def _describe(
    exc: ValidationError,
    where: str,
    model: type[BaseModel],
    path: tuple[Any, ...] = (),
    lines: dict[tuple[Any, ...], int] | None = None,
    source: str = "segments.yml",
) -> str:
    """One line: file, line, the segment/destination, then each problem in plain words.

    An unknown key gets the closest valid key (`feilds` -> did you mean 'fields'?); validation-library
    wording such as "Extra inputs are not permitted" never reaches the user.
    """
    valid = [k for k in model.model_fields if k != "name" or model is SegmentConfig]
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    unknown = {str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden" and e["loc"]}
    parts = []
    line = None
    for err in errors:
        loc = ".".join(str(p) for p in err["loc"])
        key = err["loc"][0] if err["loc"] else None
        if lines and key is not None and line is None:
            line = lines.get((*path, key))
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key {loc!r}{_closest(str(key), valid)}")
        elif err["type"] == "missing":
            if any(_closest(u, [str(key)]).startswith(" (did") for u in unknown):
                continue  # the misspelt key above is this one; saying it is missing adds nothing
            parts.append(f"missing key {loc!r}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            parts.append(f"{loc}: {msg}" if loc else msg)
    if lines and line is None:
        line = lines.get(path)
    at = f"{source} line {line}" if line else source
    return f"{at}: {where}: " + "; ".join(parts)


def parse_config(
    raw: Any, source: str = "segments.yml", lines: dict[tuple[Any, ...], int] | None = None
) -> ActivationConfig:
    """Validate an already-parsed YAML document; every error names the segment or destination.

    `lines` (from `_key_lines`) lets an error also name the line of the bad key.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping with `destinations` and `segments`")
    unknown_top = sorted(set(raw) - {"destinations", "segments"})
    if unknown_top:
        key = unknown_top[0]
        line = (lines or {}).get((key,))
        at = f"{source} line {line}" if line else source
        raise ConfigError(f"{at}: unknown key {key!r}{_closest(str(key), ['destinations', 'segments'])}")
    dest_raw = raw.get("destinations") or {}
    if not isinstance(dest_raw, dict):
        raise ConfigError(f"{source}: `destinations` must be a mapping of name -> settings")
    destinations: dict[str, DestinationConfig] = {}
    for name, body in dest_raw.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{source}: destination {name!r} must be a mapping")
        try:
            destinations[name] = DestinationConfig(name=name, **body)
        except ValidationError as exc:
            raise ConfigError(
                _describe(
                    exc, f"destination {name!r}", DestinationConfig, ("destinations", name), lines, source
                )
            ) from None
    seg_raw = raw.get("segments")
    if not isinstance(seg_raw, list) or not seg_raw:
        raise ConfigError(f"{source}: `segments` must be a non-empty list")
    segments: list[SegmentConfig] = []
    for i, body in enumerate(seg_raw):
        label = body.get("name", f"#{i + 1}") if isinstance(body, dict) else f"#{i + 1}"
        if not isinstance(body, dict):
            raise ConfigError(f"{source}: segment {label} must be a mapping")
        try:
            seg = SegmentConfig(**body)
        except ValidationError as exc:
            raise ConfigError(
                _describe(exc, f"segment {label!r}", SegmentConfig, ("segments", i), lines, source)
            ) from None
        unknown = [d for d in seg.destinations if d not in destinations]
        if unknown:
            raise ConfigError(
                f"{source}: segment {seg.name!r}: unknown destination(s) {unknown}",
                hint=f"declared: {', '.join(destinations) or 'none'}",
            )
        if any(s.name == seg.name for s in segments):
            raise ConfigError(f"{source}: segment {seg.name!r} is declared twice")
        segments.append(seg)
    return ActivationConfig(destinations=destinations, segments=segments)


def load_config(path: Path) -> ActivationConfig:
    if not path.is_file():
        raise ConfigError(f"segments file not found: {path}", hint="set LIFECYCLE_SEGMENTS_FILE")
    text = path.read_text()
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{path.name} line {mark.line + 1}" if mark else path.name
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{at}: not valid YAML: {problem}", hint=str(path)) from None
    return parse_config(raw, source=path.name, lines=_key_lines(text))


def relation_columns(con: Any, relation: str) -> list[str]:
    """Column names of a warehouse relation (empty when it does not exist)."""
    schema, name = relation.split(".", 1)
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()
    return [r[0] for r in rows]


def validate_fields(con: Any, segments: list[SegmentConfig]) -> None:
    """Check each segment's model exists and its fields are real columns (model or person table)."""
    person_cols = relation_columns(con, f"{MARTS_SCHEMA}.{PERSON_TABLE}")
    if not person_cols:
        raise ConfigError(
            f"{MARTS_SCHEMA}.{PERSON_TABLE} does not exist in the warehouse",
            hint="run `lifecycle build` (or `lifecycle run`) before syncing",
        )
    for seg in segments:
        available = set(person_cols)
        if seg.model:
            model_cols = relation_columns(con, seg.relation)
            if not model_cols:
                raise ConfigError(
                    f"segment {seg.name!r}: model {seg.relation} does not exist",
                    hint="check the model name or run `lifecycle build`",
                )
            if "person_id" not in model_cols:
                raise ConfigError(f"segment {seg.name!r}: model {seg.relation} has no person_id column")
            available |= set(model_cols)
        unknown = [f for f in seg.fields if f not in available]
        if unknown:
            raise ConfigError(
                f"segment {seg.name!r}: unknown field(s) {unknown}",
                hint=f"available: {', '.join(sorted(available))}",
            )
        if seg.filter:
            check_filter(con, seg, person_cols)


def check_filter(con: Any, seg: SegmentConfig, person_cols: list[str]) -> None:
    """Bind the segment's filter against the person table now (`limit 0`: nothing is read).

    A filter naming a column the table lacks becomes one line with the segment, the column and the
    closest real column, instead of DuckDB's Binder error halfway through a sync.
    """
    import duckdb

    relation = f"{MARTS_SCHEMA}.{PERSON_TABLE}"
    try:
        con.execute(f"select 1 from {relation} as p where ({seg.filter}) limit 0").fetchall()
    except duckdb.Error as exc:
        text = str(exc)
        column = re.search(r'Referenced column "([^"]+)" not found', text)
        if column:
            name = column.group(1)
            raise ConfigError(
                f"segment {seg.name!r}: filter {seg.filter!r} uses column {name!r}, "
                f"which {relation} does not have{_closest(name, person_cols, 'columns')}"
            ) from None
        first = (text.splitlines() or [""])[0]
        raise ConfigError(
            f"segment {seg.name!r}: filter {seg.filter!r} is not valid SQL here: {first}"
        ) from None
