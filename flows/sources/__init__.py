"""Ingest: raw files and Zendesk API pages into the `raw` schema of warehouse.duckdb.

Entry points: `flows.sources.ingest.ingest_all/ingest_source` (plain functions) and
`flows.sources.flows.ingest_flow` (Prefect). See DECISIONS.md "Ingest" for the policies.
"""
