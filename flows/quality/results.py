"""What a gate returns: findings per check, per suite, and one verdict.

`GateResult.passed` is the only thing the pipeline needs to decide whether publish and sync may run;
the rest exists so a human reading one line (`summary_line`) knows which suite failed and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Finding:
    """The outcome of one check. `success` False with severity `error` blocks publish and sync."""

    stage: str
    suite: str
    check: str
    severity: str
    success: bool
    message: str
    observed: Any = None
    min_value: float | None = None
    max_value: float | None = None

    @property
    def key(self) -> str:
        return f"{self.suite}.{self.check}"

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


@dataclass
class SuiteResult:
    stage: str
    suite: str
    findings: list[Finding]
    seconds: float = 0.0

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if not f.success and f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.success and f.severity == "warn"]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def status(self) -> str:
        return "failed" if self.failures else ("warned" if self.warnings else "passed")


@dataclass
class GateResult:
    """Verdict of one gate (`raw`, `mart`) or of several combined (`all`)."""

    stage: str
    suite_results: list[SuiteResult] = field(default_factory=list)
    data_docs_path: Path | None = None
    run_ids: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Finding]:
        return [f for s in self.suite_results for f in s.failures]

    @property
    def warnings(self) -> list[Finding]:
        return [f for s in self.suite_results for f in s.warnings]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def checks(self) -> int:
        return sum(len(s.findings) for s in self.suite_results)

    def summary_line(self) -> str:
        """One line: the first failure in full (it is what to fix first) and how many others."""
        if self.failures:
            first, rest = self.failures[0], len(self.failures) - 1
            more = (
                f" (+{rest} more: {', '.join(f.key for f in self.failures[1:4])}{'...' if rest > 3 else ''})"
            )
            return f"gate {self.stage}: FAILED {first}{more if rest else ''}"
        warned = f", {len(self.warnings)} warnings ({', '.join(f.key for f in self.warnings[:3])})"
        return (
            f"gate {self.stage}: passed {len(self.suite_results)} suites, {self.checks} checks"
            f"{warned if self.warnings else ''}"
        )

    def to_rows(self) -> list[dict[str, Any]]:
        """Failed and warned checks first, then passed ones, for the run summary table."""
        order = {"failed": 0, "warned": 1, "passed": 2}
        rows = []
        for s in self.suite_results:
            for f in s.findings:
                status = "passed" if f.success else ("failed" if f.severity == "error" else "warned")
                rows.append(
                    {
                        "stage": f.stage,
                        "suite": f.suite,
                        "check": f.check,
                        "severity": f.severity,
                        "status": status,
                        "message": f.message,
                        "data_docs": str(self.data_docs_path) if self.data_docs_path else None,
                    }
                )
        return sorted(rows, key=lambda r: order[r["status"]])

    def __str__(self) -> str:
        lines = [self.summary_line()]
        lines += [f"  FAILED {f}" for f in self.failures]
        lines += [f"  warn   {f}" for f in self.warnings]
        if self.data_docs_path:
            lines.append(f"  data docs: {self.data_docs_path}")
        return "\n".join(lines)

    @classmethod
    def combine(cls, stage: str, results: list[GateResult]) -> GateResult:
        docs = next((r.data_docs_path for r in reversed(results) if r.data_docs_path), None)
        return cls(
            stage=stage,
            suite_results=[s for r in results for s in r.suite_results],
            data_docs_path=docs,
            run_ids=[i for r in results for i in r.run_ids],
        )
