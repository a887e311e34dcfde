"""Loading shop data files into the store, all or nothing.

    report = ingest_file(store, Path("events.csv"), "events", shop_id="acme",
                         mapping={"behavior_type": "event_type", "timestamp": "ts"})

A file is read and checked in an in-memory database first. If any row is bad the whole file is
rejected (:class:`IngestValidationError`, listing the first problems with row, column, value and
what was expected) and the store is not opened at all. With ``skip_bad=True`` the good rows load
and the bad ones are written, with their reasons, to ``<file>.rejected.csv`` beside the input.
Accepted rows are written in one transaction. Loading the same rows twice adds nothing: events are
keyed by a hash of their content, other kinds by their id.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from common.errors import InputError
from common.files import write_atomically
from db.ingest_read import (
    check_readable,
    check_size,
    file_sha256,
    quote_ident,
    read_raw,
    resolve_columns,
)
from db.ingest_rows import clean_query, problem_queries, transform_for_kind, typed_query
from db.ingest_specs import KINDS, KindSpec
from db.shops import check_shop_id
from db.store import Store

__all__ = ["IngestReport", "IngestValidationError", "check_shop_id", "ingest_file"]

LABEL_COLUMN = re.compile(r"^label_([a-z][a-z0-9_]{0,40})$")
MAX_LISTED_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    row: int | None
    column: str | None
    value: str | None
    expected: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        column = f", column {self.column!r}" if self.column else ""
        value = "" if self.value is None else f": got {self.value[:60]!r}"
        return f"{where}{column}{value} — expected {self.expected}"


class IngestValidationError(InputError):
    """The file was rejected whole; nothing was written."""

    def __init__(self, path: Path, problems: list[Problem], total: int, bad_rows: int):
        self.path, self.problems, self.total, self.bad_rows = path, problems, total, bad_rows
        lines = [
            f"{path.name}: rejected, nothing was written ({total} problem(s) in {bad_rows} row(s)):"
        ]
        lines += [f"  - {p}" for p in problems]
        if total > len(problems):
            lines.append(f"  ... and {total - len(problems)} more.")
        if bad_rows:
            lines.append("Fix these rows, or load the good rows with --skip-bad.")
        super().__init__("\n".join(lines))


@dataclass
class IngestReport:
    path: Path
    kind: str
    shop_id: str
    rows_read: int = 0
    rows_added: int = 0
    rows_already_present: int = 0
    rows_rejected: int = 0
    labels_added: int = 0
    rejected_path: Path | None = None
    ignored_columns: list[str] = field(default_factory=list)
    recognised_columns: dict[str, str] = field(default_factory=dict)  # file column -> field
    already_ingested: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # what the loader decided for the file

    def summary(self) -> str:
        if self.already_ingested:
            return f"{self.path.name}: already loaded into shop {self.shop_id!r}; nothing to add."
        text = (
            f"{self.path.name}: {self.rows_added} {self.kind} added to shop {self.shop_id!r} "
            f"({self.rows_read} read, {self.rows_already_present} already present, "
            f"{self.rows_rejected} rejected) in {self.seconds:.1f} s."
        )
        if self.labels_added:
            text += f" {self.labels_added} labels added."
        if self.rejected_path:
            text += f" Rejected rows and reasons: {self.rejected_path}"
        if self.recognised_columns:
            pairs = ", ".join(f"{c} -> {f}" for c, f in self.recognised_columns.items())
            text += f" Columns recognised by their common names: {pairs} (use --map to change)."
        if self.ignored_columns:
            text += f" Ignored columns: {', '.join(self.ignored_columns)}."
        for note in self.notes:
            text += f" Note: {note}."
        return text


def _check_kind(kind: str) -> KindSpec:
    if kind not in KINDS:
        raise InputError(f"unknown kind {kind[:40]!r}: use one of {', '.join(KINDS)}.")
    return KINDS[kind]


def _find_problems(con: duckdb.DuckDBPyConnection, spec: KindSpec, sources: dict[str, str]) -> None:
    """Table ``problems`` (row, column, expected): one scan of ``typed`` finds the failing rows,
    then only those rows are examined check by check."""
    checks = problem_queries(spec, sources)
    con.execute("CREATE TABLE problems (_row BIGINT, col VARCHAR, expected VARCHAR)")
    cell_checks = [(cond, params) for cond, params, is_cell in checks if is_cell]
    any_bad = " OR ".join(f"({cond})" for cond, _ in cell_checks) or "false"
    con.execute(f"CREATE TABLE bad_rows AS SELECT * FROM typed WHERE {any_bad}")
    for cond, params in cell_checks:
        con.execute(f"INSERT INTO problems SELECT _row, ?, ? FROM bad_rows WHERE {cond}", params)
    for sql, params, is_cell in checks:
        if not is_cell:
            con.execute(f"INSERT INTO problems {sql}", params)


def _listed_problems(con: duckdb.DuckDBPyConnection, sources: dict[str, str]) -> list[Problem]:
    """The first problems, with each cell's value as the file wrote it."""
    rows = con.execute(
        f"SELECT _row, col, expected FROM problems ORDER BY _row, col LIMIT {MAX_LISTED_PROBLEMS}"
    ).fetchall()
    problems = []
    for row, col, expected in rows:
        value = con.execute(
            f"SELECT left(CAST({quote_ident(sources[col])} AS VARCHAR), 200) FROM raw WHERE _row = ?",
            [row],
        ).fetchall()[0][0]
        problems.append(Problem(row, col, value, expected))
    return problems


