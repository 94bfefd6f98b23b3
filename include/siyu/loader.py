"""Raw ingestion: one day's partition of one source into that source's raw DuckDB file.

Design (see README "Ingestion"):

* Each source (crm, shop, community) writes its own raw DuckDB file
  (``Settings.raw_db(source)``); dbt attaches the three files read-only. DuckDB allows one
  writing process per file, so the three ingest DAGs run side by side without waiting for
  each other, and an exclusive ``flock`` on ``<raw file>.lock`` makes two writers of the
  *same* source (a backfill next to the daily run) queue instead of failing.
* Files are read by DuckDB itself (``read_text``) and split into physical lines, so every row
  keeps its 1-based physical line number. CSV records are parsed in SQL (quotes, doubled
  quotes, commas inside quotes, records spanning lines); JSON Lines with DuckDB's JSON
  functions. Validation is one SQL ``CASE`` per rule; no Python loop touches rows.
* Python only handles whole files: listing partitions and decompressing ``.gz`` parts with a
  streaming decompressor, so a truncated gzip keeps its complete lines and its torn tail is
  quarantined.
* A load replaces the partition (``_dt = dt``) of every table it writes inside one
  transaction: re-running a day never duplicates, and a failure leaves the previous load.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import logging
import shutil
import tempfile
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

from . import db
from . import contract as C
from .contract import Entity

log = logging.getLogger(__name__)

QUARANTINE = "quarantine"
SCHEMA_DRIFT = "schema_drift"
LOAD_LOG = "load_log"

MAX_RAW_LINE = 4000  # characters of a rejected line kept in quarantine


# --------------------------------------------------------------------------- schema


def _sql_type(f: C.Field) -> str:
    return "JSON" if f.kind == C.JSON else "VARCHAR"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def ensure_schema(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Create the raw tables of a source (idempotent). New contract columns are added."""
    for e in C.entities_of(source):
        cols = ", ".join(f"{_q(f.name)} {_sql_type(f)}" for f in e.fields)
        con.execute(
            f"""CREATE TABLE IF NOT EXISTS {_q(e.table)} ({cols},
                _dt DATE NOT NULL, _file VARCHAR NOT NULL, _line BIGINT NOT NULL,
                _load_id VARCHAR NOT NULL, _loaded_at TIMESTAMPTZ NOT NULL, _extra JSON)"""
        )
        existing = {r[0] for r in con.execute(f"DESCRIBE {_q(e.table)}").fetchall()}
        for f in e.fields:
            if f.name not in existing:
                con.execute(f"ALTER TABLE {_q(e.table)} ADD COLUMN {_q(f.name)} {_sql_type(f)}")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {QUARANTINE} (
            source VARCHAR NOT NULL, entity VARCHAR NOT NULL, _dt DATE NOT NULL,
            _file VARCHAR NOT NULL, _line BIGINT NOT NULL, reason VARCHAR NOT NULL,
            raw_line VARCHAR, _load_id VARCHAR NOT NULL, _loaded_at TIMESTAMPTZ NOT NULL)"""
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {SCHEMA_DRIFT} (
            source VARCHAR NOT NULL, entity VARCHAR NOT NULL, _dt DATE NOT NULL,
            _file VARCHAR NOT NULL, column_name VARCHAR NOT NULL, change VARCHAR NOT NULL,
            rows BIGINT NOT NULL, _load_id VARCHAR NOT NULL)"""
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {LOAD_LOG} (
            load_id VARCHAR NOT NULL, source VARCHAR NOT NULL, entity VARCHAR NOT NULL,
            _dt DATE NOT NULL, files INTEGER NOT NULL, bytes BIGINT NOT NULL,
            rows_loaded BIGINT NOT NULL, rows_quarantined BIGINT NOT NULL,
            started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ NOT NULL)"""
    )


# --------------------------------------------------------------------------- files


@dataclass
class FileIssue:
    file: str
    line: int
    reason: str
    raw_line: str | None = None


@dataclass
class PreparedFile:
    rel: str  # path relative to the landing root, as recorded in lineage
    plain: Path  # uncompressed, valid UTF-8 text DuckDB can read
    size: int


def partition_dir(landing_root: Path, entity: Entity, dt: date) -> Path:
    return Path(landing_root) / entity.source / entity.name / f"dt={dt.isoformat()}"


def partition_files(landing_root: Path, entity: Entity, dt: date) -> list[Path]:
    d = partition_dir(landing_root, entity, dt)
    if not d.is_dir():
        return []
    return sorted(
        p for p in d.iterdir() if p.is_file() and not p.name.startswith(("_", "."))
    )


def landed_dates(landing_root: Path, source: str) -> list[date]:
    """Every dt= partition of a source that exists in the landing zone."""
    found: set[date] = set()
    for e in C.entities_of(source):
        base = Path(landing_root) / e.source / e.name
        if not base.is_dir():
            continue
        for d in base.iterdir():
            if d.is_dir() and d.name.startswith("dt="):
                try:
                    found.add(date.fromisoformat(d.name[3:]))
                except ValueError:
                    log.warning("ignoring folder with a malformed dt: %s", d)
    return sorted(found)


def _decompress(src: Path, dst: Path, rel: str) -> list[FileIssue]:
    """Stream-decompress a gzip file. A truncated or corrupt stream keeps its complete lines."""
    issues: list[FileIssue] = []
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    tail = b""
    lines_written = 0
    error: str | None = None
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while True:
            chunk = fin.read(1 << 20)
            if not chunk:
                break
            try:
                out = d.decompress(chunk)
                while d.eof and d.unused_data:  # concatenated gzip members
                    rest = d.unused_data
                    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    out += d.decompress(rest)
            except zlib.error as exc:
                error = f"corrupt gzip stream ({exc})"
                break
            data = tail + out
            cut = data.rfind(b"\n")
            if cut >= 0:
                fout.write(data[: cut + 1])
                lines_written += data.count(b"\n", 0, cut + 1)
                tail = data[cut + 1 :]
            else:
                tail = data
        if error is None and not d.eof:
            error = "truncated gzip file (stream ends early)"
        if error is None:
            fout.write(tail)  # last line without a trailing newline is complete
            tail = b""
    if error:
        fragment = tail.decode("utf-8", "replace")[:MAX_RAW_LINE] if tail else None
        what = "incomplete last line dropped" if tail else "no partial line"
        issues.append(FileIssue(rel, lines_written + 1, f"{error}: {what}", fragment))
    return issues


def _repair_utf8(path: Path, rel: str) -> list[FileIssue]:
    """Rewrite a file whose bytes are not all UTF-8: bad lines become empty and are quarantined.

    Only reached when DuckDB refuses a file as invalid UTF-8 (rare), so it may read lines.
    """
    issues: list[FileIssue] = []
    raw = path.read_bytes().split(b"\n")
    fixed = []
    for i, line in enumerate(raw, start=1):
        try:
            line.decode("utf-8")
            fixed.append(line)
        except UnicodeDecodeError:
            issues.append(
                FileIssue(rel, i, "invalid UTF-8", line.decode("utf-8", "replace")[:MAX_RAW_LINE])
            )
            fixed.append(b"")
    path.write_bytes(b"\n".join(fixed))
    return issues


def _prepare(
    files: list[Path], landing_root: Path, workdir: Path, con: duckdb.DuckDBPyConnection
) -> tuple[list[PreparedFile], list[FileIssue]]:
    prepared: list[PreparedFile] = []
    issues: list[FileIssue] = []
    for i, p in enumerate(files):  # whole files only; rows are handled in SQL
        rel = p.relative_to(landing_root).as_posix()
        size = p.stat().st_size
        if size == 0:
            continue
        if p.suffix == ".gz":
            plain = workdir / f"{i}.txt"
            issues += _decompress(p, plain, rel)
        else:
            plain = p
        prepared.append(PreparedFile(rel, plain, size))
    return prepared, issues


def _stage_lines(
    con: duckdb.DuckDBPyConnection,
    prepared: list[PreparedFile],
    workdir: Path,
    dt_of: dict[str, date],
    load_ids: dict[date, str],
) -> list[FileIssue]:
    """Create temp tables ``_files`` and ``_lines`` (file_idx, line_no, line).

    A file DuckDB refuses as invalid UTF-8 is rewritten with its bad lines blanked, and
    those lines are returned as quarantine issues.
    """
    issues: list[FileIssue] = []
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _files"
        " (idx INTEGER, rel VARCHAR, plain VARCHAR, dt DATE, load_id VARCHAR)"
    )
    if not prepared:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _lines (file_idx INTEGER, line_no BIGINT, line VARCHAR)"
        )
        return issues
    try:
        _create_lines(con, prepared, dt_of, load_ids)
    except duckdb.InvalidInputException:
        for i, pf in enumerate(prepared):
            try:
                con.execute("SELECT length(content) FROM read_text(?)", [str(pf.plain)]).fetchall()
            except duckdb.InvalidInputException:
                copy = workdir / f"utf8-{i}.txt"
                shutil.copyfile(pf.plain, copy)
                pf.plain = copy
                issues += _repair_utf8(copy, pf.rel)
        _create_lines(con, prepared, dt_of, load_ids)
    return issues


def _create_lines(con, prepared, dt_of, load_ids) -> None:
    con.execute("DELETE FROM _files")
    con.executemany(
        "INSERT INTO _files VALUES (?, ?, ?, ?, ?)",
        [
            (i, p.rel, str(p.plain), dt_of[p.rel], load_ids[dt_of[p.rel]])
            for i, p in enumerate(prepared)
        ],
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _lines AS {_lines_sql(len(prepared))}",
        [[str(p.plain) for p in prepared]],
    )


# --------------------------------------------------------------------------- SQL


def _lines_sql(n_files: int) -> str:
    """Physical lines of the prepared files: (file_idx, line_no, line)."""
    return """
        WITH t AS (
            SELECT f.idx, string_split(t.content, chr(10)) AS ls
            FROM read_text(?) t JOIN _files f ON f.plain = t.filename
        )
        SELECT idx AS file_idx,
               generate_subscripts(ls, 1) AS line_no,
               rtrim(unnest(ls), chr(13)) AS line
        FROM t
    """


_CSV_FIELD_RE = r'("(?:[^"]|"")*"|[^,]*),'


def _csv_unquote(expr: str) -> str:
    return (
        f"CASE WHEN length({expr}) >= 2 AND starts_with({expr}, '\"') AND ends_with({expr}, '\"')"
        f" THEN replace({expr}[2:-2], '\"\"', '\"') ELSE {expr} END"
    )


def _csv_records_sql(entity: Entity) -> str:
    """Parse CSV lines into records with a value column per contract field."""
    cols = []
    for f in entity.fields:
        pos = f"list_position(h.header, {_lit(f.name)})"
        cols.append(f"CASE WHEN {pos} IS NULL THEN NULL ELSE r.fields[{pos}] END AS {_q(f.name)}")
    known = "[" + ", ".join(_lit(c) for c in entity.columns) + "]"
    return f"""
        WITH lines AS (SELECT * FROM _lines WHERE NOT (line_no = 1)),
        flagged AS (
            SELECT *, (length(line) - length(replace(line, '"', ''))) % 2 AS odd FROM lines
        ),
        grouped AS (
            SELECT *, coalesce(sum(odd) OVER (PARTITION BY file_idx ORDER BY line_no
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) % 2 AS inside
            FROM flagged
        ),
        numbered AS (
            SELECT *, sum(CASE WHEN inside = 0 THEN 1 ELSE 0 END)
                        OVER (PARTITION BY file_idx ORDER BY line_no) AS rec
            FROM grouped
        ),
        recs AS (
            SELECT file_idx, min(line_no) AS line_no,
                   string_agg(line, chr(10) ORDER BY line_no) AS line
            FROM numbered GROUP BY file_idx, rec
        ),
        headers AS (
            SELECT file_idx,
                   list_transform(
                       regexp_extract_all(ltrim(line, chr(65279)) || ',', '{_CSV_FIELD_RE}', 1),
                       lambda x: trim({_csv_unquote('x')})) AS header
            FROM _lines WHERE line_no = 1
        ),
        parsed AS (
            SELECT file_idx, line_no, line,
                   list_transform(regexp_extract_all(line || ',', '{_CSV_FIELD_RE}', 1),
                                  lambda x: nullif({_csv_unquote('x')}, '')) AS fields
            FROM recs WHERE trim(line) <> ''
        )
        SELECT r.file_idx, r.line_no, r.line,
               CASE WHEN len(r.fields) <> len(h.header)
                    THEN 'expected ' || len(h.header) || ' fields (header), found '
                         || len(r.fields) END AS structure_error,
               CASE WHEN len(list_filter(h.header, lambda c: NOT list_contains({known}, c))) > 0
                         AND len(r.fields) = len(h.header)
                    THEN to_json(map_from_entries(list_filter(
                             list_zip(h.header, r.fields),
                             lambda p: NOT list_contains({known}, p[1]))))
                    END AS _extra,
               {", ".join(cols)}
        FROM parsed r JOIN headers h USING (file_idx)
    """


def _json_records_sql(entity: Entity) -> str:
    cols = []
    for f in entity.fields:
        path = _lit('$."' + f.name + '"')
        if f.kind == C.JSON:
            expr = f"json_extract(j, {path})"
            cols.append(f"CASE WHEN json_type({expr}) = 'NULL' THEN NULL ELSE {expr} END")
        else:
            cols.append(f"json_extract_string(j, {path})")
    cols = [f"{c} AS {_q(f.name)}" for c, f in zip(cols, entity.fields)]
    remove_known = "{" + ", ".join(f'"{c}": null' for c in entity.columns) + "}"
    known = "[" + ", ".join(_lit(c) for c in entity.columns) + "]"
    return f"""
        WITH l AS (
            SELECT file_idx, line_no, line,
                   CASE WHEN json_valid(line) AND json_type(line) = 'OBJECT'
                        THEN line::JSON END AS j
            FROM _lines WHERE trim(line) <> ''
        )
        SELECT file_idx, line_no, line,
               CASE WHEN j IS NULL AND NOT json_valid(line) THEN 'malformed JSON'
                    WHEN j IS NULL THEN 'JSON line is not an object' END AS structure_error,
               CASE WHEN j IS NOT NULL
                         AND len(list_filter(json_keys(j), lambda k: NOT list_contains({known}, k))) > 0
                    THEN json_merge_patch(j, {_lit(remove_known)}) END AS _extra,
               {", ".join(cols)}
        FROM l
    """


_CRM_TIME_RE = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
_ISO_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$"
_ISO_NO_OFFSET_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?$"
_AMOUNT_RE = r"^-?\d+(\.\d+)?$"
_INT_RE = r"^-?\d+$"


def _checks(f: C.Field) -> list[str]:
    """SQL expressions that yield a rejection reason (or NULL) for one field."""
    v = _q(f.name)
    present = f"({v} IS NOT NULL AND trim({v}::VARCHAR) <> '')"
    out = []
    if f.required:
        out.append(f"CASE WHEN NOT {present} THEN 'missing required field {f.name}' END")
    bad = None
    if f.kind == C.CRM_TIME:
        bad = (
            f"NOT regexp_full_match({v}, '{_CRM_TIME_RE}')"
            f" OR try_strptime({v}, '%Y-%m-%d %H:%M:%S') IS NULL"
        )
        label = "unparsable time"
    elif f.kind == C.DATE:
        bad = f"NOT regexp_full_match({v}, '{_DATE_RE}') OR try_cast({v} AS DATE) IS NULL"
        label = "unparsable date"
    elif f.kind == C.ISO_TIME:
        out.append(
            f"CASE WHEN {present} AND regexp_full_match({v}, '{_ISO_NO_OFFSET_RE}')"
            f" THEN 'shop time without offset in {f.name}: ' || {v} END"
        )
        bad = (
            f"NOT regexp_full_match({v}, '{_ISO_NO_OFFSET_RE}') AND ("
            f"NOT regexp_full_match({v}, '{_ISO_RE}') OR try_cast({v} AS TIMESTAMPTZ) IS NULL)"
        )
        label = "unparsable time"
    elif f.kind == C.EPOCH_MS:
        bad = f"NOT regexp_full_match({v}, '{_INT_RE}') OR try_cast({v} AS BIGINT) IS NULL"
        label = "unparsable epoch-ms time"
    elif f.kind == C.AMOUNT:
        bad = (
            f"NOT regexp_full_match({v}, '{_AMOUNT_RE}')"
            f" OR try_cast({v} AS DECIMAL(18, 2)) IS NULL"
        )
        label = "unparsable amount"
    elif f.kind == C.INTEGER:
        bad = f"NOT regexp_full_match({v}, '{_INT_RE}') OR try_cast({v} AS INTEGER) IS NULL"
        label = "unparsable integer"
    if bad:
        out.append(
            f"CASE WHEN {present} AND ({bad}) THEN '{label} in {f.name}: ' || left({v}, 60) END"
        )
    if f.enum:
        allowed = ", ".join(_lit(x) for x in f.enum)
        out.append(
            f"CASE WHEN {present} AND {v} NOT IN ({allowed})"
            f" THEN 'unknown {f.name} value: ' || left({v}, 60) END"
        )
    return out


def _entity_checks(entity: Entity) -> list[str]:
    out = []
    for f in entity.fields:
        out += _checks(f)
    if entity.path == "crm/surveys":
        out.append(
            "CASE WHEN regexp_full_match(score, '^-?\\d+$') AND try_cast(score AS INTEGER)"
            " NOT BETWEEN 0 AND 10 THEN 'score outside 0-10: ' || score END"
        )
    return out


# --------------------------------------------------------------------------- load


@dataclass
class EntityLoad:
    entity: str
    dt: str
    files: int = 0
    bytes: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    new_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0


@contextlib.contextmanager
def raw_connection(raw_db: Path, wait_seconds: float = 3600) -> Iterator[duckdb.DuckDBPyConnection]:
    """Exclusive writer connection to one source's raw file.

    The flock makes a second writer of the same source wait (up to ``wait_seconds``)
    instead of failing on DuckDB's file lock.
    """
    raw_db.parent.mkdir(parents=True, exist_ok=True)
    lock_path = raw_db.with_name(raw_db.name + ".lock")
    with open(lock_path, "a+") as lock:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"another writer holds {raw_db} for too long") from None
                time.sleep(0.5)
        try:
            con = db.connect(raw_db)
            try:
                yield con
            finally:
                con.close()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def load_entity_day(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    landing_root: Path,
    dt: date,
    load_id: str,
) -> EntityLoad:
    """Replace the ``dt`` partition of one entity (raw rows, quarantine, drift, load log)."""
    return load_entity_days(con, entity, landing_root, [dt], {dt: load_id})[0]


def load_entity_days(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    landing_root: Path,
    dates: list[date],
    load_ids: dict[date, str],
) -> list[EntityLoad]:
    """Replace the partitions ``dates`` of one entity in one transaction and one SQL pass.

    Raw rows, quarantine rows, schema drift and the load log of those days are deleted and
    written again, so a re-run never duplicates and a failure keeps the previous load.
    """
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    landing_root = Path(landing_root)
    stats = {dt: EntityLoad(entity.path, dt.isoformat()) for dt in dates}
    files: list[tuple[date, Path]] = []
    for dt in dates:
        found = partition_files(landing_root, entity, dt)
        stats[dt].files = len(found)
        stats[dt].bytes = sum(p.stat().st_size for p in found)
        files += [(dt, p) for p in found]
    with tempfile.TemporaryDirectory(prefix="siyu-load-") as tmp:
        prepared, issues = _prepare([p for _, p in files], landing_root, Path(tmp), con)
        dt_of = {p.relative_to(landing_root).as_posix(): dt for dt, p in files}
        issues += _stage_lines(con, prepared, Path(tmp), dt_of, load_ids)
        con.execute("BEGIN TRANSACTION")
        try:
            _replace_partitions(con, entity, dates, load_ids, started, issues, dt_of, stats)
            finished = datetime.now(timezone.utc)
            con.executemany(
                f"INSERT INTO {LOAD_LOG} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [load_ids[dt], entity.source, entity.name, dt, st.files, st.bytes,
                     st.rows_loaded, st.rows_quarantined, started, finished]
                    for dt, st in stats.items()
                ],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        finally:
            for t in ("_files", "_lines", "_records"):
                con.execute(f"DROP TABLE IF EXISTS {t}")
    elapsed = round(time.perf_counter() - t0, 3)
    for st in stats.values():
        st.seconds = elapsed
    return [stats[dt] for dt in dates]


def _replace_partitions(con, entity, dates, load_ids, loaded_at, issues, dt_of, stats) -> None:
    tbl = _q(entity.table)
    where = "source = ? AND entity = ? AND list_contains(?, _dt)"
    args = [entity.source, entity.name, dates]
    con.execute(f"DELETE FROM {tbl} WHERE list_contains(?, _dt)", [dates])
    con.execute(f"DELETE FROM {QUARANTINE} WHERE {where}", args)
    con.execute(f"DELETE FROM {SCHEMA_DRIFT} WHERE {where}", args)
    con.execute(f"DELETE FROM {LOAD_LOG} WHERE {where}", args)

    if issues:
        con.executemany(
            f"INSERT INTO {QUARANTINE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [entity.source, entity.name, dt_of[i.file], i.file, i.line, i.reason,
                 i.raw_line, load_ids[dt_of[i.file]], loaded_at]
                for i in issues
            ],
        )
    for i in issues:
        stats[dt_of[i.file]].rows_quarantined += 1
    if not con.execute("SELECT count(*) FROM _files").fetchone()[0]:
        return

    records = _csv_records_sql(entity) if entity.fmt == "csv" else _json_records_sql(entity)
    reasons = "concat_ws('; ', " + ", ".join(_entity_checks(entity)) + ")"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _records AS
            SELECT *, CASE WHEN structure_error IS NOT NULL THEN structure_error
                           ELSE nullif({reasons}, '') END AS _reason
            FROM ({records})"""
    )
    cols = ", ".join(_q(c) for c in entity.columns)
    con.execute(
        f"""INSERT INTO {tbl} ({cols}, _dt, _file, _line, _load_id, _loaded_at, _extra)
            SELECT {cols}, f.dt, f.rel, r.line_no, f.load_id, ?, r._extra
            FROM _records r JOIN _files f ON f.idx = r.file_idx
            WHERE r._reason IS NULL""",
        [loaded_at],
    )
    con.execute(
        f"""INSERT INTO {QUARANTINE}
            SELECT ?, ?, f.dt, f.rel, r.line_no, r._reason, left(r.line, {MAX_RAW_LINE}),
                   f.load_id, ?
            FROM _records r JOIN _files f ON f.idx = r.file_idx
            WHERE r._reason IS NOT NULL""",
        [entity.source, entity.name, loaded_at],
    )
    for dt, loaded, rejected in con.execute(
        "SELECT f.dt, count(*) FILTER (WHERE _reason IS NULL),"
        " count(*) FILTER (WHERE _reason IS NOT NULL)"
        " FROM _records r JOIN _files f ON f.idx = r.file_idx GROUP BY f.dt"
    ).fetchall():
        stats[dt].rows_loaded += loaded
        stats[dt].rows_quarantined += rejected
    _record_drift(con, entity, loaded_at, stats)


