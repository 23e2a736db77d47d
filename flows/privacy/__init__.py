"""Privacy: the erasure ledger, redaction everywhere the product writes, and `lifecycle person`.

SPEC section 10. Logic lives in plain functions (`erase`, `person`, `ingest_hook`), so the CLI,
the pipeline and the tests call the same code with or without a Prefect server.
"""