def rejected_path(path: Path) -> Path:
    """Where the rejected rows of ``path`` go: ``<file>.rejected.csv`` beside it, or
    ``<file>.rejected-2.csv``, ... when that exists (an earlier report is never overwritten)."""
    target = path.with_name(path.name + ".rejected.csv")
    n = 2
    while target.exists() or target.is_symlink():
        target = path.with_name(f"{path.name}.rejected-{n}.csv")
        n += 1
    return target


def _write_rejected(con: duckdb.DuckDBPyConnection, path: Path) -> Path:
    target = rejected_path(path)
    con.execute(
        "CREATE TABLE rejected AS SELECT r.*, p.reasons FROM raw r JOIN ("
        "  SELECT _row, string_agg(col || ': expected ' || expected, '; ' ORDER BY col) AS reasons"
        "  FROM problems GROUP BY _row) p USING (_row) ORDER BY _row"
    )
    try:
        write_atomically(
            target,
            lambda tmp: con.execute("COPY rejected TO ? (HEADER, DELIMITER ',')", [str(tmp)]),
        )
    except (duckdb.Error, OSError) as exc:
        raise InputError(
            f"could not write the rejected rows beside the input ({target}): {exc}"
        ) from None
    return target


def ingest_file(
    store: Store,
    path: Path,
    kind: str,
    shop_id: str = "sample",
    mapping: dict[str, str] | None = None,
    skip_bad: bool = False,
    value_maps: dict[str, dict[str, str]] | None = None,
    memory_mb: int = 2048,
) -> IngestReport:
    """Validate ``path`` as a ``kind`` file and load it into ``shop_id`` (see module docstring).

    ``memory_mb`` caps the memory the work may take; beyond it DuckDB spills to a temporary
    folder (removed afterwards) rather than exhausting the machine. A file over the limits of
    :mod:`db.ingest_specs` (rows, decoded text) is refused before it is read in full."""
    started = time.perf_counter()
    path = Path(path)
    spec = _check_kind(kind)
    check_shop_id(shop_id)
    check_readable(path)
    report = IngestReport(path=path, kind=kind, shop_id=shop_id)
    sha = file_sha256(path)
    if store.exists() and _already_ingested(store, shop_id, kind, sha):
        report.already_ingested = True
        return report

    spill = tempfile.mkdtemp(prefix="shoplens-ingest-")
    con = duckdb.connect(config={"memory_limit": f"{int(memory_mb)}MB", "temp_directory": spill})
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        check_size(con, path)
        file_types = read_raw(con, path)
        file_columns = list(file_types)
        report.rows_read = con.execute("SELECT count(*) FROM raw").fetchall()[0][0]
        label_targets = tuple(
            c.strip().lower() for c in file_columns if LABEL_COLUMN.match(c.strip().lower())
        )
        if label_targets and not spec.label_columns_allowed:
            raise InputError(
                f"{path.name}: label columns are only accepted in reviews and messages files."
            )
        _check_mapping_targets(spec, mapping, label_targets)
        match = resolve_columns(
            file_columns, spec.names + label_targets + ("shop_id",), mapping, spec.other_names()
        )
        sources, report.ignored_columns = match.sources, match.ignored
        report.recognised_columns = match.recognised
        if _content_ids(con, spec, sources, file_columns):
            report.notes.append(f"no {spec.key[0]} column: each row's id is made from its content")
        _check_required_columns(path, spec, sources, file_columns)
        _check_shop_column(con, path, sources.pop("shop_id", None), shop_id)
        mapped = _load_value_maps(con, spec, value_maps)
        typed = typed_query(spec, sources, file_types, label_targets, shop_id, mapped)
        con.execute(f"CREATE TABLE typed AS {typed}")
        _find_problems(con, spec, sources)
        total, bad_rows = con.execute(
            "SELECT count(*), count(DISTINCT _row) FROM problems"
        ).fetchall()[0]
        if total and not skip_bad:
            raise IngestValidationError(path, _listed_problems(con, sources), total, bad_rows)
        if total:
            report.rejected_path = _write_rejected(con, path)
            report.rows_rejected = bad_rows
        con.execute(f"CREATE VIEW clean AS {clean_query(spec, sources, label_targets, total > 0)}")
        # computed here, in memory, so the store's write turn below only copies finished rows
        transform_for_kind(con, spec, shop_id).create("incoming")
        _store_rows(store, con, spec, shop_id, label_targets, sha, path, report, started)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    return report


