"""Check a landing zone against the contract without loading it (``siyu check-landing``).

Reads every part file of the checked days with the loader's own code path
(``siyu.loader.staged_records``: gzip, line endings, BOM, CSV records, JSON parsing and every
rejection rule, in bulk SQL on an in-memory DuckDB) and, instead of writing raw tables,
counts what it found:

* per entity and per file: rows read (the records the loader would load or quarantine),
  rejected lines with file, 1-based physical line and the loader's reason, columns or keys
  the contract does not know (``siyu.loader.drift_sql``), CSV header columns it lacks;
* files that cannot be read: an I/O error, or a truncated or corrupt gzip stream (the loader
  keeps its complete lines and quarantines the torn tail; the check calls the file damaged);
* days without a partition of an entity the contract marks ``daily`` (``Entity.daily``);
* paths the contract's layout does not allow (``siyu.layout.scan_source``).

Nothing is written: no raw file, no warehouse, nothing in the landing zone. The only files
are temporary ones (decompressed gzip parts, DuckDB spill) in a temporary folder removed
before returning.

Critical, which makes ``siyu check-landing`` exit 1 (see ``CRITICAL_KINDS``): a layout
problem, an unreadable or damaged file, an entity with more than ``max_rejected_pct`` percent
of its rows rejected, a missing day of a daily entity. Unknown columns, missing CSV columns
and rejected lines under the threshold are reported, not critical (the contract expects
them and the loader handles them).
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb

from . import contract as C
from . import db, loader
from .contract import Entity
from .layout import LayoutIssue, entity_dates, partition_files, scan_source

DEFAULT_MAX_REJECTED_PCT = 1.0
BATCH_BYTES = 256 << 20  # days read together per SQL pass, as the loader batches them
CHECK_ID = "check"  # stands for the load id the staged tables carry

CRITICAL_KINDS = {
    "layout": "a path the contract's layout does not allow (not loadable)",
    "unreadable_file": "a part file that cannot be read, or a truncated/corrupt gzip",
    "rejected_lines": "an entity with more than --max-rejected percent of its rows rejected",
    "missing_day": "a day without a partition of an entity delivered daily",
}


@dataclass
class FileReport:
    file: str  # relative to the landing root
    dt: str
    bytes: int
    rows: int = 0  # records read: loaded + rejected
    rejected: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)  # CSV header lacks them
    unreadable: str | None = None  # why the file (or its tail) cannot be read


@dataclass
class EntityReport:
    entity: str
    daily: bool
    partitions: int = 0  # dt= folders in the checked days
    files: list[FileReport] = field(default_factory=list)
    missing_days: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def rejected_pct(self) -> float:
        return round(100 * self.rejected / self.rows, 3) if self.rows else 0.0

    @property
    def unknown_columns(self) -> list[str]:
        return sorted({c for f in self.files for c in f.unknown_columns})

    def as_dict(self) -> dict:
        return {
            "entity": self.entity, "daily": self.daily, "partitions": self.partitions,
            "rows": self.rows, "rejected": self.rejected, "rejected_pct": self.rejected_pct,
            "missing_days": self.missing_days, "unknown_columns": self.unknown_columns,
            "files": [asdict(f) for f in self.files],
        }


@dataclass
class RejectedLine:
    entity: str
    file: str
    line: int
    reason: str


@dataclass
class Problem:
    kind: str  # a key of CRITICAL_KINDS
    message: str


@dataclass
class LandingReport:
    landing: str
    date_from: str | None  # the checked days (None: the landing has no partition)
    date_to: str | None
    max_rejected_pct: float
    entities: list[EntityReport]
    rejected: list[RejectedLine]
    layout_problems: list[LayoutIssue]
    critical: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.critical

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def as_dict(self) -> dict:
        return {
            "landing": self.landing,
            "from": self.date_from,
            "to": self.date_to,
            "max_rejected_pct": self.max_rejected_pct,
            "ok": self.ok,
            "critical": [asdict(p) for p in self.critical],
            "totals": {
                "files": sum(len(e.files) for e in self.entities),
                "rows": sum(e.rows for e in self.entities),
                "rejected": sum(e.rejected for e in self.entities),
            },
            "entities": [e.as_dict() for e in self.entities],
            "rejected": [asdict(r) for r in self.rejected],
            "layout_problems": [{"path": i.path, "reason": i.reason}
                                for i in self.layout_problems],
        }


def check_landing(
    landing_root: Path,
    date_from: date | None = None,
    date_to: date | None = None,
    max_rejected_pct: float = DEFAULT_MAX_REJECTED_PCT,
) -> LandingReport:
    """Check the partitions of ``date_from`` .. ``date_to`` (default: the first to the last
    day found in the landing) of every entity, and the whole landing's layout."""
    root = Path(landing_root)
    if not root.is_dir():
        raise FileNotFoundError(f"no landing zone at {root}")
    layout = layout_problems(root)
    days = {e.path: entity_dates(root, e) for e in C.ENTITIES}
    found = sorted({d for ds in days.values() for d in ds})
    lo = date_from or (found[0] if found else None)
    hi = date_to or (found[-1] if found else None)
    entities: list[EntityReport] = []
    rejected: list[RejectedLine] = []
    with tempfile.TemporaryDirectory(prefix="siyu-check-") as tmp:
        con = db.connect()
        try:
            if not db.temp_directory():  # DuckDB spills beside the process otherwise
                con.execute("SET temp_directory = '" + tmp.replace("'", "''") + "'")
            for e in C.ENTITIES:
                checked = [d for d in days[e.path] if lo and hi and lo <= d <= hi]
                report = EntityReport(e.path, e.daily, partitions=len(checked))
                _read_entity(con, root, e, checked, report, rejected)
                if e.daily and lo and hi:
                    start = date_from or (days[e.path][0] if days[e.path] else lo)
                    have = set(days[e.path])
                    report.missing_days = [d.isoformat() for d in _days(start, hi)
                                           if d not in have]
                entities.append(report)
        finally:
            con.close()
    rejected.sort(key=lambda r: (r.entity, r.file, r.line))
    critical = [Problem("layout", f"{i.path}: {i.reason}") for i in layout]
    critical += _entity_problems(entities, max_rejected_pct)
    return LandingReport(
        str(root), lo.isoformat() if lo else None, hi.isoformat() if hi else None,
        max_rejected_pct, entities, rejected, layout, critical,
    )


