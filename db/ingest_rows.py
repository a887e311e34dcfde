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


NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
)


def _is_numeric(source_type: str) -> bool:
    return source_type.upper().startswith(NUMERIC_TYPES)


def _unix_seconds(num: str) -> str:
    return f"CASE WHEN {num} BETWEEN 0 AND {MAX_UNIX_SECONDS} THEN timezone('UTC', to_timestamp({num})) END"


def _ts_value(src: str, source_type: str) -> str:
    """ISO text (with or without offset, read as UTC when without) or Unix seconds -> TIMESTAMP.
    Typed Parquet columns skip the text parsing."""
    kind = source_type.upper()
    if kind.startswith("TIMESTAMP WITH TIME ZONE") or kind == "TIMESTAMPTZ":
        return f"timezone('UTC', {src})"
    if kind.startswith(("TIMESTAMP", "DATE")):
        return f"CAST({src} AS TIMESTAMP)"
    if _is_numeric(kind):
        return _unix_seconds(f"CAST({src} AS DOUBLE)")
    text = f"trim({_text(src)})"
    num = f"TRY_CAST({text} AS DOUBLE)"
    return (
        f"CASE WHEN {num} IS NOT NULL THEN {_unix_seconds(num)} "
        f"ELSE timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ)) END"
    )


def _alias(column: ColumnSpec) -> str:
    return f"vm_{column.name}"


def _from_raw(spec: KindSpec, sources: dict[str, str], mapped: frozenset[str]) -> str:
    """``raw`` joined to the value map of every enumerated column present in the file, and of
    every other column the user gave values for (``--value rating:0=1``)."""
    joins = ["raw"]
    for column in spec.columns:
        if (column.allowed or column.name in mapped) and column.name in sources:
            a = _alias(column)
            joins.append(
                f"LEFT JOIN value_map {a} ON {a}.field = '{column.name}' "
                f"AND {a}.src = lower(trim({_text(quote_ident(sources[column.name]))}))"
            )
    return " ".join(joins)


def _typed_value(column: ColumnSpec, src: str, source_type: str) -> str:
    """A first typed reading of a cell: NULL where it cannot be read (checked afterwards)."""
    if column.allowed:
        return f"coalesce({_alias(column)}.dst, lower(trim({_text(src)})))"
    if column.type == "text":
        return (
            f"NULLIF({_text(src)}, '')"
            if column.name in FREE_TEXT
            else f"NULLIF(trim({_text(src)}), '')"
        )
    if column.type in ("int", "float"):
        if _is_numeric(source_type):
            return f"CAST({src} AS DOUBLE)"
        return f"TRY_CAST(trim({_text(src)}) AS DOUBLE)"
    if column.type == "bool":
        return f"lower(trim({_text(src)}))"
    return _ts_value(src, source_type)


def typed_query(
    spec: KindSpec,
    sources: dict[str, str],
    source_types: dict[str, str],
    label_targets: tuple[str, ...],
    shop_id: str,
    mapped: frozenset[str] = frozenset(),
) -> str:
    """SELECT reading every cell once: ``<field>`` (typed) and ``<field>__blank`` per column.

    Blankness is derived from the typed value where that says it (ids, enums, typed Parquet
    columns), so most cells are trimmed once, not twice. A non-enumerated field in ``mapped``
    reads the user's replacement value where one matches the cell."""
    inner = ["raw._row AS _row"]
    outer = ["*"]
    for column in spec.columns:
        if column.name not in sources:
            continue
        c = column.name
        src = quote_ident(sources[c])
        source_type = source_types.get(sources[c], "VARCHAR").upper()
        if c in mapped and not column.allowed:
            src = f"coalesce({_alias(column)}.dst, {_text(src)})"
            source_type = "VARCHAR"
        inner.append(f"{_typed_value(column, src, source_type)} AS {c}")
        if column.allowed:
            outer.append(f"({c} IS NULL OR {c} = '') AS {c}__blank")
        elif column.type == "text" and c not in FREE_TEXT:
            outer.append(f"({c} IS NULL) AS {c}__blank")
        elif source_type != "VARCHAR":
            inner.append(f"({src} IS NULL) AS {c}__blank")
        else:
            inner.append(f"(NULLIF(trim({_text(src)}), '') IS NULL) AS {c}__blank")
    for label in label_targets:
        inner.append(f"NULLIF(trim({_text(quote_ident(sources[label]))}), '') AS {label}")
    if spec.name == "events":
        outer.append(f"{event_key_expr(shop_id, sources)} AS event_key")
    return f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {_from_raw(spec, sources, mapped)})"


def event_key_expr(shop_id: str, sources: dict[str, str]) -> str:
    """The content hash that identifies an event. Shop ids are validated ([A-Za-z0-9_.-]), so the
    literal is safe and views built on it need no parameters."""

    def optional(name: str) -> str:
        return f"coalesce({name}, '')" if name in sources else "''"

    return (
        f"(hash('{shop_id}', user_id, {optional('item_id')}, event_type, ts, {optional('query')},"
        f" {optional('session_id')}) >> 1)::BIGINT"
    )