CONTENT_ID = "_content_id"


def _content_ids(con: duckdb.DuckDBPyConnection, spec: KindSpec, sources: dict[str, str],
                 file_columns: list[str]) -> bool:  # fmt: skip
    """A review or message file without an id column (a public data set of labelled texts)
    gets one made from each row's content: a hash of all its cells, numbered among identical
    rows, so loading the same rows again adds nothing and two identical reviews stay two. Returns
    whether ids were made."""
    key = spec.key[0] if len(spec.key) == 1 else None
    if key is None or key in sources or spec.name not in ("reviews", "messages"):
        return False
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = 'raw'"
    ).fetchone()
    con.execute(f"ALTER {'VIEW' if kind and kind[0] == 'VIEW' else 'TABLE'} raw "
                "RENAME TO raw_file")  # fmt: skip
    cells = ", ".join(f"coalesce({quote_ident(c)}::VARCHAR, '')" for c in file_columns)
    con.execute(
        f"CREATE VIEW raw AS SELECT * EXCLUDE (_content), '{spec.name[0]}' || substr(_content, 1, "
        f"16) || '-' || row_number() OVER (PARTITION BY _content ORDER BY _row) AS {CONTENT_ID} "
        f"FROM (SELECT *, md5(concat_ws(chr(31), {cells})) AS _content FROM raw_file)"
    )  # fmt: skip
    sources[key] = CONTENT_ID
    return True


def _check_mapping_targets(
    spec: KindSpec, mapping: dict[str, str] | None, label_targets: tuple[str, ...]
) -> None:
    for source, target in (mapping or {}).items():
        if target not in spec.names and not LABEL_COLUMN.match(target) and target != "shop_id":
            raise InputError(
                f"--map {source[:80]}={target[:80]}: {spec.name} files have no field {target[:80]!r}. "
                f"Fields: {', '.join(spec.names)}."
            )


