"""Privacy: the erasure ledger, redaction everywhere the product writes, and `lifecycle person`.

SPEC section 10. Logic lives in plain functions (`erase.erase`, `erase.erase_now`,
`erase.redact_after_ingest`, `person`), so the CLI, the pipeline's erasure step, the ingest flow's
post-load hook and the tests call the same code with or without a Prefect server.
"""
