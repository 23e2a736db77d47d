"""Lifecycle: customer-lifecycle data pipeline."""
