"""Destination secrets (URLs with credentials, tokens) and their redaction.

Secrets come from the environment or a Prefect Secret block, never from segments.yml. Every string
that can reach a log, a file, a dead letter or an error passes through `Redactor`, which replaces
each secret (and the credential parts of a URL) with `***`.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from flows.activation.config import ConfigError, DestinationConfig
from flows.activation.destinations.channel_formats import CHANNEL_TYPES, GOOGLE
from flows.errors import LifecycleError

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


def channel_credentials(dest: DestinationConfig) -> tuple[str | None, str | None, str | None]:
    """(token, Google developer token, base URL override) from the environment or Secret blocks."""
    what = f"destination {dest.name!r}"
    token = resolve_secret(dest.token_env, dest.token_secret, f"{what} token")
    developer = None
    if dest.type == GOOGLE:
        developer = resolve_secret(
            dest.developer_token_env, dest.developer_token_secret, f"{what} developer token"
        )
    base_url = resolve_secret(dest.url_env, dest.url_secret, f"{what} url")
    return token, developer, base_url


def _where(env: str | None, secret: str | None) -> str:
    return f"environment variable {env}" if env else f"Prefect Secret block {secret}"


def skip_reason(dest: DestinationConfig) -> str | None:
    """Why an optional destination is skipped this run (its URL or credentials are not set), else None.

    A destination that is not optional and lacks them fails with the same wording.
    """
    missing: str | None = None
    if dest.type == "http":
        if resolve_secret(dest.url_env, dest.url_secret, f"destination {dest.name!r} url") is None:
            missing = f"no URL ({_where(dest.url_env, dest.url_secret)} is not set)"
    elif dest.type in CHANNEL_TYPES and dest.push:
        token, developer, _ = channel_credentials(dest)
        if token is None:
            missing = f"no credentials ({_where(dest.token_env, dest.token_secret)} is not set)"
        elif dest.type == GOOGLE and developer is None:
            where = _where(dest.developer_token_env, dest.developer_token_secret)
            missing = f"no developer token ({where} is not set)"
    if missing is None:
        return None
    if not dest.optional:
        raise LifecycleError(f"destination {dest.name!r}: {missing}")
    return f"skipped: {missing}"
