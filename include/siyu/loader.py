"""Raw ingestion: one day's partition of one source into that source's raw DuckDB file.

Design (see README "Ingestion"):

* Each source (crm, shop, community) writes its own raw DuckDB file
  (``Settings.raw_db(source)``); dbt attaches the three files read-only. DuckDB allows one
  writing process per file, so the three ingest DAGs run side by side without waiting for
  each other, and an exclusive ``flock`` on ``<raw file>.lock`` makes two writers of the
  *same* source (a backfill next to the daily run) queue instead of failing.
* Only files the contract's layout allows are loaded (``siyu.layout``); everything else in the
  source's folder is written to ``layout_issues`` at every ingest.
* All files of an entity over the days of a batch are read by DuckDB in one ``read_text`` and
  split into physical lines (any line ending), so every row keeps its 1-based physical line
  number. CSV records are split in SQL, where a quote opens a quoted field only at the start of
  a field and a record spans lines only when that cannot swallow a well-formed line
  (``_stage_csv``); JSON Lines are parsed once per line with ``json_transform``. Validation is
  one SQL ``CASE`` per rule; no Python loop touches rows.
* Python only handles whole files: listing partitions and decompressing gzip parts (known by
  their magic bytes) with a streaming decompressor, so a truncated gzip keeps its complete
  lines and its torn tail is quarantined; and, rarely, blanking the invalid UTF-8 lines of a
  file DuckDB refuses.
* A load replaces the partition (``_dt = dt``) of every table it writes inside one
  transaction: re-running a day never duplicates, and a failure leaves the previous load.
* Reading and judging (``staged_records``: files -> lines -> records with their rejection
  reason; ``drift_sql``: columns outside the contract) are separate from writing, so
  ``siyu check-landing`` (``siyu.check_landing``) applies the very same rules without a load.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import json
import logging
import re
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
from .layout import LayoutIssue, partition_files, scan_source
from .layout import landed_dates, partition_dir  # noqa: F401  (callers import them from here)

log = logging.getLogger(__name__)

QUARANTINE = "quarantine"
SCHEMA_DRIFT = "schema_drift"
LOAD_LOG = "load_log"
LAYOUT_ISSUES = "layout_issues"

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
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {LAYOUT_ISSUES} (
            source VARCHAR NOT NULL, path VARCHAR NOT NULL, reason VARCHAR NOT NULL,
            at_landing_root BOOLEAN NOT NULL, _load_id VARCHAR NOT NULL,
            _seen_at TIMESTAMPTZ NOT NULL)"""
    )


# --------------------------------------------------------------------------- files


@dataclass
class FileIssue:
    file: str
    line: int
    reason: str
    raw_line: str | None = None
    damaged_file: bool = False  # a truncated or corrupt gzip stream: the file lost its tail


@dataclass
class PreparedFile:
    rel: str  # path relative to the landing root, as recorded in lineage
    plain: Path  # uncompressed, valid UTF-8 text DuckDB can read
    size: int


GZIP_MAGIC = b"\x1f\x8b"
_LINE_ENDING = re.compile(rb"\r\n?")


def _is_gzip(path: Path) -> bool:
    """Decided by the bytes, not the name: a plain file named ``.gz`` is read as text."""
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def _end_of_complete_lines(data: bytes) -> int:
    """Where the complete lines of ``data`` end (0: none yet). A CR as the very last byte
    does not count: it may be the first half of a CRLF split between two chunks."""
    return max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1


