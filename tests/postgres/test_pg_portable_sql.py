"""Static check that the dbt project's SQL stays portable (issue 8).

Engine-specific SQL belongs in adapter-dispatched macros (`duckdb__x` next to `postgres__x`); models,
snapshots, singular tests and the shared part of macros use ANSI SQL and dbt's cross-database
macros. This test lists every DuckDB-only construct outside a `duckdb__` macro with its portable
replacement, so a non-portable line fails in a second, not in a PostgreSQL build a minute later.
"""

from __future__ import annotations

import re
from pathlib import Path

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"

# (pattern, what to use instead). Patterns run on SQL with comments removed, case-insensitively.
DUCKDB_ONLY: list[tuple[str, str]] = [
    (r"\bqualify\b", "select distinct on (P) ... order by P, O (both engines) or a row_number() CTE"),
    (r"(?<![.\w])try_cast\s*\(", "{{ lifecycle.try_cast(expr, type) }} (postgres__try_cast exists)"),
    (
        r"(?<![.\w])(max_by|arg_max)\s*\(",
        "{{ lifecycle.max_by(value, order_by, where) }} (postgres__max_by exists)",
    ),
    (
        r"(?<![.\w])(min_by|arg_min)\s*\(",
        "{{ lifecycle.min_by(value, order_by, where) }} (postgres__min_by exists)",
    ),
    (r"\b(group|order)\s+by\s+all\b", "list the columns"),
    (
        r"\bsimilar\s+to\b",
        "like patterns (SIMILAR TO is a regex in DuckDB, SQL-standard with literal `.` in PostgreSQL)",
    ),
    (r"\b(anti|semi)\s+join\b", "where [not] exists (select 1 from ... where ...)"),
    (r"\*\s*(exclude|replace)\s*\(", "list the columns"),
    (r",\s*\n\s*(from|\))\s", "no comma before FROM / closing parenthesis (DuckDB-only syntax)"),
    (r"(?<![.\w])(date_diff|datediff)\s*\(", "{{ dbt.datediff(start, end, 'day') }}"),
    (r"(?<![.\w])(date_add|date_sub)\s*\(", "{{ dbt.dateadd('day', n, expr) }}"),
    (
        r"\binterval\s+\(?\s*\d+\s*\)?\s+(day|days|hour|hours|month|months|minute|minutes|week|weeks)\b",
        "interval '90 days' (quoted) or {{ dbt.dateadd(...) }}",
    ),
    (r"(?<![.\w])interval\s*\(", "{{ dbt.dateadd(datepart, n, expr) }}"),
    (
        r"(?<![.\w])(json_extract|json_extract_string|json_extract_path|json_type|json_array_length|json_keys)\s*\(",
        "lifecycle.json_text / json_value / unnest_json_array / json_first_text",
    ),
    (
        r"(?<![.\w])(regexp_matches|regexp_full_match|regexp_extract)\s*\(",
        "a dispatched macro (see url_host, is_valid_email)",
    ),
    (
        r"(?<![.\w])(median|quantile|quantile_cont|quantile_disc)\s*\(",
        "percentile_cont(0.5) within group (order by x) (both engines)",
    ),
    (r"(?<![.\w])count_if\s*\(", "count(*) filter (where ...)"),
    (r"(?<![.\w])ifnull\s*\(", "coalesce(...)"),
    (r"(?<![.\w])any_value\s*\(", "min(...) or max(...) (PostgreSQL 15 has no any_value)"),
    (
        r"(?<![.\w])(strftime|strptime)\s*\(",
        "{{ dbt.date_trunc(...) }} / cast(... as date) / to_char via a macro",
    ),
    (r"(?<![.\w])(epoch|epoch_ms)\s*\(", "extract(epoch from x)"),
    (
        r"(?<![.\w])(list|list_value|array_length|len|list_contains|list_distinct)\s*\(",
        "string_agg / array_agg via a macro",
    ),
    (r"(?<![.\w])(string_split|str_split|string_split_regex)\s*\(", "split_part(...)"),
    (r"(?<![.\w])(contains|ends_with|suffix|prefix)\s*\(", "strpos(...) > 0 / like"),
    (
        r"(?<![.\w])(dayofweek|dayofmonth|dayofyear|isodow|yearweek|dayname|monthname)\s*\(",
        "extract(isodow from x)",
    ),
    (r"(?<![.\w])last_day\s*\(", "{{ dbt.last_day(date, 'month') }}"),
    (r"(?<![.\w])hash\s*\(", "md5(...)"),
    (r"\b(pivot|unpivot|asof\s+join|positional\s+join|columns\s*\()", "standard SQL"),
]

