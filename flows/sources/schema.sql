-- Raw layer of warehouse.duckdb: the contract between ingest (flows/sources) and dbt staging.
-- Every table keeps the full original record as JSON (`message` / `record`) so schema drift loses
-- nothing; typed columns are extracted at load time for the fields staging filters and joins on.
-- Unique ids and the JSON are stored with zstd: DuckDB's default analysis of such strings
-- (dictionary, FSST) cost more than the whole parse at load; scans are as fast.
-- Lineage columns: _file (path relative to DIR/raw, or 'api:<endpoint>'), _line (1-based line for
-- JSONL/CSV, 1-based record index inside a JSON document/page), _loaded_at (UTC load time).
-- All timestamps are UTC, stored as TIMESTAMP (naive UTC).

create schema if not exists raw;

-- >>> generated from flows/sources/specs.py: python -m flows.sources.specs --write-schema
-- SPEC 4.1 Segment messages. Unique on message_id (de-duplicated by anti-join at load).
create table if not exists raw.segment_events (
    message_id   varchar not null using compression zstd,
    type         varchar not null,                         -- page|screen|track|identify|alias|group (lower-cased)
    event        varchar,                                  -- track event name
    anonymous_id varchar,
    user_id      varchar,
    previous_id  varchar,                                  -- alias
    ts           timestamp not null,                       -- message `timestamp`, UTC
    message      json not null using compression zstd,     -- the whole original record
    _file        varchar not null,
    _line        bigint not null,
    _loaded_at   timestamp not null
);

-- SPEC 4.2 SendGrid events. De-duplicated on (sg_event_id, event); see DECISIONS.md.
create table if not exists raw.sendgrid_events (
    sg_event_id             varchar not null using compression zstd,
    event                   varchar not null,
    email                   varchar,
    ts                      timestamp not null,                       -- from unix seconds (or milliseconds)
    sg_message_id           varchar,
    bounce_type             varchar,                                  -- `type` on bounce events: bounce|blocked
    marketing_campaign_id   varchar,
    marketing_campaign_name varchar,
    category                json,                                     -- string or array, as sent
    url                     varchar,
    asm_group_id            bigint,
    message                 json not null using compression zstd,     -- the whole original record
    _file                   varchar not null,
    _line                   bigint not null,
    _loaded_at              timestamp not null
);

-- SPEC 4.3 Zendesk. Every ticket version kept; unique on (id, updated_at).
create table if not exists raw.zendesk_tickets (
    id                 bigint not null,
    requester_id       bigint,
    status             varchar,
    priority           varchar,
    via_channel        varchar,
    subject            varchar,
    created_at         timestamp not null,
    updated_at         timestamp not null,
    satisfaction_score varchar,                               -- offered|unoffered|good|bad
    record             json not null using compression zstd,  -- the whole original record
    _file              varchar not null,
    _line              bigint not null,
    _loaded_at         timestamp not null
);

create table if not exists raw.zendesk_users (
    id         bigint not null,
    email      varchar,
    name       varchar,
    phone      varchar,
    created_at timestamp,
    updated_at timestamp,
    record     json not null using compression zstd,  -- the whole original record
    _file      varchar not null,
    _line      bigint not null,
    _loaded_at timestamp not null
);

create table if not exists raw.zendesk_ticket_metrics (
    id                                     bigint not null,
    ticket_id                              bigint not null,
    created_at                             timestamp,
    updated_at                             timestamp,
    solved_at                              timestamp,
    replies                                integer,
    reply_time_calendar_minutes            integer,
    first_resolution_time_calendar_minutes integer,
    full_resolution_time_calendar_minutes  integer,
    record                                 json not null using compression zstd,  -- the whole original record
    _file                                  varchar not null,
    _line                                  bigint not null,
    _loaded_at                             timestamp not null
);

-- Marketing spend CSV: date, source, medium, campaign, spend, currency.
create table if not exists raw.spend (
    date       date not null,
    source     varchar not null,
    medium     varchar not null,
    campaign   varchar,
    spend      decimal(18, 2) not null,
    currency   varchar not null,
    _file      varchar not null,
    _line      bigint not null,
    _loaded_at timestamp not null
);

-- Right-to-be-forgotten requests: email, requested_at.
create table if not exists raw.erasure_requests (
    email        varchar not null,
    requested_at timestamp not null,
    _file        varchar not null,
    _line        bigint not null,
    _loaded_at   timestamp not null
);
-- <<< end of generated tables

-- Quarantine: nothing is dropped silently.
create table if not exists raw.rejects (
    source     varchar not null,     -- web|email|tickets|spend|erasure
    _file      varchar not null,
    _line      bigint,               -- line or record number, 1-based
    reason     varchar not null,
    raw_text   varchar,
    _loaded_at timestamp not null
);

-- One row per loaded file (or API page); makes every file load exactly once.
create table if not exists raw.load_manifest (
    source        varchar not null,
    path          varchar not null,
    size_bytes    bigint not null,
    content_hash  varchar not null,
    loaded_at     timestamp not null,
    rows_in       bigint not null,    -- lines/records read
    rows_loaded   bigint not null,
    duplicates    bigint not null,
    rejects       bigint not null,
    -- Added by ingest (issue 3): how the file was seen, so change detection never re-reads
    -- unchanged files and a grown file loads only its new tail.
    mtime_ns      bigint,             -- file mtime when loaded (stat only, no re-hash if unchanged)
    first_line    bigint,             -- first line/record number read by this load (1 for a new file)
    last_line     bigint,             -- last line/record number read so far (cumulative)
    status        varchar             -- new | appended | changed (changed = rejected, see DECISIONS.md)
);

-- Zendesk API cursor per endpoint, committed with each page.
create table if not exists raw.api_cursors (
    endpoint   varchar primary key,
    cursor     varchar,
    updated_at timestamp not null
);


-- Latest version of each Zendesk record (SPEC 4.3: models use the version with the latest
-- updated_at). Raw keeps every version; these views are a convenience for staging and checks.
create view if not exists raw.zendesk_tickets_latest as
select * from raw.zendesk_tickets
qualify row_number() over (partition by id order by updated_at desc, _loaded_at desc, _file desc, _line desc) = 1;

create view if not exists raw.zendesk_users_latest as
select * from raw.zendesk_users
qualify row_number() over (
    partition by id order by updated_at desc nulls last, _loaded_at desc, _file desc, _line desc
) = 1;

create view if not exists raw.zendesk_ticket_metrics_latest as
select * from raw.zendesk_ticket_metrics
qualify row_number() over (
    partition by id order by updated_at desc nulls last, _loaded_at desc, _file desc, _line desc
) = 1;
