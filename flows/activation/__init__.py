"""Activation (SPEC section 8): segments.yml -> suppressed audiences -> file, http and ads destinations.

Modules: `config` (segments.yml, validated), `audiences` (one SQL query per segment), `suppression`
(who is never contacted), `state` (sync schema: runs, record hashes, dead letters), `destinations`
(file, http, ads), `credentials` (secrets and redaction), `flows` (the Prefect `sync_flow`).
"""
