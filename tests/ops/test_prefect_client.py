"""Prefect API clients share one TLS context (flows.prefect_client): plain construction, no server."""

from __future__ import annotations

import ssl

from flows.prefect_client import share_tls_context, shared_tls_context


def _ssl_context(client) -> ssl.SSLContext:
    transport = client._client._transport
    while hasattr(transport, "_transport"):  # Prefect wraps httpx's transport
        transport = transport._transport
    return transport._pool._ssl_context


def test_clients_reuse_one_context_and_keep_an_explicit_verify() -> None:
    from prefect.client.orchestration import PrefectClient, SyncPrefectClient

    share_tls_context()
    share_tls_context()  # idempotent: the constructors are wrapped once
    first = SyncPrefectClient("http://127.0.0.1:9/api")
    second = SyncPrefectClient("http://127.0.0.1:9/api")
    shared = shared_tls_context()
    assert _ssl_context(first) is shared and _ssl_context(second) is shared
    assert shared.verify_mode == ssl.CERT_REQUIRED  # Prefect's default: verified against the bundle
    assert _ssl_context(PrefectClient("http://127.0.0.1:9/api")) is shared
    unverified = SyncPrefectClient("http://127.0.0.1:9/api", httpx_settings={"verify": False})
    assert _ssl_context(unverified) is not shared
    assert _ssl_context(unverified).verify_mode == ssl.CERT_NONE
