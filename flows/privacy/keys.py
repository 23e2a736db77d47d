"""The erasure key and the keyed hash (HMAC-SHA256) of an address, computed set-based in DuckDB.

Why HMAC and not a plain hash: a plain sha256 of an address is a lookup key for anyone who has the
address (or a list of addresses), so a ledger of plain hashes would still say "this person was a
customer". With a secret key, the ledger says nothing without the key.

DuckDB 2.0 has `sha256` and `md5` but no `hmac` (checked with `duckdb_functions()`), so HMAC is
written out in SQL from its definition (RFC 2104): H((K ^ opad) || H((K ^ ipad) || m)). The two
padded keys live in session variables of the connection (never in SQL text, never on disk), and a
temporary macro `lifecycle_hmac(text)` reads them. It is pure SQL, so it runs inside the ingest
transaction and over millions of rows without Python in the loop.

Key source, in order: `LIFECYCLE_ERASURE_KEY` (hex or any text, via Settings), else the key file
`DIR/.erasure_key` (created with mode 0600 on first use, 32 random bytes, hex). A fingerprint of
the key (HMAC of a fixed label) is stored in `privacy.key_fingerprint`; a different key later
fails closed with one clear line, because a wrong key silently stops matching erased addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from flows.errors import LifecycleError
from flows.settings import Settings

KEY_FILE = ".erasure_key"
FINGERPRINT_LABEL = b"lifecycle-erasure-key-fingerprint"
_BLOCK = 64  # SHA-256 block size in bytes


class ErasureKeyError(LifecycleError):
    """The erasure key is missing or is not the key the ledger was written with."""


def key_path(settings: Settings) -> Path:
    return settings.root / KEY_FILE


def load_key(settings: Settings, create: bool = True) -> bytes | None:
    """The key bytes: from the environment, else the key file (created when `create`)."""
    configured = settings.erasure_key.get_secret_value() if settings.erasure_key else None
    if configured:
        text = configured.strip()
        try:
            return bytes.fromhex(text) if len(text) >= 32 else text.encode()
        except ValueError:
            return text.encode()
    path = key_path(settings)
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    if not create:
        return None
    settings.root.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    # O_EXCL: two processes creating it at once cannot both win and end up with different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex() + "\n")
    return key


def fingerprint(key: bytes) -> str:
    return hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


def hmac_hex(key: bytes, text: str) -> str:
    """Python form of lifecycle_hmac (tests and single values)."""
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _pads(key: bytes) -> tuple[bytes, bytes]:
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def register_hmac(con: Any, key: bytes) -> None:
    """Define `lifecycle_hmac(varchar) -> varchar` (hex HMAC-SHA256) on this connection.

    The padded keys are session variables (`set variable`): in memory only, gone with the
    connection, never in SQL text, a table or a temp file.
    """
    ipad, opad = _pads(key)
    con.execute("set variable __lifecycle_erasure_ipad = ?", [ipad])
    con.execute("set variable __lifecycle_erasure_opad = ?", [opad])
    con.execute(
        """
        create or replace temp macro lifecycle_hmac(m) as sha256(
            getvariable('__lifecycle_erasure_opad')
            || unhex(sha256(getvariable('__lifecycle_erasure_ipad') || encode(cast(m as varchar))))
        )
        """
    )


def check_fingerprint(con: Any, key: bytes, write: bool) -> None:
    """Fail closed when the ledger was written with another key; record the fingerprint on first write."""
    from flows.privacy.ledger import SCHEMA, ledger_exists

    if not ledger_exists(con):
        return
    rows = con.execute(f"select fingerprint from {SCHEMA}.key_fingerprint").fetchall()
    mine = fingerprint(key)
    if not rows:
        if write:
            con.execute(f"insert into {SCHEMA}.key_fingerprint values (?, current_timestamp)", [mine])
        return
    if rows[0][0] != mine:
        raise ErasureKeyError(
            "the erasure key is not the one the erasure ledger was written with, so erased "
            "addresses would no longer be recognised",
            hint="restore DIR/.erasure_key or LIFECYCLE_ERASURE_KEY from your backup (see README, Privacy)",
        )


def prepare(con: Any, settings: Settings, write: bool = False) -> bytes:
    """Load the key, check it against the ledger and register lifecycle_hmac; returns the key.

    A read-only caller (`write=False`) never creates the key file: with a non-empty ledger and no
    key it fails closed instead of silently matching nothing.
    """
    from flows.privacy.ledger import ledger_size

    key = load_key(settings, create=False)
    if key is None and ledger_size(con) == 0 and write:
        key = load_key(settings, create=True)  # first erasure: the key is created now
    if key is None:
        if ledger_size(con) > 0:
            raise ErasureKeyError(
                "the erasure key is missing (no LIFECYCLE_ERASURE_KEY and no DIR/.erasure_key), "
                "so erased addresses cannot be recognised",
                hint="restore the key from your backup; see README, Privacy and consent",
            )
        key = secrets.token_bytes(32)  # nothing erased yet: any key matches nothing, correctly
    else:
        check_fingerprint(con, key, write)
    register_hmac(con, key)
    return key