def _count_line_ends(data: bytes, end: int) -> int:
    """Line endings in ``data[:end]`` counted as ``_LINES_SQL`` splits lines (CRLF, CR, LF)."""
    return data.count(b"\n", 0, end) + data.count(b"\r", 0, end) - data.count(b"\r\n", 0, end)


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
            cut = _end_of_complete_lines(data)
            fout.write(data[:cut])
            lines_written += _count_line_ends(data, cut)
            tail = data[cut:]
        if error is None and not d.eof:
            error = "truncated gzip file (stream ends early)"
        if error is None or tail.endswith(b"\r"):
            fout.write(tail)  # a last line without a line ending is complete
            lines_written += _count_line_ends(tail, len(tail))
            tail = b""
    if error:
        fragment = tail.decode("utf-8", "replace")[:MAX_RAW_LINE] if tail else None
        what = "incomplete last line dropped" if tail else "no partial line"
        issues.append(FileIssue(rel, lines_written + 1, f"{error}: {what}", fragment,
                                damaged_file=True))
    return issues


def _repair_utf8(path: Path, rel: str) -> list[FileIssue]:
    """Rewrite a file whose bytes are not all UTF-8: bad lines become empty and are quarantined.

    Only reached when DuckDB refuses a file as invalid UTF-8 (rare), so it may read lines.
    Line endings are normalised first, so the line numbers are those of ``_LINES_SQL``.
    """
    issues: list[FileIssue] = []
    raw = _LINE_ENDING.sub(b"\n", path.read_bytes()).split(b"\n")
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
    files: list[Path], landing_root: Path, workdir: Path
) -> tuple[list[PreparedFile], list[FileIssue]]:
    """Whole files only (rows are handled in SQL): skip empty files, decompress gzip ones."""
    prepared: list[PreparedFile] = []
    issues: list[FileIssue] = []
    for i, p in enumerate(files):
        rel = p.relative_to(landing_root).as_posix()
        size = p.stat().st_size
        if size == 0:
            continue
        if _is_gzip(p):
            plain = workdir / f"{i}.txt"
            issues += _decompress(p, plain, rel)
        else:
            if p.suffix == ".gz":
                log.warning("%s is named .gz but is not gzip: read as plain text", rel)
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
    con.execute(f"CREATE OR REPLACE TEMP TABLE _lines AS {_LINES_SQL}", [[str(p.plain) for p in prepared]])


# --------------------------------------------------------------------------- SQL

_LINES_SQL = r"""
    WITH t AS (
        SELECT f.idx,
               CASE WHEN starts_with(t.content, chr(65279)) THEN t.content[2:]
                    ELSE t.content END AS content
        FROM read_text(?) t JOIN _files f ON f.plain = t.filename
    ),
    split AS (
        SELECT idx, string_split(CASE WHEN contains(content, chr(13))
                                      THEN regexp_replace(content, '\r\n?', chr(10), 'g')
                                      ELSE content END, chr(10)) AS ls
        FROM t
    )
    SELECT idx AS file_idx, generate_subscripts(ls, 1) AS line_no, unnest(ls) AS line
    FROM split
"""
"""Physical lines of every prepared file of a batch, read by DuckDB in one statement:
(file_idx, line_no, line). Every line ending (``\n``, ``\r\n``, a lone ``\r``) ends a line,
so line numbers are physical whatever the exporter used; a leading UTF-8 BOM is dropped."""

# One CSV field followed by its comma (the caller appends one to the line). A quote only
# opens a quoted field at the start of a field: inside an unquoted field it is a plain
# character (``王"平``), as Python's csv module reads it.
_CSV_FIELD_RE = r'("(?:[^"]|"")*"|[^,]*),'
# The line ends inside a quoted field it opened: the record continues on the next line.
_CSV_OPENS_RE = r'^(?:(?:"(?:[^"]|"")*"|[^",][^,]*|),)*"(?:[^"]|"")*$'
# Read from inside a quoted field, the line closes it (a lone quote).
_CSV_CLOSES_RE = r'^(?:[^"]|"")*"(?:[^"]|$)'
MAX_RECORD_LINES = 50  # a quoted field spans at most this many physical lines


