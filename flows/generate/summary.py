"""What `lifecycle generate` reports: files and records per source, dirt injected, the funnel."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path


@dataclass
class GenerateSummary:
    raw_dir: Path
    start: date
    end: date  # last day with data (inclusive)
    persons: int
    files: dict[str, int] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)  # records written, dirt included
    dirty: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> kind -> count
    funnel: dict[str, int] = field(default_factory=dict)  # visitors, leads, customers, repeat, loyal_4plus
    seconds: float = 0.0

    def dirty_total(self, source: str | None = None) -> int:
        srcs = [source] if source else list(self.dirty)
        return sum(sum(self.dirty.get(s, {}).values()) for s in srcs)

    def __str__(self) -> str:
        lines = [
            f"generated {self.persons} persons, {self.start} .. {self.end} into {self.raw_dir} "
            f"in {self.seconds:.1f}s"
        ]
        for src in self.files:
            dirt = self.dirty.get(src, {})
            d = ", ".join(f"{k} {v}" for k, v in sorted(dirt.items()) if v)
            lines.append(
                f"  {src:<8} {self.files[src]:>5} files {self.records.get(src, 0):>10} records"
                + (f"  dirty: {d}" if d else "")
            )
        if self.funnel:
            lines.append("  funnel: " + ", ".join(f"{k} {v}" for k, v in self.funnel.items()))
        return "\n".join(lines)