def _bad_condition(column: ColumnSpec) -> str:
    """SQL over table ``typed`` that is true when a non-blank value of ``column`` is not acceptable."""
    c = column.name
    if column.allowed:
        allowed = ", ".join(f"'{v}'" for v in column.allowed)
        return f"{c} NOT IN ({allowed})"
    if column.type == "text":
        limit = MAX_TEXT_CHARS if c in FREE_TEXT else MAX_ID_CHARS
        return f"(length({c}) > {limit} OR strpos({c}, chr(0)) > 0)"
    if column.type == "bool":
        return f"{c} NOT IN {BOOL_WORDS}"
    if column.type == "ts":
        return f"({c} IS NULL OR {c} < TIMESTAMP '{MIN_TS}' OR {c} >= TIMESTAMP '{MAX_TS}')"
    cond = f"{c} IS NULL OR NOT isfinite({c})"
    if column.type == "int":
        cond += f" OR {c} <> floor({c})"
    if column.min_value is not None:
        cond += f" OR {c} < {column.min_value}"
    if column.max_value is not None:
        cond += f" OR {c} > {column.max_value}"
    return f"({cond})"


def _expected(column: ColumnSpec) -> str:
    if column.type == "text" and not column.allowed:
        limit = MAX_TEXT_CHARS if column.name in FREE_TEXT else MAX_ID_CHARS
        return f"text of at most {limit:,} characters without NUL characters"
    if column.type == "ts":
        return column.expected + f" between {MIN_TS} and {MAX_TS} (milliseconds? divide by 1000)"
    return column.expected


def problem_queries(
    spec: KindSpec, sources: dict[str, str]
) -> list[tuple[str, list[object], bool]]:
    """The checks over table ``typed``: (condition, [column, expected], True) for a cell check,
    or (full SELECT of row, column, expected, its parameters, False) for the duplicate-key check."""
    checks: list[tuple[str, list[object], bool]] = []
    for column in spec.columns:
        if column.name not in sources:
            continue
        if column.required:
            checks.append(
                (f"{column.name}__blank", [column.name, "a value (this column is required)"], True)
            )
        checks.append(
            (
                f"NOT {column.name}__blank AND {_bad_condition(column)}",
                [column.name, _expected(column)],
                True,
            )
        )
    if spec.key != ("event_key",) and spec.key[0] in sources:
        key = spec.key[0]
        present = [c.name for c in spec.columns if c.name in sources]
        row_hash = "hash(" + ", ".join(present) + ")"
        checks.append(
            (
                "SELECT t._row, ?, 'a unique ' || ? || ' (row ' || d.first_row || "
                "' has the same id with different values)' "
                f"FROM typed t JOIN (SELECT {key} AS k, min(_row) AS first_row FROM typed "
                f"GROUP BY 1 HAVING count(DISTINCT {row_hash}) > 1) d ON t.{key} = d.k "
                "WHERE t._row <> d.first_row",
                [key, key],
                False,
            )
        )
    return checks


def clean_query(
    spec: KindSpec, sources: dict[str, str], label_targets: tuple[str, ...], has_problems: bool
) -> str:
    """SELECT turning the rows of ``typed`` without problems into final values (optional columns
    the file lacks become NULL or their default)."""
    parts = ["_row"]
    type_names = {
        "text": "VARCHAR",
        "int": "BIGINT",
        "float": "DOUBLE",
        "bool": "BOOLEAN",
        "ts": "TIMESTAMP",
    }
    for column in spec.columns:
        c = column.name
        if c not in sources:
            value = f"CAST(NULL AS {type_names[column.type]})"
        elif column.type == "int":
            value = f"CAST({c} AS BIGINT)"
        elif column.type == "bool":
            value = f"({c} IN {TRUE_WORDS})"
        else:
            value = c
        if column.default is not None:
            value = f"coalesce(NULLIF({value}, ''), '{column.default}')"
        parts.append(f"{value} AS {c}")
    parts += list(label_targets)
    if spec.name == "events":
        parts.append("event_key")
    where = " WHERE _row NOT IN (SELECT _row FROM problems)" if has_problems else ""
    return f"SELECT {', '.join(parts)} FROM typed{where}"


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
        return _finish_events(con, shop_id)
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


def _finish_events(con: duckdb.DuckDBPyConnection, shop_id: str) -> duckdb.DuckDBPyRelation:
    """Event keys, sessions for events without one (30 minutes of inactivity ends a session), and
    one row per key. The window and dedup passes run only when the data needs them."""
    session = "c.session_id"
    if con.execute("SELECT count(*) FROM clean WHERE session_id IS NULL").fetchall()[0][0]:
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
        session = "coalesce(c.session_id, s.sid)"
        source = "clean c LEFT JOIN sessions_derived s USING (_row)"
    else:
        source = "clean c"
    total, distinct = con.execute(
        "SELECT count(*), count(DISTINCT event_key) FROM clean"
    ).fetchall()[0]
    key = "c.event_key"
    columns = (
        f"c.user_id, {session} AS session_id, c.item_id, c.category, c.event_type, c.query, c.ts"
    )
    if total == distinct:
        return con.sql(f"SELECT {key} AS event_key, {columns} FROM {source}")
    # the same event more than once in the file: keep its first occurrence
    con.execute(f"CREATE TABLE keyed AS SELECT {key} AS event_key, {columns}, c._row FROM {source}")
    return con.sql(
        "SELECT event_key, arg_min(user_id, _row) AS user_id, arg_min(session_id, _row) AS session_id,"
        " arg_min(item_id, _row) AS item_id, arg_min(category, _row) AS category,"
        " arg_min(event_type, _row) AS event_type, arg_min(query, _row) AS query,"
        " arg_min(ts, _row) AS ts FROM keyed GROUP BY event_key"
    )