def _blank(expr: str) -> str:
    """SQL: the text is NULL, empty or only blanks (a blank line holds no record, a blank
    value is missing). Cheaper than ``trim(x) = ''`` on every row: only values starting
    with a space or tab are trimmed."""
    return (f"CASE WHEN {expr} IS NULL OR {expr} = '' THEN true WHEN ascii({expr}) IN (9, 32)"
            f" THEN trim({expr}) = '' ELSE false END")


def _csv_unquote(expr: str) -> str:
    return (
        f"CASE WHEN length({expr}) >= 2 AND starts_with({expr}, '\"') AND ends_with({expr}, '\"')"
        f" THEN replace({expr}[2:-2], '\"\"', '\"') ELSE {expr} END"
    )


def _csv_fields(expr: str) -> str:
    """SQL: the unquoted fields of one CSV record; a plain split when it holds no quote."""
    return (
        f"CASE WHEN contains({expr}, '\"') THEN list_transform("
        f"regexp_extract_all({expr} || ',', '{_CSV_FIELD_RE}', 1), lambda x: {_csv_unquote('x')})"
        f" ELSE string_split({expr}, ',') END"
    )


def _stage_csv(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Temp tables ``_headers`` (line 1 of each file, with the position of every contract
    column) and ``_multiline`` (the records that span several physical lines).

    A record is one physical line, except where a field that *starts* with a quote is still
    open at the end of the line: then the record continues up to the line that closes it
    (at most ``MAX_RECORD_LINES``), and only if the joined text has the header's number of
    fields and none of the lines it takes in is a well-formed record of its own. Otherwise
    the opening line alone is the record (rejected for its field count), so a stray quote
    costs its own line and never the lines after it. Only lines holding a quote are looked
    at here (``_quoted_lines``); every other line is a record of its own.
    """
    positions = ", ".join(
        f"list_position(header, {_lit(c)}) AS {_q('pos_' + c)}" for c in entity.columns
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _headers AS
            SELECT file_idx, header, len(header) AS width, {positions}
            FROM (SELECT file_idx, list_transform({_csv_fields('line')}, lambda c: trim(c)) AS header
                  FROM _lines WHERE line_no = 1)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _quoted_lines AS
            SELECT file_idx, line_no, regexp_full_match(line, '{_CSV_OPENS_RE}') AS opens,
                   regexp_matches(line, '{_CSV_CLOSES_RE}') AS closes
            FROM _lines WHERE line_no > 1 AND contains(line, '"')"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _multiline AS
            WITH spans AS (
                SELECT o.file_idx, o.line_no AS first_line, min(c.line_no) AS last_line
                FROM _quoted_lines o JOIN _quoted_lines c
                  ON c.file_idx = o.file_idx AND c.closes
                 AND c.line_no > o.line_no AND c.line_no < o.line_no + {MAX_RECORD_LINES}
                WHERE o.opens GROUP BY ALL
            ),
            joined AS (
                SELECT s.file_idx, s.first_line, s.last_line, any_value(h.width) AS width,
                       string_agg(l.line, chr(10) ORDER BY l.line_no) AS record,
                       bool_or(l.line_no > s.first_line AND NOT coalesce(q.opens, false)
                               AND NOT {_blank('l.line')}
                               AND len({_csv_fields('l.line')}) = h.width) AS takes_a_good_line
                FROM spans s
                JOIN _headers h ON h.file_idx = s.file_idx
                JOIN _lines l
                  ON l.file_idx = s.file_idx AND l.line_no BETWEEN s.first_line AND s.last_line
                LEFT JOIN _quoted_lines q ON q.file_idx = l.file_idx AND q.line_no = l.line_no
                GROUP BY ALL
            )
            SELECT file_idx, first_line, last_line, record
            FROM joined
            WHERE NOT takes_a_good_line AND NOT regexp_full_match(record, '{_CSV_OPENS_RE}')
              AND len({_csv_fields('record')}) = width"""
    )
    # a record cannot start on a line an earlier record already took in
    con.execute(
        """DELETE FROM _multiline m WHERE EXISTS (
               SELECT 1 FROM _multiline e WHERE e.file_idx = m.file_idx
                  AND m.first_line > e.first_line AND m.first_line <= e.last_line)"""
    )