def _record_drift(con, entity, loaded_at, stats) -> None:
    known = "[" + ", ".join(_lit(c) for c in entity.columns) + "]"
    if entity.fmt == "csv":
        con.execute(
            f"""INSERT INTO {SCHEMA_DRIFT}
            WITH h AS (
                SELECT file_idx, list_transform(
                    regexp_extract_all(ltrim(line, chr(65279)) || ',', '{_CSV_FIELD_RE}', 1),
                    lambda x: trim({_csv_unquote('x')})) AS header
                FROM _lines WHERE line_no = 1),
            n AS (SELECT file_idx, count(*) AS rows FROM _records GROUP BY file_idx),
            added AS (SELECT file_idx, unnest(list_filter(header,
                             lambda c: NOT list_contains({known}, c))) AS col,
                             'added' AS change FROM h),
            missing AS (SELECT file_idx, unnest(list_filter({known},
                               lambda c: NOT list_contains(header, c))) AS col,
                               'missing' AS change FROM h)
            SELECT ?, ?, f.dt, f.rel, x.col, x.change, coalesce(n.rows, 0), f.load_id
            FROM (SELECT * FROM added UNION ALL SELECT * FROM missing) x
            JOIN _files f ON f.idx = x.file_idx LEFT JOIN n USING (file_idx)""",
            [entity.source, entity.name],
        )
    else:
        con.execute(
            f"""INSERT INTO {SCHEMA_DRIFT}
            SELECT ?, ?, f.dt, f.rel, k, 'added', count(*), f.load_id
            FROM (SELECT file_idx, unnest(json_keys(_extra)) AS k FROM _records
                  WHERE _extra IS NOT NULL) x
            JOIN _files f ON f.idx = x.file_idx
            GROUP BY f.dt, f.rel, k, f.load_id""",
            [entity.source, entity.name],
        )
    for dt, col in con.execute(
        "SELECT DISTINCT f.dt, k FROM (SELECT file_idx, unnest(json_keys(_extra)) AS k"
        " FROM _records WHERE _extra IS NOT NULL) x JOIN _files f ON f.idx = x.file_idx"
    ).fetchall():
        stats[dt].new_columns.append(col)


