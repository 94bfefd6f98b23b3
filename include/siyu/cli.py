"""The ``siyu`` command line.

    siyu generate       write a realistic sample landing zone
    siyu check-landing  check a landing zone against the contract without loading it
    siyu ingest         load landing partitions of one or more sources into the raw layer
    siyu run            ingest + dbt build up to an as-of date (what the daily DAG does)
    siyu quarantine     show what the loader rejected, with file, line and reason
    siyu deliver        build (and e-mail) the department extracts of a day
    siyu alert          post each department's red/yellow KPIs and to-do sizes to its chat robots
    siyu export         write a schema of the warehouse (default: the masked bi views) as Parquet

Paths and the business timezone come from flags or from the SIYU_* environment variables
(see ``siyu.config``). Every command exits non-zero when it fails; a path it needs that is
missing (a landing zone, a warehouse, a recipients file) is one line on stderr and exit 2,
before anything is done.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from datetime import date
from pathlib import Path

from . import db, pii
from . import contract as C
from .config import Settings
from .targets import TARGETS

DESCRIPTION = """\
Siyu (私域): one warehouse for CRM, shop and WeCom data, and the same KPIs for every
department. A day's work, in order:

  generate       write a sample landing zone (for demos and tests; real sources deliver their own)
  check-landing  check a landing zone against the contract, writing nothing: rows, rejected
                 lines, unknown columns, missing days, layout problems; non-zero when critical
  ingest         load landing partitions into the raw layer; bad lines go to quarantine
  run            ingest + dbt build + quality gate + publish, up to an as-of date (the daily job)
  quarantine     list the lines the loader rejected, with file, line and reason
  deliver        build each department's extract (XLSX, CSV, HTML report) for a day; --send
                 e-mails it
  alert          each department's red and yellow KPIs and the size of its staff's to-do lists,
                 printed, or with --send posted to its WeCom / Feishu / DingTalk group robots
  export         write the masked BI views (or any schema) as Parquet files for other tools
  settings       list every SIYU_* setting: meaning, default, the module that reads it

`siyu COMMAND --help` explains a command, its flags, and gives an example. In production the
Airflow DAGs in dags/ call the same code on a schedule.
"""

EPILOG = """environment:
  SIYU_LANDING_ROOT  landing zone root           (default: data/landing)
  SIYU_WAREHOUSE     DuckDB warehouse file       (default: data/warehouse/siyu.duckdb)
  SIYU_RAW_DIR       per-source raw DuckDB files (default: <warehouse>_raw/ beside it)
  SIYU_TIMEZONE      business timezone           (default: Asia/Shanghai)
  (every other setting: `siyu settings`, docs/settings.md)

exit status:
  0 done; 1 failed (one line on stderr; check-landing: a critical finding); 2 wrong usage or a
  path that is not there (no landing zone, no warehouse, no recipients file)

examples:
  siyu generate --out data/landing --users 10000 --days 180 --start 2025-01-01 --seed 7
  siyu check-landing data/landing --from 2025-06-01 --to 2025-06-28
  siyu run --landing data/landing --warehouse data/warehouse/siyu.duckdb --as-of 2025-06-29
  siyu ingest --source crm --from 2025-03-01 --to 2025-03-31
  siyu quarantine --warehouse data/warehouse/siyu.duckdb
  siyu export --format parquet --warehouse data/warehouse/siyu.duckdb --out exports/