def _csv_records_sql(entity: Entity) -> str:
    """Records of a CSV batch (see ``_stage_csv``) with a value column per contract field,
    found by header name, so reordered and added columns map by name."""
    cols = [
        f"nullif(r.fields[h.{_q('pos_' + f.name)}], '') AS {_q(f.name)}" for f in entity.fields
    ]
    known = "[" + ", ".join(_lit(c) for c in entity.columns) + "]"
    return f"""
        WITH taken AS (  -- lines inside a multi-line record, after its first line
            SELECT file_idx, unnest(range(first_line + 1, last_line + 1)) AS line_no
            FROM _multiline
        ),
        records AS (
            SELECT l.file_idx, l.line_no, coalesce(m.record, l.line) AS line,
                   coalesce(q.opens, false) AND m.record IS NULL AS unclosed
            FROM _lines l
            LEFT JOIN _multiline m ON m.file_idx = l.file_idx AND m.first_line = l.line_no
            LEFT JOIN _quoted_lines q ON q.file_idx = l.file_idx AND q.line_no = l.line_no
            ANTI JOIN taken t ON t.file_idx = l.file_idx AND t.line_no = l.line_no
            WHERE l.line_no > 1 AND NOT {_blank('l.line')}
        ),
        r AS (SELECT *, {_csv_fields('line')} AS fields FROM records)
        SELECT r.file_idx, r.line_no, r.line,
               CASE WHEN len(r.fields) <> h.width
                    THEN CASE WHEN r.unclosed THEN 'unclosed quoted field; ' ELSE '' END
                         || 'expected ' || h.width || ' fields (header), found '
                         || len(r.fields) END AS structure_error,
               CASE WHEN len(list_filter(h.header, lambda c: NOT list_contains({known}, c))) > 0
                         AND len(r.fields) = h.width
                    THEN to_json(map_from_entries(list_filter(
                             list_zip(h.header, r.fields),
                             lambda p: NOT list_contains({known}, p[1]))))
                    END AS _extra,
               {", ".join(cols)}
        FROM r JOIN _headers h USING (file_idx)
    """


def _json_records_sql(entity: Entity) -> str:
    """Records of ``_lines`` (JSON Lines): each line is parsed once into a struct of the
    contract's fields (``json_transform``); its keys tell extra and duplicated keys."""
    struct = json.dumps({f.name: "JSON" if f.kind == C.JSON else "VARCHAR" for f in entity.fields})
    cols = ", ".join(f"v.{_q(f.name)} AS {_q(f.name)}" for f in entity.fields)
    remove_known = "{" + ", ".join(f'"{c}": null' for c in entity.columns) + "}"
    known = "[" + ", ".join(_lit(c) for c in entity.columns) + "]"
    return f"""
        WITH l AS (
            SELECT file_idx, line_no, line, json_valid(line) AS valid
            FROM _lines WHERE NOT {_blank('line')}
        ),
        o AS (
            SELECT *, CASE WHEN valid AND starts_with(ltrim(line), '{{') THEN json_keys(line) END AS keys
            FROM l
        ),
        p AS (
            SELECT *, CASE WHEN keys IS NOT NULL THEN json_transform(line, {_lit(struct)}) END AS v,
                   list_filter(keys, lambda k, i: list_position(keys, k) < i) AS repeated_keys
            FROM o
        )
        SELECT file_idx, line_no, line,
               CASE WHEN NOT valid THEN 'malformed JSON'
                    WHEN keys IS NULL THEN 'JSON line is not an object'
                    WHEN len(repeated_keys) > 0
                    THEN 'duplicated key in JSON object: '
                         || array_to_string(list_distinct(repeated_keys), ', ')
                    END AS structure_error,
               CASE WHEN len(list_filter(keys, lambda k: NOT list_contains({known}, k))) > 0
                    THEN json_merge_patch(line, {_lit(remove_known)}) END AS _extra,
               {cols}
        FROM p
    """