@dataclass
class SourceLoad:
    source: str
    dt: str
    load_id: str
    entities: list[EntityLoad]

    @property
    def rows_loaded(self) -> int:
        return sum(e.rows_loaded for e in self.entities)

    @property
    def rows_quarantined(self) -> int:
        return sum(e.rows_quarantined for e in self.entities)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["rows_loaded"] = self.rows_loaded
        d["rows_quarantined"] = self.rows_quarantined
        return d


def new_load_id(source: str, dt: date) -> str:
    return f"{source}:{dt.isoformat()}:{uuid.uuid4().hex[:12]}"


def ingest_source_day(
    source: str, dt: date, landing_root: Path, raw_db: Path, load_id: str | None = None
) -> SourceLoad:
    """Load every entity of ``source`` for partition ``dt`` (idempotent)."""
    return ingest_source_days(source, [dt], landing_root, raw_db, load_id)[0]


def ingest_source_days(
    source: str,
    dates: list[date],
    landing_root: Path,
    raw_db: Path,
    load_id: str | None = None,
    progress=None,
    batch_bytes: int = 256 << 20,
) -> list[SourceLoad]:
    """Load partitions of one source with one writer connection.

    Consecutive days are loaded together (one SQL pass per entity) while their files stay
    under ``batch_bytes``, which makes a backfill of many small days fast.
    """
    landing_root = Path(landing_root)
    dates = sorted(set(dates))
    load_ids = {dt: load_id or new_load_id(source, dt) for dt in dates}
    by_day: dict[date, list[EntityLoad]] = {dt: [] for dt in dates}
    with raw_connection(raw_db) as con:
        ensure_schema(con, source)
        for entity in C.entities_of(source):
            for batch in _batches(landing_root, entity, dates, batch_bytes):
                for st in load_entity_days(con, entity, landing_root, batch, load_ids):
                    by_day[date.fromisoformat(st.dt)].append(st)
    out = []
    for dt in dates:
        day = SourceLoad(source, dt.isoformat(), load_ids[dt], by_day[dt])
        log.info(
            "ingested %s dt=%s: %d rows loaded, %d quarantined (load %s)",
            source, dt, day.rows_loaded, day.rows_quarantined, load_ids[dt],
        )
        if progress:
            progress(day)
        out.append(day)
    return out


def _batches(landing_root: Path, entity: Entity, dates: list[date], limit: int):
    batch: list[date] = []
    size = 0
    for dt in dates:
        n = sum(
            p.stat().st_size * (6 if p.suffix == ".gz" else 1)
            for p in partition_files(landing_root, entity, dt)
        )
        if batch and size + n > limit:
            yield batch
            batch, size = [], 0
        batch.append(dt)
        size += n
    if batch:
        yield batch


def ensure_raw_databases(raw_dbs: dict[str, Path]) -> None:
    """Create every source's raw file with its (empty) tables, so dbt can always attach them."""
    for source, path in raw_dbs.items():
        with raw_connection(path) as con:
            ensure_schema(con, source)


def gzip_text(path: Path, text: str) -> None:  # small helper for tests and fixtures
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(text)
