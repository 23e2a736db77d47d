"""Ingest: raw files and Zendesk API pages into the `raw` schema of warehouse.duckdb.

Entry points: `flows.sources.ingest.ingest_all/ingest_source` (plain functions) and
`flows.sources.flows.ingest_flow` (Prefect). See DECISIONS.md "Ingest" for the policies.
Raw tables are declared in `specs.py` (schema.sql's tables are generated from it); `records.py`
stages, `loader.py` parses and commits, through the temp relations `session.StagingSession` owns.
"""