def layout_problems(root: Path) -> list[LayoutIssue]:
    """Every path under the landing that is not loadable (each source's scan; an unknown
    folder at the landing root once)."""
    seen: set[str] = set()
    out = []
    for source in C.SOURCES:
        for issue in scan_source(root, source):
            if issue.path not in seen:
                seen.add(issue.path)
                out.append(issue)
    return sorted(out, key=lambda i: i.path)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _unreadable(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as exc:
        return f"cannot read the file: {exc.strerror or exc}"
    return None


def _read_entity(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    entity: Entity,
    dates: list[date],
    report: EntityReport,
    rejected: list[RejectedLine],
) -> None:
    """Stage the entity's files batch by batch (as the loader does) and count, per file,
    records, rejected lines and columns outside the contract."""
    for batch in loader.day_batches(root, entity, dates, BATCH_BYTES):
        files: list[tuple[date, Path]] = []
        by_rel: dict[str, FileReport] = {}
        for dt in batch:
            for p in partition_files(root, entity, dt):
                rel = p.relative_to(root).as_posix()
                fr = FileReport(rel, dt.isoformat(), p.stat().st_size, unreadable=_unreadable(p))
                report.files.append(fr)
                if fr.unreadable is None:
                    by_rel[rel] = fr
                    files.append((dt, p))
        if not files:
            continue
        with loader.staged_records(con, entity, root, files,
                                   {dt: CHECK_ID for dt in batch}) as staged:
            for rel, rows, bad in con.execute(
                "SELECT f.rel, count(r.file_idx), count(r._reason) FROM _files f"
                " LEFT JOIN _records r ON r.file_idx = f.idx GROUP BY f.rel"
            ).fetchall():
                by_rel[rel].rows += rows
                by_rel[rel].rejected += bad
            rejected += [
                RejectedLine(entity.path, rel, line, reason)
                for rel, line, reason in con.execute(
                    "SELECT f.rel, r.line_no, r._reason FROM _records r"
                    " JOIN _files f ON f.idx = r.file_idx WHERE r._reason IS NOT NULL"
                ).fetchall()
            ]
            for rel, column, change in con.execute(
                f"SELECT f.rel, d.column_name, d.change FROM ({loader.drift_sql(entity)}) d"
                " JOIN _files f ON f.idx = d.file_idx ORDER BY f.rel, d.column_name"
            ).fetchall():
                target = by_rel[rel].unknown_columns if change == "added" else (
                    by_rel[rel].missing_columns)
                target.append(column)
            for issue in staged.issues:  # torn gzip tails, invalid UTF-8 lines
                fr = by_rel[issue.file]
                fr.rows += 1
                fr.rejected += 1
                if issue.damaged_file:
                    fr.unreadable = issue.reason
                rejected.append(RejectedLine(entity.path, issue.file, issue.line, issue.reason))


def _entity_problems(entities: list[EntityReport], max_rejected_pct: float) -> list[Problem]:
    out = []
    for e in entities:
        out += [Problem("unreadable_file", f"{f.file}: {f.unreadable}")
                for f in e.files if f.unreadable]
        if e.rejected and e.rejected * 100 > max_rejected_pct * e.rows:
            out.append(Problem(
                "rejected_lines", f"{e.entity}: {e.rejected:,} of {e.rows:,} rows rejected "
                f"({e.rejected_pct:g}% > {max_rejected_pct:g}%)"))
        if e.missing_days:
            out.append(Problem(
                "missing_day", f"{e.entity} (delivered daily): no partition for "
                f"{len(e.missing_days)} day(s): {day_ranges(e.missing_days)}"))
    return out


def day_ranges(days: list[str]) -> str:
    """'2025-03-02..2025-03-04, 2025-03-09' for sorted ISO days."""
    spans: list[list[date]] = []
    for d in (date.fromisoformat(x) for x in days):
        if spans and d - spans[-1][1] == timedelta(days=1):
            spans[-1][1] = d
        else:
            spans.append([d, d])
    return ", ".join(a.isoformat() if a == b else f"{a}..{b}" for a, b in spans)


# --------------------------------------------------------------------------- text


def format_report(report: LandingReport, limit: int = 20, files: bool = False) -> str:
    """The human output: a table per entity, then the details of each kind of finding (at
    most ``limit`` rejected lines), then the verdict."""
    out = [f"landing {report.landing}: days {report.date_from or '-'} .. {report.date_to or '-'}"]
    head = ("entity", "days", "files", "rows", "rejected", "missing days", "unknown columns")
    rows = []
    for e in report.entities:
        rows.append((
            e.entity + (" *" if e.daily else ""), str(e.partitions), str(len(e.files)),
            f"{e.rows:,}", f"{e.rejected:,}" + (f" ({e.rejected_pct:g}%)" if e.rejected else ""),
            str(len(e.missing_days)) if e.daily else "-",
            _clip(", ".join(e.unknown_columns) or "-", 40),
        ))
    totals = report.as_dict()["totals"]
    rows.append(("total", "", f"{totals['files']:,}", f"{totals['rows']:,}",
                 f"{totals['rejected']:,}", "", ""))
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        out.append("  ".join(c.ljust(w) if i in (0, 6) else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    out.append("* delivered daily (siyu.contract): a day without a partition is critical")
    if files:
        out.append("\nfiles:")
        for e in report.entities:
            for f in e.files:
                extra = f"  unknown: {', '.join(f.unknown_columns)}" if f.unknown_columns else ""
                bad = f"  UNREADABLE: {f.unreadable}" if f.unreadable else ""
                out.append(f"  {f.file}  {f.rows:,} row(s), {f.rejected:,} rejected{extra}{bad}")
    if report.rejected:
        shown = report.rejected[:limit]
        out.append(f"\nrejected lines ({len(report.rejected):,}"
                   + (f", first {len(shown)}; --limit for more" if len(shown) < len(report.rejected)
                      else "") + "):")
        out += [f"  {r.file}:{r.line}  {r.reason}" for r in shown]
    drift = _columns_outside(report)
    if drift:
        out.append("\ncolumns outside the contract (unknown ones are kept in _extra when loaded;"
                    " --files or --json name every file):")
        for (entity, change, column), names in drift.items():
            out.append(f"  {entity}  {change} {column}: {len(names)} file(s), e.g. {names[0]}")
    missing = [e for e in report.entities if e.missing_days]
    if missing:
        out.append("\nmissing days of daily entities:")
        out += [f"  {e.entity}  {day_ranges(e.missing_days)}" for e in missing]
    if report.layout_problems:
        out.append(f"\nlayout problems ({len(report.layout_problems)}; not loadable):")
        out += [f"  {i.path}  {i.reason}" for i in report.layout_problems]
    unreadable = [f for e in report.entities for f in e.files if f.unreadable]
    if unreadable:
        out.append("\nunreadable files:")
        out += [f"  {f.file}  {f.unreadable}" for f in unreadable]
    if report.ok:
        out.append("\nOK: no critical problem (exit 0)")
    else:
        out.append(f"\nCRITICAL: {len(report.critical)} problem(s) (exit 1)")
        out += [f"  [{p.kind}] {p.message}" for p in report.critical[:limit]]
        if len(report.critical) > limit:
            out.append(f"  ... {len(report.critical) - limit} more (--json lists all)")
    return "\n".join(out)


def _columns_outside(report: LandingReport) -> dict[tuple[str, str, str], list[str]]:
    """(entity, 'unknown'|'missing', column) -> the files with that column outside the contract."""
    found: dict[tuple[str, str, str], list[str]] = {}
    for e in report.entities:
        for f in e.files:
            for change, columns in (("unknown", f.unknown_columns), ("missing", f.missing_columns)):
                for column in columns:
                    found.setdefault((e.entity, change, column), []).append(f.file)
    return found


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
