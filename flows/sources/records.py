"""Turn raw files into the staged records `_records(line_no, line, entity, pre_reason, file_no)`
(CSV: `_csv`); the relations belong to the caller's `StagingSession` (session.py).

Every loader works on that one shape, so web, email and tickets share the same validation,
de-duplication and accounting code, whatever the file layout:

- JSONL (plain or .gz) is read by DuckDB's CSV reader as one VARCHAR column per line (no quoting,
  a delimiter that never occurs), so DuckDB decompresses and splits natively and in parallel.
  `_line` is the ordinal of the non-blank line (blank lines are not records).
- If that strict read fails (invalid UTF-8 somewhere, or a truncated gzip stream) the file takes a
  slow path that is only ever paid for damaged files: the bytes are decoded with
  `surrogateescape`, bad lines are found with one regex scan, replaced by markers and re-read by
  DuckDB, and the markers become rejects with the original text. A truncated gzip keeps every line
  before the cut and adds one reject for the cut.
- A JSON document (`.json`: an array, an object, or a Zendesk page) is parsed by DuckDB and its
  records are exploded with their 1-based index.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from flows.sources.session import StagingSession

_S = StagingSession

# Longest record a JSONL line may hold. DuckDB's CSV reader allocates a buffer of about 16 lines of
# this size per thread, so 100 MiB meant 1.5 GiB per thread and parallel reads ran out of memory;
# a Segment message is at most 32 KiB. A longer line is quarantined by the slow path.
MAX_LINE_BYTES = 8 << 20

# Field delimiter for "one line = one column" CSV reads: a control character that valid JSON
# never contains unescaped, so no line is ever split.
_LINE_OPTS = (
    "columns={'line': 'VARCHAR'}, delim='\\x01', quote='', escape='', header=false, "
    f"auto_detect=false, new_line='\\n', strict_mode=false, max_line_size={MAX_LINE_BYTES}"
)
# A line is a record unless it is empty or only spaces. `trim` on every line cost 1.5 s per million
# lines; the first character decides for almost every line, and only lines that start with a
# space or a control character are trimmed (same result as `trim(line) <> ''`).
_NON_BLANK = "(ascii(line) > 32 or trim(line) <> '')"
_BAD_MARK = "\x02lifecycle-bad-line:"
_SURROGATES = re.compile("[\udc80-\udcff]")
ZENDESK_ENTITIES = {
    "tickets": "tickets",
    "ticket": "tickets",
    "users": "users",
    "user": "users",
    "ticket_metrics": "ticket_metrics",
    "ticket_metric": "ticket_metrics",
}


@dataclass
class Staged:
    """What was staged: record count, and whether the file ended mid-line (not yet complete)."""

    records: int  # -1 when positional (not read yet)
    complete_size: int  # bytes of the file that were consumed (up to the last newline for JSONL)
    positional: bool = False  # `_records` is a positional view over the file (see _view_lines)
    source_path: Path | None = None


READ_ERRORS = (duckdb.InvalidInputException, duckdb.IOException, duckdb.ConversionException)


# How JSONL lines get their numbers. A `row_number() over ()` window made the read, and the JSON
# parse after it, run on one thread. Instead `_records` is a view over DuckDB's strict reader with
# `line_no` left NULL ("positional"), and the loader's parse, a chain of projections and filters
# checked to contain no join, is materialised with CREATE TABLE AS: DuckDB's reader and CREATE TABLE
# AS preserve read order ("order preservation" in its docs), so the parsed table's rowid + 1 is the
# line number. Where a parse is not order-safe, `number_lines` copies the lines once and numbers
# them by that copy's rowid.
def _view_lines(session: StagingSession, paths: str, file_no: str) -> None:
    """`_records` = a positional view over the non-blank lines of `paths` (a SQL string or list
    literal). Reading it raises one of READ_ERRORS if a file cannot be read strictly."""
    session.drop(_S.RECORDS, _S.LINES)
    session.execute(
        f"create temp view {_S.RECORDS} as select null::bigint as line_no, line, null::varchar as entity, "
        f"null::varchar as pre_reason, {file_no} as file_no from read_csv({paths}, {_LINE_OPTS}) "
        f"where {_NON_BLANK}"
    )


def number_lines(session: StagingSession) -> None:
    """Turn a positional `_records` into a numbered one (1.. in read order across its files)."""
    session.execute(f"create or replace temp table {_S.LINES} as select file_no, line from {_S.RECORDS}")
    session.drop(_S.RECORDS)
    session.execute(
        f"create temp view {_S.RECORDS} as select rowid + 1 as line_no, line, null::varchar as entity, "
        f"null::varchar as pre_reason, file_no from {_S.LINES}"
    )


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def is_document(path: Path) -> bool:
    """`.json[.gz]` holds one JSON document; `.jsonl[.gz]` and `.ndjson` hold one record a line."""
    name = path.name.lower().removesuffix(".gz")
    return name.endswith(".json")


def create_records(target: StagingSession | duckdb.DuckDBPyConnection) -> None:
    """An empty `_records` table (replacing a staged view or table of the previous file)."""
    session = StagingSession.of(target)
    session.drop(_S.RECORDS, _S.LINES)
    session.execute(
        f"create temp table {_S.RECORDS} "
        "(line_no bigint, line varchar, entity varchar, pre_reason varchar, file_no integer default 0)"
    )


def stage_file(session: StagingSession, path: Path, *, zendesk: bool = False) -> Staged:
    """Fill `_records` for `path`. Never raises for bad content: bad content becomes rows with a
    `pre_reason` (or a reason found later by the source's validation)."""
    create_records(session)
    if is_document(path):
        return _stage_document(session, path, zendesk=zendesk)
    return _stage_lines(session, path)


def complete_size(path: Path) -> int:
    """Bytes up to and including the last newline of a plain file: a line still being written by
    an appender is left for the next run instead of being rejected as malformed."""
    size = path.stat().st_size
    if path.suffix == ".gz" or size == 0:
        return size
    with path.open("rb") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return size
        # Walk back in blocks to the last newline (cheap: at most one partial line).
        pos = size
        block = 1 << 16
        while pos > 0:
            start = max(0, pos - block)
            fh.seek(start)
            chunk = fh.read(pos - start)
            idx = chunk.rfind(b"\n")
            if idx >= 0:
                return start + idx + 1
            pos = start
        return 0


def _stage_lines(session: StagingSession, path: Path) -> Staged:
    """Stage a JSONL file as a positional view over DuckDB's strict reader; if reading it fails
    (bad bytes, broken gzip, an over-long line), `restage_slow` stages it with a reject per bad line."""
    complete = complete_size(path)
    if complete == 0:
        return Staged(0, 0)
    source_path = path
    if complete != path.stat().st_size:
        # Only read the complete lines: copy them (rare: a file caught mid-write). The copy lives
        # in the session's scratch directory, removed when the session closes.
        fd, name = tempfile.mkstemp(dir=session.scratch, suffix=".jsonl")
        with os.fdopen(fd, "wb") as out, path.open("rb") as src:
            out.write(src.read(complete))
        source_path = Path(name)
    _view_lines(session, _sql_str(str(source_path)), "0")
    return Staged(-1, complete, positional=True, source_path=source_path)


def restage_slow(session: StagingSession, staged: Staged) -> Staged:
    """The strict read of a positionally staged file failed: stage it the slow way."""
    assert staged.source_path is not None
    create_records(session)
    _stage_lines_slow(session, staged.source_path)
    return Staged(_count(session), staged.complete_size)


def _read_bytes(path: Path) -> tuple[bytes, str | None]:
    """Whole content, decompressed; for a truncated gzip the bytes before the cut and a reason."""
    raw = path.read_bytes()
    if path.suffix != ".gz":
        return raw, None
    out = bytearray()
    data = raw
    while data:
        d = zlib.decompressobj(wbits=47)  # gzip or zlib header, concatenated members supported
        try:
            out += d.decompress(data)
        except zlib.error as exc:
            return bytes(out), f"corrupt gzip stream ({exc})"
        if not d.eof:
            return bytes(out), "truncated gzip stream (file ends mid-stream)"
        data = d.unused_data
    return bytes(out), None


def _line_span(text: str, at: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    return start, len(text) if end < 0 else end


def _bad_lines(text: str) -> list[tuple[int, int, str]]:
    """(start, end, reason) of each line DuckDB's strict reader cannot take, in text order: lines
    with bytes that are not UTF-8 (surrogate-escaped here) and lines over MAX_LINE_BYTES."""
    spans: dict[int, tuple[int, str]] = {}
    for match in _SURROGATES.finditer(text):
        start, end = _line_span(text, match.start())
        spans.setdefault(start, (end, "invalid UTF-8 bytes"))
    # A line can only exceed the byte limit if it has more than a quarter as many characters.
    if len(text) > MAX_LINE_BYTES // 4:
        start = 0
        for line in text.split("\n"):
            if len(line) > MAX_LINE_BYTES // 4:
                size = len(line.encode("utf-8", errors="surrogateescape"))
                if size > MAX_LINE_BYTES and start not in spans:
                    spans[start] = (start + len(line), f"record longer than {MAX_LINE_BYTES} bytes ({size})")
            start += len(line) + 1
    return [(start, end, reason) for start, (end, reason) in sorted(spans.items())]


def _stage_lines_slow(session: StagingSession, path: Path) -> None:
    data, gz_problem = _read_bytes(path)
    text = data.decode("utf-8", errors="surrogateescape")
    tail = ""
    if gz_problem is not None:
        cut = text.rfind("\n") + 1
        text, tail = text[:cut], text[cut:]
    bad: list[tuple[int, str, str]] = []  # (marker id, reason, raw text)
    pieces: list[str] = []
    pos = 0
    for start, end, reason in _bad_lines(text):
        raw_line = text[start:end].encode("utf-8", errors="surrogateescape")
        bad.append((len(bad), reason, raw_line.decode("utf-8", errors="backslashreplace")))
        pieces.append(text[pos:start])
        pieces.append(f"{_BAD_MARK}{len(bad) - 1}")
        pos = end
    pieces.append(text[pos:])
    cleaned = "".join(pieces)
    if gz_problem is not None:
        raw_tail = tail.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")
        reason = gz_problem + (": last record cut off" if raw_tail.strip() else "")
        bad.append((len(bad), reason, raw_tail))
        cleaned += f"{_BAD_MARK}{len(bad) - 1}\n"
    fd, name = tempfile.mkstemp(dir=session.scratch, suffix=".jsonl")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(cleaned)
        session.execute(
            f"create or replace temp table {_S.BAD} (id bigint, reason varchar, raw_text varchar)"
        )
        if bad:
            session.con.executemany(f"insert into {_S.BAD} values (?, ?, ?)", [list(b) for b in bad])
        session.execute(
            f"""
            insert into {_S.RECORDS} (line_no, line, entity, pre_reason)
            with lines as (
                select row_number() over () as line_no, line
                from read_csv({_sql_str(name)}, {_LINE_OPTS})
                where {_NON_BLANK}
            )
            select l.line_no, coalesce(b.raw_text, l.line), null, b.reason
            from lines as l
            left join {_S.BAD} as b
                on l.line like {_sql_str(_BAD_MARK + "%")}
                and b.id = try_cast(substr(l.line, {len(_BAD_MARK) + 1}) as bigint)
            """
        )
    finally:
        Path(name).unlink(missing_ok=True)


def _stage_document(session: StagingSession, path: Path, *, zendesk: bool) -> Staged:
    size = path.stat().st_size
    data, gz_problem = _read_bytes(path)
    if gz_problem is not None:
        _add_pre_reject(session, 1, gz_problem, data.decode("utf-8", errors="backslashreplace"))
        return Staged(1, size)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        _add_pre_reject(
            session,
            1,
            f"invalid UTF-8 bytes at byte {exc.start}",
            data.decode("utf-8", errors="backslashreplace"),
        )
        return Staged(1, size)
    if not text.strip():
        return Staged(0, size)
    return stage_document_text(session, text, size, path=path, zendesk=zendesk)


def stage_document_text(
    target: StagingSession | duckdb.DuckDBPyConnection,
    text: str,
    size: int,
    scratch: Path | None = None,
    *,
    path: Path | None = None,
    zendesk: bool = False,
) -> Staged:
    """Stage one JSON document given as text (a file's content or an API response body) into an
    existing `_records`. `scratch` is used when `target` is a bare connection."""
    session = target if isinstance(target, StagingSession) else StagingSession(target, scratch)
    session.execute(f"create or replace temp table {_S.DOC} as select ?::varchar as doc", [text])
    kind = session.fetchall(f"select case when json_valid(doc) then json_type(doc::json) end from {_S.DOC}")[
        0
    ][0]
    if kind is None:
        first = text.lstrip().split("\n", 1)[0]
        if path is not None and not zendesk and text.lstrip().startswith("{") and _json_valid(session, first):
            # Not one document but JSON lines saved as .json: read it line by line.
            return _stage_lines(session, path)
        _add_pre_reject(session, 1, "malformed JSON document", text)
        return Staged(1, size)
    if zendesk:
        return _stage_zendesk_page(session, kind, text, size)
    if kind == "ARRAY":
        _explode(session, "doc::json", None)
    else:
        session.execute(
            f"insert into {_S.RECORDS} (line_no, line, entity, pre_reason) "
            f"select 1, doc::json::varchar, null, null from {_S.DOC}"
        )
    return Staged(_count(session), size)


def _json_valid(session: StagingSession, text: str) -> bool:
    return bool(session.fetchall("select json_valid(?)", [text])[0][0])


def _explode(session: StagingSession, array_expr: str, entity: str | None) -> None:
    """Append the elements of a JSON array to `_records`, numbered after what is there."""
    ent = "null" if entity is None else _sql_str(entity)
    session.execute(
        f"""
        insert into {_S.RECORDS} (line_no, line, entity, pre_reason)
        with arr as (select json_extract({array_expr}, '$[*]') as items from {_S.DOC}),
        items as (select unnest(items) as item, generate_subscripts(items, 1) as idx from arr)
        select (select count(*) from {_S.RECORDS}) + idx, item::varchar, {ent}, null from items
        """
    )


def _stage_zendesk_page(session: StagingSession, kind: str, text: str, size: int) -> Staged:
    keys: list[str] = []
    if kind == "OBJECT":
        keys = [k for (k,) in session.fetchall(f"select unnest(json_keys(doc::json)) from {_S.DOC}")]
    found = [k for k in keys if k in ZENDESK_ENTITIES]
    if not found:
        reason = "not a Zendesk export page: expected a tickets, users or ticket_metrics key" + (
            f", found keys {keys[:8]}" if keys else f", got a JSON {kind.lower()}"
        )
        _add_pre_reject(session, 1, reason, text)
        return Staged(1, size)
    for key in found:
        path_expr = f"json_extract(doc::json, {_sql_str('$.' + key)})"
        if key.endswith("s"):
            kind_rows = session.fetchall(f"select json_type({path_expr}) from {_S.DOC}")[0][0]
            if kind_rows == "ARRAY":
                _explode(session, path_expr, ZENDESK_ENTITIES[key])
                continue
        session.execute(
            f"insert into {_S.RECORDS} (line_no, line, entity, pre_reason) "
            f"select (select count(*) from {_S.RECORDS}) + 1, "
            f"{path_expr}::varchar, {_sql_str(ZENDESK_ENTITIES[key])}, null from {_S.DOC}"
        )
    return Staged(_count(session), size)


def _add_pre_reject(session: StagingSession, line_no: int, reason: str, raw: str) -> None:
    session.execute(
        f"insert into {_S.RECORDS} (line_no, line, entity, pre_reason) values (?, ?, null, ?)",
        [line_no, raw, reason],
    )


def _count(session: StagingSession) -> int:
    return session.fetchall(f"select count(*) from {_S.RECORDS}")[0][0]


def _header(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        first = fh.readline()
    return first.decode("utf-8", errors="backslashreplace").lstrip("\ufeff").rstrip("\r\n")


def stage_csv(session: StagingSession, path: Path, expected: tuple[str, ...]) -> Staged:
    """Fill `_csv(line_no, line, pre_reason, c_<column>...)` from a CSV with a header row.

    Columns are matched by header name (any order, extra columns ignored) and read as VARCHAR so
    that type errors become per-row rejects with a reason instead of failing the file. Rows the
    CSV reader itself cannot parse (wrong column count, invalid UTF-8) are collected with DuckDB's
    `store_rejects` and keep their physical line number. A header that lacks a required column
    (a missing column, the wrong delimiter) rejects every data line, each with its own text, so
    lines in = loaded + duplicates + rejects holds per line.
    """
    size = path.stat().st_size
    cols = ", ".join(f"null::varchar as c_{c}" for c in expected)
    session.execute(
        f"create or replace temp table {_S.CSV} as select null::bigint as line_no, null::varchar as line, "
        f"null::varchar as pre_reason, {cols} limit 0"
    )
    if size == 0:
        return Staged(0, 0)
    header_line = _header(path)
    header = [h.strip().lower() for h in next(csv.reader([header_line]), [])]
    missing = [c for c in expected if c not in header]
    if missing:
        reason = f"header lacks required columns {missing} (found {header})" + _delimiter_hint(
            header_line, expected
        )
        return _reject_csv_lines(session, path, header_line, reason)
    names = [f"f{i}" for i in range(len(header))]
    columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    pick = ", ".join(f"f{header.index(c)} as c_{c}" for c in expected)
    concat = " || ',' || ".join(f"coalesce(f{i}, '')" for i in range(len(header)))
    opts = (
        f"header=true, columns={columns}, auto_detect=false, delim=',', quote='\"', escape='\"', "
        "null_padding=false"
    )
    src = _sql_str(str(path))
    try:
        session.execute(
            f"insert into {_S.CSV} select row_number() over () + 1, {concat}, null, {pick} "
            f"from read_csv({src}, {opts})"
        )
    except READ_ERRORS:
        session.execute(f"delete from {_S.CSV}")
        session.execute(
            f"create or replace temp table {_S.CSV_GOOD} as select row_number() over () as ordinal, * "
            f"from read_csv({src}, {opts}, ignore_errors=true, store_rejects=true, "
            f"rejects_table='{_S.CSV_REJ}', rejects_scan='{_S.CSV_SCAN}')"
        )
        session.execute(
            f"""
            insert into {_S.CSV} (line_no, line, pre_reason)
            select line, any_value(csv_line), 'unreadable CSV row: ' || string_agg(distinct error_type, ', ')
            from {_S.CSV_REJ} group by line
            """
        )
        # Good rows get the physical line numbers that are not rejected, in order.
        session.execute(
            f"""
            insert into {_S.CSV}
            with bad as (select distinct line from {_S.CSV_REJ}),
            total as (select (select count(*) from {_S.CSV_GOOD}) + (select count(*) from bad) as n),
            lines as (
                select range as line_no, row_number() over (order by range) as ordinal
                from range(2, (select n from total) + 2)
                where range not in (select line from bad)
            )
            select l.line_no, {concat}, null, {pick}
            from {_S.CSV_GOOD} as g join lines as l using (ordinal)
            """
        )
        session.drop(_S.CSV_GOOD, _S.CSV_REJ, _S.CSV_SCAN)
    n = session.fetchall(f"select count(*) from {_S.CSV}")[0][0]
    return Staged(n, size)


def _delimiter_hint(header_line: str, expected: tuple[str, ...]) -> str:
    """'; the header is ';'-delimited ...' when another delimiter would have found every column."""
    for delim in (";", "\t", "|"):
        cells = [h.strip().lower() for h in next(csv.reader([header_line], delimiter=delim), [])]
        if all(c in cells for c in expected):
            return f"; the header is {delim!r}-delimited, expected ','"
    return ""


def _reject_csv_lines(session: StagingSession, path: Path, header_line: str, reason: str) -> Staged:
    """Every data line of an unusable CSV becomes its own pre-rejected row of `_csv` with its text
    (numbered like the rows of a good CSV: the header is line 1, blank lines are not records). A file
    with no data line rejects its header, so a wrong file is never silent."""
    # The whole file, also a last line without a newline (a CSV's usual end).
    _view_lines(session, _sql_str(str(path)), "0")
    try:
        session.execute(
            f"create or replace temp table {_S.LINES} as "
            f"select row_number() over () as line_no, line, null::varchar as pre_reason from {_S.RECORDS}"
        )
    except READ_ERRORS:  # bad bytes: each line keeps its text, escaped, and says why
        create_records(session)
        _stage_lines_slow(session, path)
        session.execute(
            f"create or replace temp table {_S.LINES} as select line_no, line, pre_reason from {_S.RECORDS}"
        )
    session.execute(
        f"""
        insert into {_S.CSV} (line_no, line, pre_reason)
        select line_no, rtrim(line, chr(13)), ? || coalesce('; ' || pre_reason, '')
        from {_S.LINES} where line_no > 1
        """,
        [reason],
    )
    session.drop(_S.RECORDS, _S.LINES)
    n = session.fetchall(f"select count(*) from {_S.CSV}")[0][0]
    if n == 0:
        session.execute(
            f"insert into {_S.CSV} (line_no, line, pre_reason) values (1, ?, ?)", [header_line, reason]
        )
        n = 1
    return Staged(n, path.stat().st_size)


# --- Batches: many files of one source staged in one statement --------------------------------


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join(_sql_str(str(p)) for p in paths) + "]"


def stage_lines_batch(session: StagingSession, paths: list[Path]) -> None:
    """Complete JSONL files (plain or .gz) as one positional view over one multi-file read.

    `file_no` is the position in `paths`; the loader numbers the non-blank lines of the whole batch
    in read order (DuckDB reads the files, and each file's lines, in order) and turns those into
    per-file numbers. A read error (a damaged file) surfaces in the loader's parse.
    """
    _view_lines(session, _sql_list(paths), "file_index::integer")


def _zendesk_entity_case(column: str) -> str:
    whens = " ".join(f"when {_sql_str(k)} then {_sql_str(v)}" for k, v in ZENDESK_ENTITIES.items())
    return f"case {column} {whens} end"


def stage_documents_batch(session: StagingSession, paths: list[Path], *, zendesk: bool) -> set[int]:
    """Plain `.json` documents (SendGrid posts, Zendesk pages) read and exploded in set-based SQL.

    Fills `_records` for every document of the usual shape: an array or an object (SendGrid), an
    object with tickets/users/ticket_metrics keys (Zendesk; records numbered across the keys in
    document order, as `_stage_zendesk_page` does). Returns the file_nos of every other document
    (malformed, empty, JSON lines saved as .json, not a Zendesk page): the caller loads those one by
    one, where each gets its precise reason. Invalid UTF-8 raises (read_text), and the caller then
    loads the whole batch file by file.
    """
    con = session.con
    create_records(session)
    con.execute(f"create or replace temp table {_S.BATCH_PATHS} (file_no integer, path varchar)")
    con.executemany(f"insert into {_S.BATCH_PATHS} values (?, ?)", [[i, str(p)] for i, p in enumerate(paths)])
    con.execute(
        f"""
        create or replace temp table {_S.DOCS} as
        select b.file_no, t.content as doc,
            case when json_valid(t.content) then json_type(t.content::json) end as kind
        from read_text({_sql_list(paths)}) as t
        join {_S.BATCH_PATHS} as b on t.filename = b.path
        """
    )
    if zendesk:
        con.execute(
            f"""
            insert into {_S.RECORDS} (line_no, line, entity, pre_reason, file_no)
            with keyed as (
                select file_no, doc, unnest(json_keys(doc)) as key,
                    generate_subscripts(json_keys(doc), 1) as pos
                from {_S.DOCS} where kind = 'OBJECT'
            ),
            entities as (
                select *, {_zendesk_entity_case("key")} as entity,
                    ends_with(key, 's') and json_type(json_extract(doc, '$.' || key)) = 'ARRAY' as is_array
                from keyed
                where key in ({", ".join(_sql_str(k) for k in ZENDESK_ENTITIES)})
            ),
            sized as (
                select *,
                    case when is_array then json_array_length(json_extract(doc, '$.' || key)) else 1 end as n
                from entities
            ),
            offsets as (
                select *,
                    coalesce(sum(n) over (
                        partition by file_no order by pos rows between unbounded preceding and 1 preceding
                    ), 0) as base
                from sized
            ),
            arrays as (
                select file_no, entity, base, json_extract(json_extract(doc, '$.' || key), '$[*]') as items
                from offsets where is_array
            ),
            items as (
                select file_no, entity, base, unnest(items) as item, generate_subscripts(items, 1) as idx
                from arrays
            )
            select base + idx, item::varchar, entity, null, file_no from items
            union all
            select base + 1, json_extract(doc, '$.' || key)::varchar, entity, null, file_no
            from offsets where not is_array
            """
        )
        staged = {r[0] for r in con.execute(f"select distinct file_no from {_S.RECORDS}").fetchall()}
        objects = {
            r[0] for r in con.execute(f"select file_no from {_S.DOCS} where kind = 'OBJECT'").fetchall()
        }
        # An object page whose entity arrays are all empty stages no record but is a valid page.
        has_entity = {
            r[0]
            for r in con.execute(
                f"select distinct file_no from (select file_no, unnest(json_keys(doc)) as key from {_S.DOCS} "
                f"where kind = 'OBJECT') where key in ({', '.join(_sql_str(k) for k in ZENDESK_ENTITIES)})"
            ).fetchall()
        }
        good = staged | (objects & has_entity)
    else:
        con.execute(
            f"""
            insert into {_S.RECORDS} (line_no, line, entity, pre_reason, file_no)
            with arrays as (
                select file_no, json_extract(doc, '$[*]') as items from {_S.DOCS} where kind = 'ARRAY'
            ),
            items as (
                select file_no, unnest(items) as item, generate_subscripts(items, 1) as idx from arrays
            )
            select idx, item::varchar, null, null, file_no from items
            union all
            select 1, doc::json::varchar, null, null, file_no from {_S.DOCS} where kind = 'OBJECT'
            """
        )
        good = {
            r[0]
            for r in con.execute(
                f"select file_no from {_S.DOCS} where kind in ('ARRAY', 'OBJECT')"
            ).fetchall()
        }
    session.drop(_S.DOCS, _S.BATCH_PATHS)
    leftover = set(range(len(paths))) - good
    if leftover:
        con.execute(
            f"delete from {_S.RECORDS} where file_no in ({', '.join(str(i) for i in sorted(leftover))})"
        )
    return leftover