_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_SQL_COMMENT = re.compile(r"--[^\n]*")
# Jinja tags and expressions are Python-like (trailing commas are fine there) and macro calls are
# checked where the macro is defined; only the SQL text between them is linted.
_JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_DUCKDB_MACRO = re.compile(r"\{%-?\s*macro\s+duckdb__.*?\{%-?\s*endmacro\s*-?%\}", re.S)


def _blank(match: re.Match) -> str:
    """Replace text but keep its newlines, so line numbers still point at the source."""
    return re.sub(r"[^\n]", " ", match.group(0))


def _placeholder(match: re.Match) -> str:
    """A Jinja expression stands for some SQL: keep a token in its place (so `{{ a }},\n{{ b }}` is
    not read as a trailing comma) and its newlines."""
    return "J" + _blank(match)[1:]


def portable_sql_findings(project: Path = DBT_PROJECT) -> list[str]:
    findings = []
    files = [
        p
        for sub in ("models", "snapshots", "tests", "macros", "analyses")
        for p in sorted((project / sub).rglob("*.sql"))
        # The engines' own dirs (macros/postgres, macros/spark) hold engine-specific SQL by design.
        if not {"postgres", "spark"} & set(p.relative_to(project).parts)
    ]
    for path in files:
        text = _JINJA_COMMENT.sub(_blank, path.read_text())
        text = _DUCKDB_MACRO.sub(_blank, text)
        text = _JINJA_TAG.sub(_placeholder, text)
        text = _SQL_COMMENT.sub(_blank, text)
        for pattern, instead in DUCKDB_ONLY:
            for m in re.finditer(pattern, text, re.I):
                line = text.count("\n", 0, m.start()) + 1
                found = " ".join(m.group(0).split())
                findings.append(f"{path.relative_to(project)}:{line}: `{found}` -> {instead}")
    return findings


def test_checker_finds_duckdb_only_sql(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "macros").mkdir()
    (tmp_path / "models" / "m.sql").write_text(
        "{# qualify in a comment is fine #}\nselect a,\n    b,\nfrom t -- qualify\n"
        "qualify row_number() over () = 1\n"
    )
    (tmp_path / "macros" / "x.sql").write_text(
        "{% macro duckdb__x() %}max_by(a, b){% endmacro %}\n{% macro y() %}median(a){% endmacro %}\n"
        "{{ config(materialized='table',\n) }} {{ lifecycle.max_by('a', 'b') }}\n"
    )
    found = portable_sql_findings(tmp_path)
    assert any(f.startswith("models/m.sql:3:") and "comma" in f for f in found), found
    assert any(f.startswith("models/m.sql:5:") and "qualify" in f for f in found), found
    assert any(f.startswith("macros/x.sql:2:") and "median" in f for f in found), found
    assert len(found) == 3, found


def test_dbt_project_sql_is_portable() -> None:
    findings = portable_sql_findings()
    assert not findings, "DuckDB-only SQL outside dispatched macros:\n" + "\n".join(findings)


def test_every_dispatched_macro_has_a_postgres_version() -> None:
    """A new `adapter.dispatch('x', 'lifecycle')` without `postgres__x` breaks the PostgreSQL target."""
    macros = DBT_PROJECT / "macros"
    sources = {p: p.read_text() for p in macros.rglob("*.sql")}
    dispatched = {
        name
        for text in sources.values()
        for name in re.findall(r"adapter\.dispatch\(\s*'(\w+)'\s*,\s*'lifecycle'", text)
    }
    defined = {
        name for text in sources.values() for name in re.findall(r"macro\s+postgres__(\w+)\s*\(", text)
    }
    # A default__ version that is real SQL (not the "not implemented" error) serves PostgreSQL too:
    # the dispatch points added for Spark (issue 23) keep DuckDB's and PostgreSQL's common text there.
    defined |= {
        name
        for text in sources.values()
        for name, body in re.findall(r"macro\s+default__(\w+)\s*\(.*?%\}(.*?)\{%-?\s*endmacro", text, re.S)
        if "raise_compiler_error" not in body
    }
    assert dispatched, "no dispatched macros found: has the macro layout changed?"
    assert not dispatched - defined, (
        f"dispatched macros without a postgres__ version: {sorted(dispatched - defined)}"
    )
