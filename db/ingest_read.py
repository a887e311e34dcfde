"""Reading a user's file (CSV, Parquet, JSON Lines) into an in-memory DuckDB table ``raw``.

The store is never touched here: a file that cannot be read is rejected before anything opens the
store. Every value keeps its original text where the format allows (CSV and JSON are read as
text), so validation can quote exactly what the user wrote.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from common.errors import InputError
from db.ingest_specs import MAX_FILE_ROWS, MAX_FILE_TEXT_BYTES

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".gz": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


def quote_ident(name: str) -> str:
    """Quote a column name taken from a user's file so it is only ever an identifier."""
    return '"' + name.replace('"', '""') + '"'


def file_format(path: Path) -> str:
    """The format of ``path`` from its extension, or a clear error."""
    suffix = path.suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    known = ", ".join(sorted(FORMATS))
    raise InputError(
        f"{shown_path(Path(path.name))}: unknown file type {suffix[:20] or '(none)'!r}. Use CSV, Parquet or JSON Lines "
        f"(extensions {known})."
    )


def shown_path(path: Path, limit: int = 120) -> str:
    """A path as it may appear in a message: long ones are cut, never echoed whole."""
    text = str(path)
    return text if len(text) <= limit else text[: limit // 2] + "…" + text[-limit // 2 :]


def check_readable(path: Path) -> None:
    """Fail with a clear message if ``path`` is missing, a folder, unreadable or empty."""
    shown = shown_path(path)
    try:
        exists, is_file = path.exists(), path.is_file()
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"{shown}: not a usable file path ({reason}). Check the path.") from None
    if not exists:
        raise InputError(f"{shown}: no such file. Check the path.")
    if not is_file:
        raise InputError(f"{shown}: is not a file (a folder?). Give the path of one file.")
    try:
        with path.open("rb") as fh:
            first = fh.read(1)
    except OSError as exc:
        raise InputError(
            f"{shown}: cannot be read ({exc.strerror}). Check its permissions."
        ) from None
    if not first:
        raise InputError(
            f"{shown_path(Path(path.name))}: the file is empty. Export the data again."
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _reader_error(path: Path, fmt: str, exc: Exception) -> InputError:
    full = str(exc).strip()
    first = re.sub(r"^[A-Za-z ]+Error: ", "", full.splitlines()[0] if full else type(exc).__name__)
    line = re.search(r"CSV Error on Line: (\d+)", full)
    where = f" (line {line.group(1)})" if line else ""
    if "invalid unicode" in full.lower():
        return InputError(
            f"{path.name}{where}: the file is not valid UTF-8 text. Save it as UTF-8 and try again."
        )
    if fmt == "csv":
        if "sniffing" in full:
            first = "its layout could not be recognised"
        return InputError(
            f"{path.name}{where}: could not be read as CSV: {first}. Check the CSV: one header "
            "line, the same number of fields on every line, and any field holding a quote or a comma "
            'enclosed in double quotes with inner quotes doubled ("say ""hi""").'
        )
    if fmt == "jsonl":
        return InputError(
            f"{path.name}: could not be read as JSON Lines: {first}. Every line must be one JSON "
            'object, e.g. {"user_id": "u1", ...}.'
        )
    return InputError(
        f"{path.name}: could not be read as Parquet: {first}. Check that the file is a valid "
        "Parquet file."
    )


def _check_columns_were_split(path: Path, columns: list[str]) -> None:
    """A CSV read as one column whose name still holds the delimiters: the reader gave up
    splitting lines, almost always because a field has a stray double quote. Say so, instead of
    reporting missing columns that the header plainly has."""
    if len(columns) != 1:
        return
    for delimiter in (",", ";", "\t", "|"):
        if delimiter in columns[0]:
            raise InputError(
                f"{path.name}: could not be split into columns at {delimiter!r}: a field most "
                "likely holds a stray double quote. Enclose any field holding a quote or a "
                'comma in double quotes with inner quotes doubled ("said ""hi"""), or remove the '
                "stray quote."
            )


def check_size(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse a file over the limits (rows, decoded text) before reading it in full. Parquet is
    measured without decoding it into memory (row counts from its metadata, text bytes by a
    streaming sum: a small dictionary-encoded file can hold gigabytes of text); a text file's
    size is its text."""
    fmt = file_format(path)
    if fmt == "parquet":
        try:
            rows = con.execute(
                "SELECT sum(num_rows) FROM parquet_file_metadata(?)", [str(path)]
            ).fetchone()
            columns = con.execute(
                "SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(?)) "
                "WHERE column_type = 'VARCHAR'",
                [str(path)],
            ).fetchall()
            n_rows = int(rows[0] or 0) if rows else 0
            if n_rows > MAX_FILE_ROWS:
                raise InputError(
                    f"{path.name}: holds {n_rows:,} rows; one file may hold at most "
                    f"{MAX_FILE_ROWS:,}. Split it into several files and load each."
                )
            if columns:
                total = " + ".join(
                    f"coalesce(sum(strlen({quote_ident(c[0])})), 0)" for c in columns
                )
                found = con.execute(
                    f"SELECT {total} FROM read_parquet('{_sql_string(str(path))}')"
                ).fetchone()
                text_bytes = int(found[0] or 0) if found else 0
            else:
                text_bytes = 0
        except duckdb.Error as exc:
            raise _reader_error(path, fmt, exc) from None
    else:
        text_bytes = path.stat().st_size
    if text_bytes > MAX_FILE_TEXT_BYTES:
        raise InputError(
            f"{path.name}: holds {text_bytes / 1024**3:.1f} GB of text once decoded; one file may "
            f"hold at most {MAX_FILE_TEXT_BYTES / 1024**3:.0f} GB. Split it into several files "
            "and load each."
        )


def read_raw(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    """Expose ``path`` as view ``raw`` (with a 1-based ``_row``); returns the file's columns with
    their DuckDB types. CSV and JSON Lines are read as text into table ``raw_in``."""
    fmt = file_format(path)
    source = str(path)
    try:
        if fmt == "parquet":
            # read in place: one pass over the file later, no copy
            con.execute(
                "CREATE VIEW raw AS SELECT file_row_number + 1 AS _row, * EXCLUDE (file_row_number) "
                f"FROM read_parquet('{_sql_string(source)}', file_row_number = true)"
            )
        else:
            if fmt == "csv":
                # RFC 4180 quoting is fixed rather than sniffed: one stray quote must be an
                # error, not a reason to read every correctly quoted field literally. Lines may
                # hold a maximal text (1M characters, up to 4 bytes each in UTF-8).
                options = ""
                params: list[object] = [source]
                if path.suffix.lower() == ".tsv":
                    options += ", delim = ?"
                    params.append("\t")
                if _header_ends_with_lf(path):
                    # the header fixes the line ending: a stray carriage return in a value must not
                    # make the sniffer guess \r\n
                    options += ", new_line = '\\n'"
                con.execute(
                    "CREATE TABLE raw_in AS SELECT * FROM read_csv(?, all_varchar = true, "
                    "header = true, auto_detect = true, strict_mode = true, null_padding = false, "
                    f"quote = '\"', escape = '\"', max_line_size = 8000000{options})",
                    params,
                )
            else:
                _read_jsonl(con, path)
            # rowid follows the file's order, so it numbers data rows without a window pass
            con.execute("CREATE VIEW raw AS SELECT rowid + 1 AS _row, * FROM raw_in")
        columns = {row[0]: row[1] for row in con.execute("DESCRIBE raw").fetchall()[1:]}
        rows = con.execute("SELECT count(*) FROM raw").fetchall()[0][0]
    except duckdb.Error as exc:
        raise _reader_error(path, fmt, exc) from None
    if fmt == "csv":
        _check_columns_were_split(path, list(columns))
    if rows == 0:
        raise InputError(f"{path.name}: has a header but no data rows. Nothing to load.")
    return columns


def _header_ends_with_lf(path: Path) -> bool:
    """Whether the header line ends with a bare ``\\n`` (not ``\\r\\n``). Compressed files are
    left to DuckDB's detection."""
    if path.suffix.lower() == ".gz":
        return False
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    end = head.find(b"\n")
    return end > 0 and head[end - 1 : end] != b"\r"


def _sql_string(value: str) -> str:
    """A path as a SQL string literal body (views cannot take parameters)."""
    return value.replace("'", "''")


def _read_jsonl(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    con.execute(
        "CREATE TABLE json_lines AS SELECT row_number() OVER () AS _line, json "
        "FROM read_ndjson_objects(?)",
        [str(path)],
    )
    bad = con.execute(
        "SELECT _line, left(json::VARCHAR, 80) FROM json_lines "
        "WHERE json_type(json) <> 'OBJECT' ORDER BY _line LIMIT 1"
    ).fetchone()
    if bad:
        raise InputError(
            f"{path.name}: line {bad[0]} is not a JSON object ({bad[1]!r}). Every line must be "
            'one object such as {"user_id": "u1", "event_type": "view", "ts": "2024-05-01T10:00:00Z"}.'
        )
    keys = [
        row[0]
        for row in con.execute(
            "SELECT k FROM (SELECT k, min(_line) AS first_line FROM ("
            "  SELECT unnest(json_keys(json)) AS k, _line FROM json_lines) GROUP BY k) "
            "ORDER BY first_line, k"
        ).fetchall()
    ]
    if not keys:
        raise InputError(f"{path.name}: the JSON objects have no fields. Nothing to load.")
    selects = ", ".join(f"json_extract_string(json, ?) AS {quote_ident(key)}" for key in keys)
    paths = ["$." + '"' + key.replace('"', '\\"') + '"' for key in keys]
    con.execute(f"CREATE TABLE raw_in AS SELECT {selects} FROM json_lines ORDER BY _line", paths)
    con.execute("DROP TABLE json_lines")


def _plain(name: str) -> str:
    """A column name for recognising it: trimmed, lower case, spaces and hyphens as ``_``."""
    return re.sub(r"[\s\-]+", "_", name.replace("\ufeff", "").strip().lower())


@dataclass(frozen=True)
class ColumnMatch:
    """How a file's columns meet the target fields."""

    sources: dict[str, str]  # field -> file column
    ignored: list[str]  # file columns no field uses
    recognised: dict[str, str]  # file column -> field, matched by a common name


def resolve_columns(
    file_columns: list[str], targets: tuple[str, ...], mapping: dict[str, str] | None,
    other_names: dict[str, tuple[str, ...]] | None = None,
) -> ColumnMatch:  # fmt: skip
    """Match file columns to target fields: an explicit ``mapping`` (source -> field) first, then
    names equal after trimming and lower-casing, then the fields' common names
    (``other_names``: ``timestamp`` for ``ts``, ``behavior_type`` for ``event_type``, …), in
    the order they are listed. A column is used for one field at most."""
    mapping = dict(mapping or {})
    clean = {col: col.replace("\ufeff", "").strip() for col in file_columns}
    by_clean_lower: dict[str, str] = {}
    for col, name in clean.items():
        by_clean_lower.setdefault(name.lower(), col)
    chosen: dict[str, str] = {}
    for source, target in mapping.items():
        match = source if source in file_columns else by_clean_lower.get(source.strip().lower())
        if match is None:
            raise InputError(
                f"--map {source[:80]}={target[:80]}: the file has no column {source[:80]!r}. "
                f"Its columns are: {', '.join(clean.values())}."
            )
        if target in chosen:
            raise InputError(
                f"--map: two columns are mapped to {target!r}. Map one column per field."
            )
        chosen[target] = match
    for target in targets:
        if target not in chosen and target.lower() in by_clean_lower:
            source = by_clean_lower[target.lower()]
            if source not in chosen.values():
                chosen[target] = source
    by_plain: dict[str, str] = {}
    for col in file_columns:
        by_plain.setdefault(_plain(col), col)
    recognised: dict[str, str] = {}
    for target, names in (other_names or {}).items():
        if target in chosen or target not in targets:
            continue
        for name in names:
            found = by_plain.get(_plain(name))
            if found is not None and found not in chosen.values():
                chosen[target] = found
                recognised[clean[found]] = target
                break
    used = set(chosen.values())
    ignored = [clean[c] for c in file_columns if c not in used]
    return ColumnMatch(chosen, ignored, recognised)
