"""SQL for checking and converting the rows of table ``raw`` (see ``db/ingest_read.py``).

Column names come from the user's file, so they only ever appear through ``quote_ident``; values
only ever appear as query parameters.
"""

from __future__ import annotations

import duckdb

from db.ingest_read import quote_ident
from db.ingest_specs import MAX_TEXT_CHARS, MAX_TS, MIN_TS, ColumnSpec, KindSpec

FREE_TEXT = {"text", "title", "query"}
MAX_ID_CHARS = 256
TRUE_WORDS = ("true", "1", "yes", "t", "y")
BOOL_WORDS = TRUE_WORDS + ("false", "0", "no", "f", "n")
MAX_UNIX_SECONDS = 4102444800  # 2100-01-01


def _text(src: str) -> str:
    return f"CAST({src} AS VARCHAR)"


def _blank(src: str) -> str:
    return f"NULLIF(trim({_text(src)}), '') IS NULL"


def _number(src: str) -> str:
    return f"TRY_CAST(trim({_text(src)}) AS DOUBLE)"


def _ts_value(src: str) -> str:
    """ISO text (with or without offset, read as UTC when without) or Unix seconds -> TIMESTAMP."""
    num = _number(src)
    return (
        f"(CASE WHEN {num} IS NOT NULL THEN "
        f"  CASE WHEN {num} BETWEEN 0 AND {MAX_UNIX_SECONDS} THEN timezone('UTC', to_timestamp({num})) END "
        f"ELSE timezone('UTC', TRY_CAST(trim({_text(src)}) AS TIMESTAMPTZ)) END)"
    )


def _enum_value(src: str, alias: str) -> str:
    return f"coalesce({alias}.dst, lower(trim({_text(src)})))"


def _alias(column: ColumnSpec) -> str:
    return f"vm_{column.name}"


def from_clause(spec: KindSpec, sources: dict[str, str]) -> str:
    """``raw`` joined to the value map of every enumerated column present in the file."""
    joins = ["raw"]
    for column in spec.columns:
        if column.allowed and column.name in sources:
            a = _alias(column)
            joins.append(
                f"LEFT JOIN value_map {a} ON {a}.field = '{column.name}' "
                f"AND {a}.src = lower(trim({_text(quote_ident(sources[column.name]))}))"
            )
    return " ".join(joins)


def value_expr(column: ColumnSpec, src: str) -> str:
    """The typed value of ``column`` read from source expression ``src``."""
    if column.allowed:
        return _enum_value(src, _alias(column))
    if column.type == "text":
        if column.name in FREE_TEXT:
            return f"NULLIF({_text(src)}, '')"
        return f"NULLIF(trim({_text(src)}), '')"
    if column.type == "int":
        return f"CAST({_number(src)} AS BIGINT)"
    if column.type == "float":
        return _number(src)
    if column.type == "bool":
        return f"(lower(trim({_text(src)})) IN {TRUE_WORDS})"
    if column.type == "ts":
        return _ts_value(src)
    raise ValueError(f"unknown column type {column.type}")


def _bad_condition(column: ColumnSpec, src: str) -> str | None:
    """SQL that is true when a non-empty value of ``column`` is not acceptable."""
    if column.allowed:
        allowed = ", ".join(f"'{v}'" for v in column.allowed)
        return f"{_enum_value(src, _alias(column))} NOT IN ({allowed})"
    if column.type == "text":
        limit = MAX_TEXT_CHARS if column.name in FREE_TEXT else MAX_ID_CHARS
        return f"(length({_text(src)}) > {limit} OR strpos({_text(src)}, chr(0)) > 0)"
    num = _number(src)
    if column.type == "int":
        cond = f"({num} IS NULL OR NOT isfinite({num}) OR {num} <> floor({num}))"
    elif column.type == "float":
        cond = f"({num} IS NULL OR NOT isfinite({num}))"
    elif column.type == "bool":
        return f"lower(trim({_text(src)})) NOT IN {BOOL_WORDS}"
    else:  # ts
        ts = _ts_value(src)
        return f"({ts} IS NULL OR {ts} < TIMESTAMP '{MIN_TS}' OR {ts} >= TIMESTAMP '{MAX_TS}')"
    if column.min_value is not None:
        cond += f" OR {num} < {column.min_value}"
    if column.max_value is not None:
        cond += f" OR {num} > {column.max_value}"
    return cond


def _expected(column: ColumnSpec) -> str:
    if column.type == "text" and not column.allowed:
        limit = MAX_TEXT_CHARS if column.name in FREE_TEXT else MAX_ID_CHARS
        return f"text of at most {limit:,} characters without NUL characters"
    if column.type == "ts":
        return column.expected + f" between {MIN_TS} and {MAX_TS} (milliseconds? divide by 1000)"
    return column.expected


def problem_queries(spec: KindSpec, sources: dict[str, str]) -> list[tuple[str, list[object]]]:
    """SELECTs yielding (row, column, value, expected) for every bad cell and duplicate key."""
    queries: list[tuple[str, list[object]]] = []
    base = from_clause(spec, sources)
    for column in spec.columns:
        if column.name not in sources:
            continue
        src = quote_ident(sources[column.name])
        select = f"SELECT _row, ?, left({_text(src)}, 200), ? FROM {base} WHERE "
        if column.required:
            queries.append(
                (select + _blank(src), [column.name, "a value (this column is required)"])
            )
        bad = _bad_condition(column, src)
        if bad:
            queries.append(
                (select + f"NOT ({_blank(src)}) AND ({bad})", [column.name, _expected(column)])
            )
    if spec.key != ("event_key",) and spec.key[0] in sources:
        queries.append(_duplicate_key_query(spec, sources))
    return queries