_CRM_TIME_RE = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
_ISO_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$"
_ISO_NO_OFFSET_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?$"
_AMOUNT_RE = r"^-?\d+(\.\d+)?$"
_INT_RE = r"^-?\d+$"


# kind -> (pattern the text must match, cast that must succeed, reason when either fails)
_FORMATS = {
    C.CRM_TIME: (_CRM_TIME_RE, "try_strptime({v}, '%Y-%m-%d %H:%M:%S')", "unparsable time"),
    C.DATE: (_DATE_RE, "try_cast({v} AS DATE)", "unparsable date"),
    C.ISO_TIME: (_ISO_RE, "try_cast({v} AS TIMESTAMPTZ)", "unparsable time"),
    C.EPOCH_MS: (_INT_RE, "try_cast({v} AS BIGINT)", "unparsable epoch-ms time"),
    C.AMOUNT: (_AMOUNT_RE, "try_cast({v} AS DECIMAL(18, 2))", "unparsable amount"),
    C.INTEGER: (_INT_RE, "try_cast({v} AS INTEGER)", "unparsable integer"),
}


def _format_checks(f: C.Field) -> list[tuple[str, str]]:
    """(condition, reason) pairs for a present value of one field, tried in order inside one
    ``CASE``, so a good value costs one regex and one cast."""
    if f.kind not in _FORMATS:
        return []
    v = _q(f.name)
    pattern, cast, label = _FORMATS[f.kind]
    ok = f"regexp_full_match({v}, '{pattern}') AND {cast.format(v=v)} IS NOT NULL"
    bad = f"'{label} in {f.name}: ' || left({v}, 60)"
    if f.kind == C.ISO_TIME:  # a shop time without its offset has a reason of its own
        return [(ok, "NULL"),
                (f"regexp_full_match({v}, '{_ISO_NO_OFFSET_RE}')",
                 f"'shop time without offset in {f.name}: ' || {v}"),
                ("true", bad)]
    return [(f"NOT ({ok})", bad)]


def _field_check(f: C.Field) -> str | None:
    """SQL: the rejection reason of one field's value (NULL when it is acceptable)."""
    v = _q(f.name)
    whens = [(_blank(v + "::VARCHAR"), f"'missing required field {f.name}'" if f.required else "NULL")]
    whens += _format_checks(f)
    if f.enum:
        allowed = ", ".join(_lit(x) for x in f.enum)
        whens.append((f"{v} NOT IN ({allowed})", f"'unknown {f.name} value: ' || left({v}, 60)"))
    if len(whens) == 1 and not f.required:
        return None
    return "CASE " + " ".join(f"WHEN {cond} THEN {reason}" for cond, reason in whens) + " END"


def _entity_checks(entity: Entity) -> list[str]:
    out = []
    for f in entity.fields:
        check = _field_check(f)
        if check:
            out.append(check)
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
    with staged_records(con, entity, landing_root, files, load_ids) as staged:
        # db.transaction: a full disk is reported as such, not as the failed ROLLBACK
        with db.transaction(con):
            _replace_partitions(con, entity, dates, load_ids, started, staged.issues,
                                staged.dt_of, stats)
            finished = datetime.now(timezone.utc)
            con.executemany(
                f"INSERT INTO {LOAD_LOG} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [load_ids[dt], entity.source, entity.name, dt, st.files, st.bytes,
                     st.rows_loaded, st.rows_quarantined, started, finished]
                    for dt, st in stats.items()
                ],
            )
    elapsed = round(time.perf_counter() - t0, 3)
    for st in stats.values():
        st.seconds = elapsed
    return [stats[dt] for dt in dates]


