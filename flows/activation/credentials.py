"""Destination secrets (URLs with credentials, tokens) and their redaction.

Secrets come from the environment or a Prefect Secret block, never from segments.yml. Every string
that can reach a log, a file, a dead letter or an error passes through `Redactor`, which replaces
each secret (and the credential parts of a URL) with `***`.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from flows.activation.config import ConfigError

REDACTED = "***"


def resolve_secret(env_name: str | None, block_name: str | None, what: str) -> str | None:
    """The value from `env_name`, else from the Prefect Secret block `block_name`, else None."""
    if env_name and os.environ.get(env_name, "").strip():
        return os.environ[env_name].strip()
    if block_name:
        try:
            from prefect.blocks.system import Secret

            value = Secret.load(block_name).get()
        except Exception as exc:  # the block API raises ValueError/ObjectNotFound and others
            raise ConfigError(
                f"{what}: could not load Prefect Secret block {block_name!r} ({type(exc).__name__})"
            ) from None
        return str(value).strip() or None
    return None


class Redactor:
    """Replaces known secret values in text. Longest first, so a URL goes before its parts."""

    def __init__(self, *secrets: str | None) -> None:
        values: set[str] = set()
        for s in secrets:
            if not s:
                continue
            values.add(s)
            parts = urlsplit(s) if "://" in s else None
            if parts is not None:
                for piece in (parts.username, parts.password):
                    if piece and len(piece) >= 3:
                        values.update({piece, unquote(piece)})
                # Webhook URLs often carry the secret in the path or query string.
                if parts.query:
                    values.add(parts.query)
                if len(parts.path) > 1:
                    values.add(parts.path)
        self._values = sorted((v for v in values if len(v) >= 3), key=len, reverse=True)

    def __call__(self, text: object) -> str:
        out = str(text)
        for v in self._values:
            out = out.replace(v, REDACTED)
        return out


def display_url(url: str) -> str:
    """scheme://host[:port] only: credentials, path (webhook paths often embed a token) and query go."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"