def _duplicate_key_query(spec: KindSpec, sources: dict[str, str]) -> tuple[str, list[object]]:
    key = spec.key[0]
    key_src = f"trim({_text(quote_ident(sources[key]))})"
    row_hash = "hash(" + ", ".join(_text(quote_ident(s)) for s in sources.values()) + ")"
    sql = (
        f"SELECT r._row, ?, r.k, 'a unique ' || ? || ' (row ' || d.first_row || "
        f"' has the same id with different values)' "
        f"FROM (SELECT _row, {key_src} AS k FROM raw) r JOIN ("
        f"  SELECT {key_src} AS k, min(_row) AS first_row FROM raw GROUP BY 1"
        f"  HAVING count(DISTINCT {row_hash}) > 1) d ON r.k = d.k WHERE r._row <> d.first_row"
    )
    return sql, [key, key]


def clean_query(spec: KindSpec, sources: dict[str, str], label_targets: tuple[str, ...]) -> str:
    """SELECT turning the rows of ``raw`` without problems into typed rows (optional columns the
    file lacks become NULL)."""
    parts = ["raw._row AS _row"]
    type_names = {
        "text": "VARCHAR",
        "int": "BIGINT",
        "float": "DOUBLE",
        "bool": "BOOLEAN",
        "ts": "TIMESTAMP",
    }
    for column in spec.columns:
        if column.name in sources:
            value = value_expr(column, quote_ident(sources[column.name]))
        else:
            value = f"CAST(NULL AS {type_names[column.type]})"
        if column.default is not None:
            value = f"coalesce(NULLIF({value}, ''), '{column.default}')"
        parts.append(f"{value} AS {column.name}")
    for label in label_targets:
        parts.append(f"NULLIF(trim({_text(quote_ident(sources[label]))}), '') AS {label}")
    return (
        f"SELECT {', '.join(parts)} FROM {from_clause(spec, sources)} "
        "LEFT JOIN (SELECT DISTINCT _row FROM problems) bad ON bad._row = raw._row "
        "WHERE bad._row IS NULL"
    )


LANGUAGE_GUESS = (
    "CASE "
    "WHEN regexp_matches(text, '[\\x{3040}-\\x{30FF}]') THEN 'ja' "
    "WHEN regexp_matches(text, '[\\x{4E00}-\\x{9FFF}]') THEN 'zh' "
    "WHEN regexp_matches(text, '[\\x{AC00}-\\x{D7AF}]') THEN 'ko' "
    "WHEN regexp_matches(text, '[\\x{0600}-\\x{06FF}]') THEN 'ar' "
    "WHEN regexp_matches(text, '[\\x{0590}-\\x{05FF}]') THEN 'he' "
    "WHEN regexp_matches(text, '[\\x{0400}-\\x{04FF}]') THEN 'ru' "
    "ELSE 'en' END"
)


def transform_for_kind(
    con: duckdb.DuckDBPyConnection, spec: KindSpec, shop_id: str
) -> duckdb.DuckDBPyRelation:
    """Kind-specific finishing of table ``clean``: event keys and sessions, language guesses,
    and one row per key."""
    if spec.name == "events":
        con.execute(
            "CREATE TABLE sessions_derived AS "
            "SELECT _row, user_id || '#' || strftime(min(ts) OVER (PARTITION BY user_id, sess_no),"
            " '%Y%m%dT%H%M%S') AS sid FROM ("
            "  SELECT _row, user_id, ts, sum(new_sess) OVER (PARTITION BY user_id ORDER BY ts, _row"
            "    ROWS UNBOUNDED PRECEDING) AS sess_no FROM ("
            "    SELECT _row, user_id, ts, CASE WHEN lag(ts) OVER w IS NULL"
            "      OR ts - lag(ts) OVER w > INTERVAL 30 MINUTE THEN 1 ELSE 0 END AS new_sess"
            "    FROM clean WHERE session_id IS NULL"
            "    WINDOW w AS (PARTITION BY user_id ORDER BY ts, _row)))"
        )
        return con.sql(
            "SELECT DISTINCT ON (event_key) * FROM ("
            "  SELECT (hash(?, c.user_id, coalesce(c.item_id, ''), c.event_type, c.ts,"
            "    coalesce(c.query, ''), coalesce(c.session_id, '')) >> 1)::BIGINT AS event_key,"
            "    c.user_id, coalesce(c.session_id, s.sid) AS session_id, c.item_id, c.category,"
            "    c.event_type, c.query, c.ts, c._row"
            "  FROM clean c LEFT JOIN sessions_derived s USING (_row))"
            " ORDER BY event_key, _row",
            params=[shop_id],
        )
    key = spec.key[0]
    language = (
        ", coalesce(language, " + LANGUAGE_GUESS + ") AS language"
        if "language" in spec.names
        else ""
    )
    exclude = " EXCLUDE (language)" if language else ""
    return con.sql(
        f"SELECT *{exclude}{language} FROM clean "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY _row) = 1"
    )