@dataclass
class StagedBatch:
    """What ``staged_records`` staged: the issues found on whole files and lines outside
    ``_records`` (torn gzip tails, invalid UTF-8 lines) and the day of every file."""

    issues: list[FileIssue]
    dt_of: dict[str, date]  # path relative to the landing root -> its partition day


@contextlib.contextmanager
def staged_records(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    landing_root: Path,
    files: list[tuple[date, Path]],
    load_ids: dict[date, str],
) -> Iterator[StagedBatch]:
    """Read ``files`` (day, path) of one entity into the temp tables ``_files`` (idx, rel,
    plain, dt, load_id), ``_lines`` and ``_records`` (every record with its contract
    columns, ``_extra`` and ``_reason``: NULL when it loads, else why it is quarantined), plus
    ``_headers`` for CSV. The one code path by which the loader and ``siyu check-landing``
    read and judge a landing zone. Decompressed copies live in a temporary folder; it and the
    temp tables are gone when the block ends."""
    landing_root = Path(landing_root)
    with tempfile.TemporaryDirectory(prefix="siyu-load-") as tmp:
        try:
            prepared, issues = _prepare([p for _, p in files], landing_root, Path(tmp))
            dt_of = {p.relative_to(landing_root).as_posix(): dt for dt, p in files}
            issues += _stage_lines(con, prepared, Path(tmp), dt_of, load_ids)
            _stage_records(con, entity)
            yield StagedBatch(issues, dt_of)
        finally:
            _drop_temp_tables(con)


_TEMP_TABLES = ("_files", "_lines", "_headers", "_quoted_lines", "_multiline", "_records")


def _drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the staging tables of a load. After a failed load (a full disk) the drops may
    fail too: their error is logged, never raised over the load's own error."""
    for t in _TEMP_TABLES:
        try:
            con.execute(f"DROP TABLE IF EXISTS {t}")
        except duckdb.Error as exc:
            log.debug("dropping %s after the load failed: %s", t, exc)


def _stage_records(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Temp table ``_records``: every record of the staged lines with its contract columns,
    ``_extra`` and ``_reason`` (NULL when it loads, else why it is quarantined)."""
    if entity.fmt == "csv":
        _stage_csv(con, entity)
    records = _csv_records_sql(entity) if entity.fmt == "csv" else _json_records_sql(entity)
    reasons = "concat_ws('; ', " + ", ".join(_entity_checks(entity)) + ")"
    # the text of a line is kept for the quarantine only: copying every good line's text
    # again would cost as much as the parse
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _records AS
            SELECT * EXCLUDE (line),
                   CASE WHEN _reason IS NOT NULL THEN left(line, {MAX_RAW_LINE}) END AS raw_line
            FROM (SELECT *, CASE WHEN structure_error IS NOT NULL THEN structure_error
                                 ELSE nullif({reasons}, '') END AS _reason
                  FROM ({records}))"""
    )


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
            SELECT ?, ?, f.dt, f.rel, r.line_no, r._reason, r.raw_line,
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


def drift_sql(entity: Entity) -> str:
    """SQL over the staged tables: (file_idx, column_name, change, rows) for every column of a
    staged file the contract does not know (``added``: a CSV header column or a JSON key) or
    a CSV header lacks (``missing``); ``rows`` is the file's records (CSV) or the records
    carrying the key (JSON)."""
    known = "[" + ", ".join(_lit(c) for c in entity.columns) + "]"
    if entity.fmt == "csv":
        return f"""
            WITH h AS (SELECT file_idx, header FROM _headers),
            n AS (SELECT file_idx, count(*) AS rows FROM _records GROUP BY file_idx),
            added AS (SELECT file_idx, unnest(list_filter(header,
                             lambda c: NOT list_contains({known}, c))) AS col,
                             'added' AS change FROM h),
            missing AS (SELECT file_idx, unnest(list_filter({known},
                               lambda c: NOT list_contains(header, c))) AS col,
                               'missing' AS change FROM h)
            SELECT x.file_idx, x.col AS column_name, x.change, coalesce(n.rows, 0) AS rows
            FROM (SELECT * FROM added UNION ALL SELECT * FROM missing) x
            LEFT JOIN n USING (file_idx)"""
    return """
        SELECT file_idx, k AS column_name, 'added' AS change, count(*) AS rows
        FROM (SELECT file_idx, unnest(json_keys(_extra)) AS k FROM _records
              WHERE _extra IS NOT NULL)
        GROUP BY file_idx, k"""