"""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _say(msg: str) -> None:
    print(msg, flush=True)


class UsageProblem(Exception):
    """A path the command needs is not there, or an argument is wrong: ``main`` prints the
    message as one line (``siyu COMMAND: message``) and exits 2, before anything is done."""


def _need_landing(settings: Settings, hint: str = "set --landing or SIYU_LANDING_ROOT") -> Path:
    root = settings.landing_root
    if not root.is_dir():
        what = " (a file, not a folder)" if root.exists() else ""
        raise UsageProblem(f"no landing zone at {root}{what} ({hint})")
    return root


def _need_warehouse(settings: Settings) -> Path:
    if not settings.warehouse.is_file():
        what = " (a folder, not a DuckDB file)" if settings.warehouse.exists() else ""
        raise UsageProblem(f"no warehouse at {settings.warehouse}{what} "
                           "(set --warehouse or SIYU_WAREHOUSE)")
    return settings.warehouse


def _need_raw_files(settings: Settings, args) -> None:
    """At least one source's raw file, where the settings say (the raw folder beside the
    warehouse, or --raw-dir / SIYU_RAW_DIR)."""
    if any(settings.raw_db(s).is_file() for s in C.SOURCES):
        return
    if getattr(args, "raw_dir", None) or os.environ.get("SIYU_RAW_DIR"):
        raise UsageProblem(f"no raw files in {settings.raw_dir} (set --raw-dir or SIYU_RAW_DIR)")
    if not settings.warehouse.exists():
        _need_warehouse(settings)
    raise UsageProblem(f"no raw files in {settings.raw_dir} beside the warehouse "
                       f"{settings.warehouse} (nothing ingested yet; set --raw-dir or SIYU_RAW_DIR)")


def _need_file(path: Path, what: str, hint: str) -> Path:
    if not path.is_file():
        kind = " (a folder)" if path.exists() else ""
        raise UsageProblem(f"no {what} at {path}{kind} ({hint})")
    return path


def _settings(args) -> Settings:
    return Settings.from_env(
        landing_root=getattr(args, "landing", None),
        warehouse=getattr(args, "warehouse", None),
        raw_dir=getattr(args, "raw_dir", None),
        timezone=getattr(args, "timezone", None),
    )


def _add_paths(p: argparse.ArgumentParser, landing: bool = True) -> None:
    if landing:
        p.add_argument("--landing", type=Path, help="landing zone root (SIYU_LANDING_ROOT)")
    p.add_argument("--warehouse", type=Path, help="DuckDB warehouse file (SIYU_WAREHOUSE)")
    p.add_argument("--raw-dir", type=Path, help="folder of the raw files (SIYU_RAW_DIR)")
    p.add_argument("--timezone", help="business timezone (SIYU_TIMEZONE)")


def cmd_generate(args) -> int:
    from .devtools.generate import generate

    t0 = time.perf_counter()
    manifest = generate(
        out=args.out,
        users=args.users,
        days=args.days,
        start=args.start,
        seed=args.seed,
        bad_rate=args.bad_rate,
        gzip_rate=args.gzip_rate,
        progress=_say,
    )
    rows = sum(manifest.get("rows_written", {}).values())
    _say(
        f"wrote {rows:,} rows in {manifest.get('files', '?')} files to {args.out} "
        f"({time.perf_counter() - t0:.1f}s); as-of {manifest.get('as_of')}"
    )
    return 0


def cmd_ingest(args) -> int:
    from . import pipeline

    settings = _settings(args)
    _need_landing(settings)
    if args.date and (args.from_date or args.to_date):
        raise SystemExit("give either --date or --from/--to")
    if args.date:
        dates = [args.date]
    elif args.from_date and args.to_date:
        dates = pipeline.date_range(args.from_date, args.to_date)
    else:
        raise SystemExit("give --date DATE or --from DATE --to DATE")
    for source in args.source or C.SOURCES:
        _say(f"ingest {source}: {len(dates)} partition(s) {dates[0]} .. {dates[-1]}")
        summary = pipeline.ingest(settings, source, dates, progress=_say)
        _say(
            f"  -> {summary['rows_loaded']:,} rows loaded, {summary['rows_quarantined']:,} "
            f"quarantined in {summary['seconds']}s into {settings.raw_db(source)}"
        )
        if summary["new_columns"]:
            _say(f"  -> columns added by the source (kept in _extra): {summary['new_columns']}")
        if summary["layout_issues"] or summary["landing_root_issues"]:
            _say(f"  -> {summary['layout_issues'] + summary['landing_root_issues']} path(s) not "
                 "loaded: not in the contract's layout (see layout_issues)")
    return 0


def cmd_run(args) -> int:
    from . import pipeline, runner

    settings = _settings(args)
    _need_landing(settings)
    if settings.warehouse.is_dir():
        raise UsageProblem(f"{settings.warehouse} is a folder, not a warehouse file "
                           "(set --warehouse or SIYU_WAREHOUSE)")
    if args.from_date and args.from_date > args.as_of:
        raise SystemExit("--from is after --as-of")
    _say(f"siyu run as-of {args.as_of} (timezone {settings.timezone})")
    _say(f"  landing   {settings.landing_root}")
    _say(f"  raw       {settings.raw_dir}")
    _say(f"  warehouse {settings.warehouse}")
    if pii.using_demo_salt():
        _say(f"  WARNING   {pii.DEMO_SALT_WARNING}")
    result = runner.run(
        settings, args.as_of, args.from_date, progress=_say, select=args.select,
        target=args.target,
    )
    quarantined = sum(i["rows_quarantined"] for i in result["ingest"])
    layout = pipeline.layout_issue_count(result["ingest"])
    _say(
        f"done in {result['seconds']}s: warehouse {settings.warehouse}; "
        f"{quarantined:,} rows quarantined (see `siyu quarantine`); "
        f"{layout:,} path(s) not loaded (layout_issues of the raw files); "
        f"logs in {settings.log_dir}"
    )
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    return 0


def cmd_quarantine(args) -> int:
    settings = _settings(args)
    _need_raw_files(settings, args)
    for source in C.SOURCES:
        path = settings.raw_db(source)
        if not path.exists():
            continue
        con = db.connect(path, read_only=True)
        try:
            rows = con.execute(
                "SELECT entity, _dt, _file, _line, reason FROM quarantine "
                "ORDER BY _dt, _file, _line LIMIT ?",
                [args.limit],
            ).fetchall()
            n = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        finally:
            con.close()
        _say(f"{source}: {n} quarantined row(s)")
        for entity, dt, file, line, reason in rows:
            _say(f"  {file}:{line}  {reason}")
    return 0


def cmd_check_landing(args) -> int:
    from .check_landing import check_landing, format_report

    hint = "give DIR or set SIYU_LANDING_ROOT"
    root = _need_landing(_settings(args), hint)
    if not any((root / s).is_dir() for s in C.SOURCES):
        raise UsageProblem(f"no landing zone at {root}: it has no crm/, shop/ or community/ "
                           f"folder ({hint})")
    if args.from_date and args.to_date and args.from_date > args.to_date:
        raise UsageProblem("--from is after --to")
    if args.max_rejected < 0:
        raise UsageProblem("--max-rejected is a percentage >= 0")
    report = check_landing(root, args.from_date, args.to_date, args.max_rejected)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2), flush=True)
    else:
        _say(format_report(report, limit=args.limit, files=args.files))
    return report.exit_code


def cmd_deliver(args) -> int:
    from . import delivery, mail

    warehouse = _need_warehouse(_settings(args))
    if args.recipients:
        _need_file(args.recipients, "recipients file", "set --recipients or SIYU_RECIPIENTS_FILE")
    elif args.send and os.environ.get("SIYU_RECIPIENTS_FILE"):
        _need_file(Path(os.environ["SIYU_RECIPIENTS_FILE"]).expanduser(), "recipients file",
                   "set --recipients or SIYU_RECIPIENTS_FILE")
    outbox = args.outbox or delivery.outbox_dir()
    if args.period == "day" and args.date is None:
        raise UsageProblem("--date is required (a business day; --period week|month choose "
                           "the last complete period when it is left out)")
    smtp = recipients = None
    if args.send:
        recipients = delivery.load_recipients(args.recipients)
        smtp = mail.SmtpSettings.from_env(host=args.smtp_host, port=args.smtp_port,
                                          sender=args.smtp_from)
    t0 = time.perf_counter()
    what = (f"{args.date}" if args.period == "day" else
            f"--period {args.period} ({f'the {args.period} of {args.date}' if args.date else 'the last complete ' + args.period})")
    where = outbox / args.date.isoformat() if args.period == "day" else outbox
    _say(f"siyu deliver {what}: extracts of {', '.join(args.audience)} "
         f"({args.language}) into {where}"
         + (f", e-mailed through {smtp.host}:{smtp.port}" if smtp else " (not sent: no --send)"))
    try:
        result = delivery.deliver(warehouse, args.date, outbox,
                                  audiences=tuple(args.audience), language=args.language,
                                  recipients=recipients, smtp=smtp, resend=args.resend,
                                  progress=_say, period=args.period)
    except ValueError as exc:  # no such period in the warehouse: a wrong argument
        if args.period == "day":
            raise
        raise UsageProblem(str(exc)) from exc
    sent = sum(r["status"] == "sent" for r in result["sent"])
    _say(f"done in {time.perf_counter() - t0:.1f}s: {len(result['built'])} extract(s) in "
         f"{result['outbox']}, {sent} e-mail(s) sent; manifest {result['outbox']}/delivery.json")
    return 0


def cmd_alert(args) -> int:
    from . import delivery, kpi_alerts

    warehouse = _need_warehouse(_settings(args))
    hint = "set --recipients or SIYU_RECIPIENTS_FILE"
    if args.recipients:
        _need_file(args.recipients, "recipients file", hint)
    elif args.send and os.environ.get("SIYU_RECIPIENTS_FILE"):
        _need_file(Path(os.environ["SIYU_RECIPIENTS_FILE"]).expanduser(), "recipients file", hint)
    recipients = None
    if args.send or args.recipients:
        recipients = delivery.load_recipients(args.recipients)
    outbox = args.outbox or delivery.outbox_dir()
    t0 = time.perf_counter()
    _say(f"siyu alert {args.date}: {', '.join(args.audience)} ({args.language})"
         + (f", posted to the robots of {recipients.source}" if args.send
            else " (dry run: printed, not posted; --send posts)"))
    result = kpi_alerts.alert(warehouse, args.date, outbox, audiences=tuple(args.audience),
                              language=args.language, recipients=recipients, send=args.send,
                              resend=args.resend, progress=_say)
    if args.send:
        posted = sum(r["status"] == "sent" for r in result["alerts"])
        _say(f"done in {time.perf_counter() - t0:.1f}s: {posted} audience(s) posted; "
             f"record {result['record']}")
    return 0


def cmd_settings(args) -> int:
    from . import settings_doc

    if args.markdown:
        print(settings_doc.markdown(), end="")
        return 0
    for s in settings_doc.collect():
        print(f"{s.name:<26} {s.meaning}  [default: {s.default or '(none)'}; {s.module}]")
    return 0


def cmd_export(args) -> int:
    from .export import export_parquet, export_spark_parquet

    if args.target == "spark":
        export_spark_parquet(_settings(args), args.out, schema=args.schema, tables=args.table,
                             progress=_say)
        return 0
    if args.target not in (None, "duckdb"):
        raise UsageProblem(f"export reads the DuckDB file or Spark, not {args.target}")
    export_parquet(_need_warehouse(_settings(args)), args.out, schema=args.schema,
                   tables=args.table, progress=_say)
    return 0


class _TopHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse measures the commands listed by `siyu --help` without their indent, so a
    long name (check-landing) would push its help to the next line: count the indent."""

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if action.nargs == argparse.PARSER and action.choices:
            longest = max(len(name) for name in action.choices)
            self._action_max_length = max(self._action_max_length,
                                          longest + self._current_indent + 2)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="siyu",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=_TopHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    g = sub.add_parser(
        "generate",
        epilog="example:\n  siyu generate --out data/landing --users 5000 --days 120 "
        "--start 2025-03-01 --seed 7",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="write a realistic sample landing zone",
        description="Write a landing zone that follows the landing contract "
        "(docs/landing-contract.md), with its "
        "quirks and a small rate of bad input. Deterministic for a seed; streams to disk. "
        "A manifest (_manifest.json) lists rows written and bad rows injected.",
    )
    g.add_argument("--out", type=Path, required=True, help="landing root to write")
    g.add_argument("--users", type=int, required=True, help="number of people")
    g.add_argument("--days", type=int, required=True, help="number of days")
    g.add_argument("--start", type=_date, required=True, help="first day (YYYY-MM-DD)")
    g.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    g.add_argument("--bad-rate", type=float, default=0.001, help="share of bad rows per kind")
    g.add_argument("--gzip-rate", type=float, default=0.15, help="share of gzip part files")
    g.set_defaults(func=cmd_generate)

    from .check_landing import CRITICAL_KINDS, DEFAULT_MAX_REJECTED_PCT

    c = sub.add_parser(
        "check-landing",
        help="check a landing zone without loading it",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Read the landing zone DIR (default SIYU_LANDING_ROOT) with the loader's own code and rules,
writing nothing (no raw files, no warehouse, nothing in DIR; only temporary files, removed),
and report per entity and per file:

  rows read         the records the loader would load or reject
  rejected lines    file, 1-based physical line and reason, exactly as `siyu ingest` would
                    quarantine them (no line contents are printed)
  unknown columns   CSV columns or JSON keys the contract does not know (kept in _extra when
                    loaded), and CSV header columns the contract has but the file lacks
  missing days      days up to --to without a dt= partition of an entity the contract
                    delivers daily (siyu.contract: shop/orders, community/messages), from
                    --from, or else from the entity's first partition
  layout problems   paths that are not <source>/<entity>/dt=YYYY-MM-DD/part*.<fmt>[.gz]
  unreadable files  a part file that cannot be read, or a truncated or corrupt gzip (its
                    complete lines are still counted; the torn tail is a rejected line)

Without --from/--to every partition from the first to the last day found is read; with
them, only the partitions of those days (the layout is always checked whole). Files are
read in bulk by DuckDB, as the loader does: a large landing takes about as long as reading
it once.

Critical (exit 1):
""" + "".join(f"  {k:<16} {v}\n" for k, v in CRITICAL_KINDS.items()) + """
Not critical (reported only): unknown or missing columns, rejected lines at or under the
threshold. Exit 0 when nothing is critical; 2 when DIR is not a landing zone (no crm/, shop/
or community/ folder) or an argument is wrong.""",
        epilog="""\
examples:
  siyu check-landing data/landing
  siyu check-landing /mnt/landing --from 2025-06-01 --to 2025-06-28 --max-rejected 0.5
  siyu check-landing data/landing --json > check.json   # exit 1 when critical

--json prints one JSON document:
  {"landing": "/abs/dir", "from": "YYYY-MM-DD", "to": "YYYY-MM-DD",   (null: no partition)
   "max_rejected_pct": 1.0,
   "ok": true,                                   (false: exit 1)
   "critical": [{"kind": "layout|unreadable_file|rejected_lines|missing_day",
                 "message": "..."}],
   "totals": {"files": 0, "rows": 0, "rejected": 0},
   "entities": [{"entity": "crm/contacts", "daily": false, "partitions": 0, "rows": 0,
                 "rejected": 0, "rejected_pct": 0.0, "missing_days": ["YYYY-MM-DD"],
                 "unknown_columns": ["..."],
                 "files": [{"file": "crm/contacts/dt=.../part-1.csv", "dt": "YYYY-MM-DD",
                            "bytes": 0, "rows": 0, "rejected": 0, "unknown_columns": [],
                            "missing_columns": [], "unreadable": null}]}],
   "rejected": [{"entity": "crm/contacts", "file": "...", "line": 3, "reason": "..."}],
   "layout_problems": [{"path": "...", "reason": "..."}]}
Every entity of the contract is listed; "rejected" lists every rejected line (the text output
shows --limit of them); paths are relative to the landing root.""",
    )
    c.add_argument("landing", nargs="?", type=Path, metavar="DIR",
                   help="landing zone root (default SIYU_LANDING_ROOT)")
    c.add_argument("--from", dest="from_date", type=_date, metavar="YYYY-MM-DD",
                   help="first day to check (default: the first day found)")
    c.add_argument("--to", dest="to_date", type=_date, metavar="YYYY-MM-DD",
                   help="last day to check (default: the last day found)")
    c.add_argument("--max-rejected", type=float, default=DEFAULT_MAX_REJECTED_PCT, metavar="PCT",
                   help="critical above this percentage of an entity's rows rejected "
                   f"(default {DEFAULT_MAX_REJECTED_PCT:g}; 0: any rejected line)")
    c.add_argument("--json", action="store_true", help="print one JSON document (see below)")
    c.add_argument("--files", action="store_true", help="also list every file in the text output")
    c.add_argument("--limit", type=int, default=20, metavar="N",
                   help="rejected lines shown in the text output (default 20)")
    c.set_defaults(func=cmd_check_landing)

    i = sub.add_parser(
        "ingest",
        epilog="examples:\n  siyu ingest --date 2025-06-28\n"
        "  siyu ingest --source crm --from 2025-03-01 --to 2025-03-31\n\n"
        "Prints one line per source and day: rows loaded, rows quarantined, seconds.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="load landing partitions into the raw layer",
        description="Load the dt= partitions of the given days into each source's raw DuckDB "
        "file. Re-loading a day replaces it. Bad rows go to the quarantine table.",
    )
    _add_paths(i)
    i.add_argument("--source", action="append", choices=C.SOURCES, help="repeatable; default all")
    i.add_argument("--date", type=_date, help="one partition day")
    i.add_argument("--from", dest="from_date", type=_date, help="first day of a range")
    i.add_argument("--to", dest="to_date", type=_date, help="last day of a range")
    i.set_defaults(func=cmd_ingest)

    r = sub.add_parser(
        "run",
        epilog="examples:\n  siyu run --as-of 2025-06-28\n"
        "  siyu run --as-of 2025-06-28 --from 2025-06-01   # backfill June\n\n"
        "Prints a line per ingested day, one per dbt model built (position, share, seconds)\n"
        "and a count of passing tests every tenth of the build, then the quality gate's result\n"
        "and the id of the published build.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="ingest + dbt build up to an as-of date",
        description="Run the daily pipeline with the same task code as the Airflow DAGs: "
        "ingest every source, then `dbt build` with var as_of. On an empty warehouse every "
        "partition up to --as-of is loaded; otherwise partitions not yet loaded plus the "
        "as-of day; with --from, every day from --from to --as-of (a backfill). "
        "Exits non-zero when any step fails.",
    )
    _add_paths(r)
    r.add_argument("--as-of", type=_date, required=True, help="logical date of the run")
    r.add_argument("--from", dest="from_date", type=_date, help="backfill from this day")
    r.add_argument("--select", help="dbt selection (default: the whole project)")
    r.add_argument("--target", choices=sorted(TARGETS),
                   help="warehouse to build: the DuckDB file (default), the PostgreSQL "
                   "server of SIYU_PG_* or Spark (SIYU_SPARK_*; env SIYU_DBT_TARGET)")
    r.add_argument("--json", action="store_true", help="print the run summary as JSON")
    r.set_defaults(func=cmd_run)

    q = sub.add_parser(
        "quarantine",
        epilog="example:\n  siyu quarantine --warehouse data/warehouse/siyu.duckdb --limit 20",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="list rejected rows",
        description="List rows the loader rejected, with file, 1-based line and reason, per "
        "source (the count first). Reads the raw files; prints no row contents (personal data).",
    )
    _add_paths(q, landing=False)
    q.add_argument("--limit", type=int, default=50, help="rows per source (default 50)")
    q.set_defaults(func=cmd_quarantine)

    from .extracts import AUDIENCES, LANGUAGES

    d = sub.add_parser(
        "deliver",
        help="build the department extracts of a day and e-mail them",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Build each department's extract of DATE from the published warehouse into
OUTBOX/<date>/<audience>/ (an XLSX workbook, the tables as CSV, an HTML report; personal data
masked), printing one line per department (files, seconds). A rerun replaces those folders.

With --send, e-mail each department its workbook and HTML report: recipients from
--recipients FILE or SIYU_RECIPIENTS_FILE (TOML, see include/siyu/recipients.example.toml),
SMTP server from the flags or SIYU_SMTP_*. Recipients are checked before anything is built:
a department without any fails the command, unless the file says on_missing = "skip"; one
with chat robots only (`siyu alert`) is not e-mailed.
OUTBOX/<date>/delivery.json records what was built and what was sent to whom (message-id,
To/Cc, attachments, time); a department already sent that day is not sent again unless
--resend, so running the command again only retries the departments that failed.
Exits non-zero when anything fails.""",
        epilog="""environment:
  SIYU_WAREHOUSE        published warehouse     (default: data/warehouse/siyu.duckdb)
  SIYU_OUTBOX           outbox folder           (default: data/outbox)
  SIYU_RECIPIENTS_FILE  recipients TOML         (example: include/siyu/recipients.example.toml)
  SIYU_SMTP_HOST, SIYU_SMTP_PORT (25), SIYU_SMTP_FROM, SIYU_SMTP_USER, SIYU_SMTP_PASSWORD,
  SIYU_SMTP_STARTTLS (true/false), SIYU_SMTP_SSL (true/false)

examples:
  siyu deliver --warehouse data/warehouse/siyu.duckdb --date 2025-06-28 --outbox data/outbox
  siyu deliver --period week            # the last complete ISO week -> OUTBOX/week-<monday>/
  siyu deliver --period month --date 2025-06-15   # June 2025 -> OUTBOX/month-2025-06-01/
  SIYU_SMTP_HOST=mail.local SIYU_SMTP_FROM=siyu@example.com \\
    siyu deliver --date 2025-06-28 --send --recipients recipients.toml --audience sales
""",
    )
    d.add_argument("--warehouse", type=Path, metavar="PATH", help="published DuckDB warehouse (SIYU_WAREHOUSE)")
    d.add_argument("--date", type=_date,
                   help="business day of the extracts (required with --period day); with "
                        "--period week|month a day of the wanted period (default: the last "
                        "complete one as of the warehouse's as-of day)")
    d.add_argument("--period", choices=("day", "week", "month"), default="day",
                   help="day (default): the daily extracts into OUTBOX/<date>/; week or month: "
                        "the period's KPIs with the previous period and the same period last "
                        "year into OUTBOX/<period>-<period_start>/ (ISO weeks, calendar months)")
    d.add_argument("--outbox", type=Path, metavar="DIR", help="outbox folder (SIYU_OUTBOX, default data/outbox)")
    d.add_argument("--audience", nargs="+", choices=AUDIENCES, default=list(AUDIENCES),
                   metavar="A", help=f"departments (default all: {' '.join(AUDIENCES)})")
    d.add_argument("--language", choices=LANGUAGES, default="zh", help="zh (default) or en")
    d.add_argument("--send", action="store_true", help="e-mail each department its extract")
    d.add_argument("--resend", action="store_true",
                   help="with --send: also send departments delivery.json lists as sent")
    d.add_argument("--recipients", type=Path, metavar="FILE", help="recipients TOML (SIYU_RECIPIENTS_FILE)")
    d.add_argument("--smtp-host", metavar="HOST", help="SMTP server (SIYU_SMTP_HOST)")
    d.add_argument("--smtp-port", type=int, metavar="PORT", help="SMTP port (SIYU_SMTP_PORT, default 25)")
    d.add_argument("--smtp-from", metavar="ADDRESS", help="sender address (SIYU_SMTP_FROM)")
    d.set_defaults(func=cmd_deliver)

    a = sub.add_parser(
        "alert",
        help="post each department's red/yellow KPIs and to-do sizes to its chat robots",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Build, for each department, a short chat message of DATE from the published warehouse: its
red and yellow KPIs (value, target, the change since the previous day; from the marts
kpi_department_latest and kpi_department_daily) and the size of its staff's to-do lists
(marts.fct_activation_tasks: open tasks, staff, the longest list, tasks per type; staff are
counted, never named). Labels in Chinese (default) or English, as in the extracts.

Without --send the messages are printed (a dry run; with --recipients, with the robots each
would go to). With --send each is posted to the department's robots: the keys wecom_webhook,
feishu_webhook + feishu_secret, dingtalk_webhook + dingtalk_secret of its table in the
recipients file (--recipients or SIYU_RECIPIENTS_FILE, the TOML of `siyu deliver`); a value
env:NAME is read from the environment variable NAME. A department with e-mail only is
skipped. Every setting is checked before anything is posted. Rate limits (HTTP 429, WeCom
45009, Feishu 9499/11232, DingTalk 130101) and server errors are retried with backoff
(SIYU_ROBOT_*). OUTBOX/<date>/alerts.json records what each robot accepted: running the
command again posts nothing twice (only what failed), unless --resend. Exits non-zero when
anything fails. Guide: docs/alerts.md.""",
        epilog="""environment:
  SIYU_WAREHOUSE        published warehouse     (default: data/warehouse/siyu.duckdb)
  SIYU_OUTBOX           where alerts.json is    (default: data/outbox)
  SIYU_RECIPIENTS_FILE  recipients TOML         (example: include/siyu/recipients.example.toml)
  SIYU_ROBOT_RETRIES (5), SIYU_ROBOT_BACKOFF_SECONDS (5), SIYU_ROBOT_TIMEOUT_SECONDS (10)

examples:
  siyu alert --warehouse data/warehouse/siyu.duckdb --date 2025-06-28          # print them
  WECOM_SALES_WEBHOOK='https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...' \\
    siyu alert --date 2025-06-28 --recipients recipients.toml --send --audience sales
""",
    )
    a.add_argument("--warehouse", type=Path, metavar="PATH",
                   help="published DuckDB warehouse (SIYU_WAREHOUSE)")
    a.add_argument("--date", type=_date, required=True,
                   help="business day: the warehouse's as-of day")
    a.add_argument("--recipients", type=Path, metavar="FILE",
                   help="recipients TOML with the robots (SIYU_RECIPIENTS_FILE)")
    a.add_argument("--send", action="store_true", help="post the messages (default: print)")
    a.add_argument("--resend", action="store_true",
                   help="with --send: also post to robots alerts.json lists as posted")
    a.add_argument("--audience", nargs="+", choices=AUDIENCES, default=list(AUDIENCES),
                   metavar="A", help=f"departments (default all: {' '.join(AUDIENCES)})")
    a.add_argument("--language", choices=LANGUAGES, default="zh", help="zh (default) or en")
    a.add_argument("--outbox", type=Path, metavar="DIR",
                   help="outbox folder of alerts.json (SIYU_OUTBOX, default data/outbox)")
    a.set_defaults(func=cmd_alert)

    x = sub.add_parser(
        "export",
        help="write a schema of the warehouse as Parquet files",
        description="Write every table and view of a schema of the (published) warehouse as "
        "Parquet, one file per table, with DuckDB's own COPY ... (FORMAT parquet), plus "
        "_manifest.json (build, tables, rows). The default schema is bi: the masked views BI "
        "tools read, with no clear names, phones or e-mails. The warehouse is opened "
        "read-only, so an export can run while the pipeline builds. Prints one line per "
        "table: name, rows, seconds.",
        epilog="examples:\n  siyu export --format parquet --warehouse data/warehouse/siyu.duckdb "
        "--out data/export\n  siyu export --out data/export --schema marts --table kpi_sales_daily",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    x.add_argument("--format", choices=["parquet"], default="parquet", help="file format")
    x.add_argument("--target", choices=["duckdb", "spark"],
                   help="warehouse to read: the DuckDB file (default) or the published Spark "
                   "build (SIYU_SPARK_*, the Spark folder beside --warehouse)")
    x.add_argument("--warehouse", type=Path, help="DuckDB warehouse file (SIYU_WAREHOUSE)")
    x.add_argument("--out", type=Path, required=True, help="output directory")
    x.add_argument("--schema", default="bi", help="schema to export (default bi)")
    x.add_argument("--table", action="append", help="only this table (repeatable)")
    x.set_defaults(func=cmd_export)

    st = sub.add_parser(
        "settings",
        help="list every SIYU_* setting",
        description="List every setting of Siyu (environment variables SIYU_*): what it "
        "means, its default and the module that reads it. Generated from the tables in the "
        "modules' docstrings, so the list cannot drift from the code; docs/settings.md is "
        "this list as Markdown.",
        epilog="examples:\n  siyu settings\n  siyu settings --markdown > docs/settings.md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    st.add_argument("--markdown", action="store_true",
                    help="print the Markdown page docs/settings.md")
    st.set_defaults(func=cmd_settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except UsageProblem as exc:  # a wrong path or argument: one line, exit 2
        print(f"siyu {args.command}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # one clear line, non-zero exit
        if args.verbose:
            raise
        print(f"siyu {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
