"""Errors users see: each carries a one-line message saying what failed and what to do."""

from __future__ import annotations


class LifecycleError(Exception):
    """An expected failure with a message fit for the one-line CLI error (no stack trace)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} ({self.hint})" if self.hint else base

    @staticmethod
    def describe(exc: BaseException) -> str:
        """One line for any exception; unexpected ones point at --debug."""
        if isinstance(exc, LifecycleError):
            return str(exc)
        first = (str(exc).strip().splitlines() or [""])[0]
        return f"{type(exc).__name__}: {first} (re-run with --debug for the stack trace)"


class GateFailed(LifecycleError):
    """A data-quality gate with severity `error` failed: publish and sync must not run."""


class WarehouseBusy(LifecycleError):
    """Another run holds the warehouse write lock."""
