"""The staging session: one owner for the temp relations and the scratch directory that an ingest
uses on its DuckDB connection.

Staging (records.py), parsing and committing (loader.py) hand data to each other through temp
relations on one connection, because that keeps every step set-based inside DuckDB. This class
names those relations, so no module spells another's table, and owns their lifetime:

- `drop_batch()` after each commit frees the batch's staged and parsed copies before the next
  batch is staged (memory stays one batch's worth);
- `close()` (or leaving `with StagingSession.open(...)`) drops every relation it owns that still
  exists, on any exit, and removes the scratch directory. A process killed with -9 leaves no temp
  relations (they die with the connection) and its scratch directory is removed by the next
  `open` of the same source.

What a session owns is found in the connection's catalog by name (the fixed names below and
`_parsed_<n>[_rows]`), so a session made for a bare connection (`StagingSession.of(con)`, used by
callers that hold only a connection, such as the Zendesk API loader) cleans up the same tables.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb


class StagingSession:
    """Temp relations and scratch files of ingest on one connection (one ingest at a time)."""

    # Staged input (records.py)
    RECORDS = "_records"  # (line_no, line, entity, pre_reason, file_no): table, or view over a reader
    LINES = "_lines"  # numbered copy of a positional `_records` (a parse that is not order-safe)
    BAD = "_bad"  # damaged lines found by the slow path: marker id, reason, original text
    DOC = "_doc"  # one JSON document's text
    DOCS = "_docs"  # a batch of JSON documents
    BATCH_PATHS = "_batch_paths"  # file_no -> path of a document batch
    CSV = "_csv"  # (line_no, line, pre_reason, c_<column>...): a CSV's rows as text
    CSV_GOOD = "_csv_good"  # rows the CSV reader parsed when some rows of the file could not be
    CSV_REJ = "_csv_rej"  # the CSV reader's store_rejects tables
    CSV_SCAN = "_csv_scan"
    # Parsed and committed (loader.py)
    BATCH_FILES = "_batch_files"  # file_no -> path and line offset of the batch being committed
    DUPKEYS = "_dupkeys"  # keys repeated inside the batch, with their first occurrence
    SEEN = "_seen"  # batch keys already in history
    DUPS = "_dups"  # every record of the batch not to append

    _STAGED = (RECORDS, LINES, BAD, DOC, DOCS, BATCH_PATHS, CSV, CSV_GOOD, CSV_REJ, CSV_SCAN)
    _BATCH = (BATCH_FILES, DUPKEYS, SEEN, DUPS)
    _PARSED = re.compile(r"_parsed_\d+(_rows)?")

    def __init__(self, con: duckdb.DuckDBPyConnection, scratch: Path | None = None) -> None:
        """`scratch` given here is borrowed (never removed); one the session makes is its own."""
        self.con = con
        self._scratch = scratch
        self._owns_scratch = False

    @classmethod
    def of(cls, target: StagingSession | duckdb.DuckDBPyConnection) -> StagingSession:
        """The session itself, or a session over a bare connection (one that needs scratch files
        makes them in the system temp directory; `close` removes them)."""
        return target if isinstance(target, StagingSession) else cls(target)

    @classmethod
    @contextlib.contextmanager
    def open(cls, con: duckdb.DuckDBPyConnection, root: Path, source: str) -> Iterator[StagingSession]:
        """A session with a fresh scratch directory `root/.ingest-<source>-*` (scratch copies of
        a killed run of the same source are removed first: one ingest of a source runs at a time)."""
        for stale in root.glob(f".ingest-{source}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)
        session = cls(con, Path(tempfile.mkdtemp(prefix=f".ingest-{source}-", dir=root)))
        session._owns_scratch = True
        try:
            yield session
        finally:
            session.close()

    @property
    def scratch(self) -> Path:
        """Directory for scratch copies (a file caught mid-write, a cleaned damaged file)."""
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix=".ingest-"))
            self._owns_scratch = True
        return self._scratch

    @staticmethod
    def parsed(n: int) -> str:
        """Validated and extracted records for the spec's target number `n`."""
        return f"_parsed_{n}"

    @staticmethod
    def parsed_rows(n: int) -> str:
        """The materialised rows behind a positional `parsed(n)` view."""
        return f"_parsed_{n}_rows"

    def execute(self, sql: str, params: list | None = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(sql, params or [])

    def fetchall(self, sql: str, params: list | None = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def drop(self, *names: str) -> None:
        """Drop temp relations, whether each is a view or a table (DuckDB's DROP names the kind)."""
        for name in names:
            for kind in ("view", "table"):
                with contextlib.suppress(duckdb.CatalogException):
                    self.con.execute(f"drop {kind} if exists {name}")

    def _owned(self) -> list[tuple[str, str]]:
        """(name, 'view'|'table') of every temp relation of this session that exists, views first
        (a view over `_lines` or `_parsed_<n>_rows` goes before its table)."""
        rows = self.fetchall(
            "select view_name, 'view' from duckdb_views() where temporary "
            "union all select table_name, 'table' from duckdb_tables() where temporary"
        )
        fixed = set(self._STAGED) | set(self._BATCH)
        owned = [(name, kind) for name, kind in rows if name in fixed or self._PARSED.fullmatch(name)]
        return sorted(owned, key=lambda r: r[1] != "view")

    def _drop_owned(self) -> None:
        for name, kind in self._owned():
            self.con.execute(f"drop {kind} if exists {name}")

    def drop_batch(self) -> None:
        """Free everything of the batch just committed: staged, parsed and de-duplication tables."""
        self._drop_owned()

    def close(self) -> None:
        """Drop every relation this session owns and remove its scratch directory."""
        try:
            self._drop_owned()
        finally:
            if self._scratch is not None and self._owns_scratch:
                shutil.rmtree(self._scratch, ignore_errors=True)
                self._scratch = None
