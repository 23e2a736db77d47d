"""One TLS context for every Prefect API client in the process.

Why: Prefect 3.8's `PrefectClient` and `SyncPrefectClient` build a new `ssl.SSLContext` from the
certifi bundle in every constructor, and a task run constructs two or three clients (the task
engine's client context and each re-hydrated context). Loading the bundle costs ~15-30 ms of CPU
under OpenSSL 3 (python/cpython#95031). A `lifecycle build` runs a Prefect task per dbt node, so
this was measured at a quarter of all CPU samples of a 324-node build, more than dbt itself. Prefect
accepts a ready `SSLContext` in `httpx_settings["verify"]` and then skips building one; upstream
work to let callers pass one is PrefectHQ/prefect#19106.

The shared context is built with Prefect's own rules (PREFECT_API_TLS_INSECURE_SKIP_VERIFY, else
PREFECT_API_SSL_CERT_FILE, else certifi) once per distinct setting. An `SSLContext` is safe to
share between connections and threads: it is configuration that OpenSSL reference-counts.
A caller that passes its own `verify` is left alone.
"""

from __future__ import annotations

import functools
import ssl
import threading
from typing import Any

_lock = threading.Lock()
_installed = False


@functools.lru_cache(maxsize=4)
def _context(insecure: bool, cert_file: str) -> ssl.SSLContext:
    if insecure:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=cert_file)


def shared_tls_context() -> ssl.SSLContext:
    """The context Prefect would build for the current settings, built once."""
    import certifi
    from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_TLS_INSECURE_SKIP_VERIFY

    insecure = bool(PREFECT_API_TLS_INSECURE_SKIP_VERIFY.value())
    cert_file = "" if insecure else (PREFECT_API_SSL_CERT_FILE.value() or certifi.where())
    return _context(insecure, str(cert_file))


def share_tls_context() -> None:
    """Make Prefect's API clients reuse `shared_tls_context()` (idempotent, process-wide)."""
    global _installed
    with _lock:
        if _installed:
            return
        from prefect.client import orchestration

        for cls in (orchestration.PrefectClient, orchestration.SyncPrefectClient):
            cls.__init__ = _with_shared_context(cls.__init__)
        _installed = True


def _with_shared_context(init: Any) -> Any:
    @functools.wraps(init)
    def __init__(
        self: Any, api: Any, *args: Any, httpx_settings: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        settings = dict(httpx_settings or {})
        if "verify" not in settings:  # an explicit verify (False, a path, a context) stays the caller's
            settings["verify"] = shared_tls_context()
        init(self, api, *args, httpx_settings=settings, **kwargs)

    return __init__