def _check_required_columns(
    path: Path, spec: KindSpec, sources: dict[str, str], file_columns: list[str]
) -> None:
    missing = [c.name for c in spec.columns if c.required and c.name not in sources]
    if missing:
        problems = [
            Problem(
                None,
                name,
                None,
                f"a column named {name!r} (or map yours: --map YOUR_COLUMN={name})",
            )
            for name in missing
        ]
        err = IngestValidationError(path, problems, len(problems), 0)
        shown = ", ".join(c.replace("\ufeff", "").strip() for c in file_columns)
        err.args = (err.args[0] + f"\nThe file's columns are: {shown}.",)
        raise err


def _check_shop_column(
    con: duckdb.DuckDBPyConnection, path: Path, source: str | None, shop_id: str
) -> None:
    if source is None:
        return
    other = con.execute(
        f"SELECT _row, {quote_ident(source)}::VARCHAR FROM raw "
        f"WHERE {quote_ident(source)}::VARCHAR IS DISTINCT FROM ? ORDER BY _row LIMIT 1",
        [shop_id],
    ).fetchone()
    if other:
        raise IngestValidationError(
            path,
            [Problem(other[0], "shop_id", other[1], f"{shop_id!r} (the --shop you gave)")],
            1,
            1,
        )


def _load_value_maps(
    con: duckdb.DuckDBPyConnection, spec: KindSpec, value_maps: dict[str, dict[str, str]] | None
) -> frozenset[str]:
    """Fill the ``value_map`` table (built-in aliases and ``--value`` pairs); returns the fields
    the user gave values for."""
    con.execute("CREATE TABLE value_map (field VARCHAR, src VARCHAR, dst VARCHAR)")
    rows = [
        (column.name, src, dst) for column in spec.columns for src, dst in column.aliases.items()
    ]
    for field_name, pairs in (value_maps or {}).items():
        if field_name not in spec.names:
            raise InputError(
                f"--value {field_name}:...: {spec.name} files have no field {field_name!r}."
            )
        rows = [r for r in rows if not (r[0] == field_name and r[1] in pairs)]
        rows += [(field_name, src.strip().lower(), dst) for src, dst in pairs.items()]
    if rows:
        con.executemany("INSERT INTO value_map VALUES (?, ?, ?)", rows)
    return frozenset(value_maps or {})


def _already_ingested(store: Store, shop_id: str, kind: str, sha: str) -> bool:
    with store.read() as con:
        tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
        if "ingest_runs" not in tables:
            return False
        row = con.execute(
            "SELECT count(*) FROM ingest_runs WHERE shop_id = ? AND kind = ? AND file_sha256 = ?",
            [shop_id, kind, sha],
        ).fetchone()
    return bool(row and row[0] > 0)


def _store_rows(
    store: Store,
    con: duckdb.DuckDBPyConnection,
    spec: KindSpec,
    shop_id: str,
    label_targets: tuple[str, ...],
    sha: str,
    path: Path,
    report: IngestReport,
    started: float,
) -> None:
    """Write table ``incoming`` of ``con`` into the store in one transaction."""
    from db.ingest_write import STORE, write_incoming

    store.init_schema()
    now = datetime.now(UTC).replace(tzinfo=None)
    began = datetime.fromtimestamp(time.time() - (time.perf_counter() - started), UTC)
    with store.attached(con, STORE.rstrip(".")):
        con.execute("BEGIN TRANSACTION")
        try:
            ingest_id = con.execute(
                f"SELECT coalesce(max(ingest_id), 0) + 1 FROM {STORE}ingest_runs"
            ).fetchall()[0][0]
            added, labels = write_incoming(con, spec, shop_id, ingest_id, label_targets)
            con.execute(
                f"INSERT INTO {STORE}ingest_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    ingest_id,
                    shop_id,
                    spec.name,
                    path.name,
                    sha,
                    report.rows_read,
                    added,
                    report.rows_rejected,
                    began.replace(tzinfo=None),
                    now,
                ],
            )
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    report.rows_added = added
    report.labels_added = labels
    report.rows_already_present = report.rows_read - report.rows_rejected - added
