"""dbt transformation step (see dbt.py for the plain invocation)."""
