"""Core marts made by set-based SQL, for tests that need mart-shaped tables but not the pipeline.

Columns follow docs/architecture.md. Shared by tests/ops and tests/e2e (imported as a module,
not through conftest, so it works whichever conftest pytest loaded first).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

MARTS_SQL = """
create schema if not exists marts;
create schema if not exists seeds;
create or replace table seeds.products as
select i as product_id, 'SKU-' || i as sku, 'Product ' || i as name, 'cat' || (i % 3) as category,
       1 + (i % 3) as tier, (10 * i)::integer as price, null::integer as upgrade_to_product_id
from range(1, 10) t(i);
create or replace table marts.dim_persons as
select 'p' || i as person_id, 'u' || i || '@example.com' as email,
       ['reach','acquisition','conversion','retention','loyalty','at_risk','churned'][1 + (hash(i) % 7)::int]
         as lifecycle_stage,
       i % 3 > 0 as is_lead, (hash(i * 7) % 5)::int as order_count,
       (hash(i * 11) % 400)::double as net_revenue,
       timestamp '2026-06-30 12:00:00' as as_of
from range(0, {persons}) t(i);
create or replace table marts.fct_orders as
select 'o' || i as order_id, 'p' || (i % ({persons} // 2)) as person_id,
       timestamp '2026-01-01' + to_days((hash(i) % 180)::int) as ordered_at,
       (20 + hash(i) % 200)::double as net_revenue
from range(0, {persons}) t(i);
create or replace table marts.fct_lifecycle_transitions as
select 'p' || (i % {persons}) as person_id, 'reach' as from_stage,
       ['acquisition','conversion','retention','loyalty','at_risk','churned'][1 + (hash(i) % 6)::int]
         as to_stage,
       timestamp '2026-01-01' + to_days((hash(i * 3) % 180)::int) as transitioned_at, 'order' as trigger
from range(0, {persons} * 2) t(i);
create or replace table marts.fct_email_events as
select 'e' || i as sg_event_id,
       ['processed','delivered','delivered','open','click','bounce'][1 + (hash(i) % 6)::int] as event,
       'u' || (i % 97) || '@example.com' as email, 'p' || (i % 97) as person_id,
       timestamp '2026-01-01' + to_hours((hash(i) % 4000)::int) as event_at,
       'c' || (i % 5) as campaign_id, 'Campaign ' || chr(65 + (i % 5)::int) as campaign_name
from range(0, {persons} * 4) t(i);
create or replace table marts.fct_tickets as
select i as ticket_id, 'p' || i as person_id, 'solved' as status,
       ['low','normal','high','urgent'][1 + (hash(i) % 4)::int] as priority, 'email' as channel,
       timestamp '2026-02-01' + to_hours((hash(i) % 3000)::int) as created_at,
       (hash(i * 5) % 600)::int as first_reply_minutes,
       ['good','bad','offered',null][1 + (hash(i * 13) % 4)::int] as satisfaction_score
from range(0, {persons}) t(i);
"""


def make_marts_warehouse(path: Path, persons: int = 300) -> Path:
    """Create (or replace) the core marts in the DuckDB file at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute(MARTS_SQL.format(persons=persons))
    finally:
        con.close()
    return path
