"""Portability: the same dbt project on a second engine (PostgreSQL), and proof that it agrees.

`raw_copy` moves the raw layer of a DuckDB warehouse into PostgreSQL (set-based COPY), `dbt_postgres`
runs the dbt project against the `postgres` target, and `parity` compares the marts both engines built.
DuckDB stays the product's engine; PostgreSQL is the tested stand-in for "a bigger warehouse".
"""
