"""Counts an ingest run reports: per file, per source and for the whole run.

Kept separate from the loaders so the CLI, the Prefect flow and the run summary all print and
serialise the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FileResult:
    """One committed load of one file or API page (one manifest row)."""

    path: str
    rows_in: int = 0
    rows_loaded: int = 0
    duplicates: int = 0
    rejects: int = 0
    status: str = "new"

    def check(self) -> None:
        """Every line or record is accounted for, or the load must not commit."""
        if self.rows_in != self.rows_loaded + self.duplicates + self.rejects:
            raise AssertionError(
                f"{self.path}: {self.rows_in} records in != {self.rows_loaded} loaded + "
                f"{self.duplicates} duplicates + {self.rejects} rejects"
            )


@dataclass
class SourceSummary:
    source: str
    files: int = 0
    skipped_files: int = 0  # already loaded and unchanged
    rows_in: int = 0
    rows: int = 0
    duplicates: int = 0
    rejects: int = 0
    results: list[FileResult] = field(default_factory=list)

    def add(self, result: FileResult) -> None:
        result.check()
        self.results.append(result)
        self.files += 1
        self.rows_in += result.rows_in
        self.rows += result.rows_loaded
        self.duplicates += result.duplicates
        self.rejects += result.rejects

    def to_row(self) -> dict[str, int | str]:
        return {
            "source": self.source,
            "files": self.files,
            "skipped_files": self.skipped_files,
            "rows_in": self.rows_in,
            "rows": self.rows,
            "duplicates": self.duplicates,
            "rejects": self.rejects,
        }


@dataclass
class IngestSummary:
    sources: dict[str, SourceSummary] = field(default_factory=dict)

    def add(self, summary: SourceSummary) -> None:
        self.sources[summary.source] = summary

    @property
    def total_files(self) -> int:
        return sum(s.files for s in self.sources.values())

    @property
    def total_rows(self) -> int:
        return sum(s.rows for s in self.sources.values())

    @property
    def total_duplicates(self) -> int:
        return sum(s.duplicates for s in self.sources.values())

    @property
    def total_rejects(self) -> int:
        return sum(s.rejects for s in self.sources.values())

    def to_rows(self) -> list[dict[str, int | str]]:
        return [s.to_row() for s in self.sources.values()]

    def __str__(self) -> str:
        header = ("source", "files", "rows", "duplicates", "rejects")
        rows = [(s.source, s.files, s.rows, s.duplicates, s.rejects) for s in self.sources.values()]
        rows.append(("total", self.total_files, self.total_rows, self.total_duplicates, self.total_rejects))
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        lines = []
        for n, r in enumerate([header, *rows]):
            cells = [str(v).ljust(widths[0]) if i == 0 else str(v).rjust(widths[i]) for i, v in enumerate(r)]
            lines.append("  ".join(cells))
            if n == 0 or n == len(rows) - 1:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)