def _record_drift(con, entity, loaded_at, stats) -> None:
    con.execute(
        f"""INSERT INTO {SCHEMA_DRIFT}
            SELECT ?, ?, f.dt, f.rel, d.column_name, d.change, d.rows, f.load_id
            FROM ({drift_sql(entity)}) d JOIN _files f ON f.idx = d.file_idx""",
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
    source: str, dates: list[date], landing_root: Path, raw_db: Path, *args, **kwargs
) -> list[SourceLoad]:
    """The loads of each day of ``ingest_source`` (same arguments), without its layout issues."""
    return ingest_source(source, dates, landing_root, raw_db, *args, **kwargs).days


@dataclass
class SourceIngest:
    days: list[SourceLoad]
    layout_issues: list[LayoutIssue]


def ingest_source(
    source: str,
    dates: list[date],
    landing_root: Path,
    raw_db: Path,
    load_id: str | None = None,
    progress=None,
    batch_bytes: int = 256 << 20,
    memory_limit: str | None = None,
) -> SourceIngest:
    """Load partitions of one source with one writer connection, and record what in the
    source's folder is not loadable (``layout_issues``, whatever the dates).

    Consecutive days are loaded together (one SQL pass per entity) while their files stay
    under ``batch_bytes``, which makes a backfill of many small days fast. ``memory_limit``
    replaces the connection's DuckDB memory limit (a share of it, when sources load at the
    same time: ``siyu.pipeline.ingest_sources``).
    """
    landing_root = Path(landing_root)
    dates = sorted(set(dates))
    load_ids = {dt: load_id or new_load_id(source, dt) for dt in dates}
    by_day: dict[date, list[EntityLoad]] = {dt: [] for dt in dates}
    with raw_connection(raw_db) as con:
        if memory_limit:
            con.execute(f"SET memory_limit = {_lit(memory_limit)}")
        ensure_schema(con, source)
        issues = scan_source(landing_root, source) if landing_root.is_dir() else []
        scan_load_id = load_ids[dates[-1]] if dates else load_id or new_load_id(source, date.today())
        _replace_layout_issues(con, source, issues, scan_load_id)
        for entity in C.entities_of(source):
            for batch in day_batches(landing_root, entity, dates, batch_bytes):
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
    return SourceIngest(out, issues)


def _replace_layout_issues(
    con: duckdb.DuckDBPyConnection, source: str, issues: list[LayoutIssue], load_id: str
) -> None:
    """``layout_issues`` holds what the latest scan saw: an issue fixed in the landing zone
    disappears at the next ingest."""
    if issues:
        log.warning("%s: %d path(s) in the landing zone are not loadable (see %s)",
                    source, len(issues), LAYOUT_ISSUES)
    with db.transaction(con):
        con.execute(f"DELETE FROM {LAYOUT_ISSUES}")
        seen_at = datetime.now(timezone.utc)
        if issues:
            con.executemany(
                f"INSERT INTO {LAYOUT_ISSUES} VALUES (?, ?, ?, ?, ?, ?)",
                [[source, i.path, i.reason, i.at_landing_root, load_id, seen_at]
                 for i in issues],
            )


def day_batches(landing_root: Path, entity: Entity, dates: list[date], limit: int):
    """Consecutive days of ``dates`` whose files (gzip counted 6x) stay under ``limit`` bytes
    together, so one SQL pass reads them (a lone bigger day is a batch of its own)."""
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
