"""Synthetic raw data for Lifecycle (`lifecycle generate`), in the exact formats of SPEC section 4.

Modules by concern: `population` (who), `behaviour` (what they do, day by day), `email_events`
(SendGrid), `web` (Segment), `tickets` (Zendesk), `spend` (spend and erasure CSVs), `dirt` (defects
real feeds contain), `writers` (deterministic, atomic files), `generator` (the orchestration).
"""

from flows.generate.generator import generate
from flows.generate.summary import GenerateSummary

__all__ = ["GenerateSummary", "generate"]
