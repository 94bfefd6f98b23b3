"""Task code shared by the Airflow DAGs and the ``siyu`` CLI.

Every function takes its paths from a ``Settings`` object and plain arguments, so it runs
(and is tested) without Airflow. The DAG files only wire these functions into tasks.

| variable | meaning | default |
|---|---|---|
| SIYU_DBT_THREADS | dbt threads (models built at once) | `2` |
| SIYU_DATA_DOCS_DIR | where Great Expectations' Data Docs of the runs go | `<warehouse dir>/quality/data_docs` |
"""

from __future__ import annotations

import json
import logging
import re
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from . import db
from . import contract as C
from . import loader
from . import publish as wap
from .config import IN_CHECKOUT, Settings

log = logging.getLogger(__name__)


class PipelineError(RuntimeError):
    """A pipeline step failed; the message says which step and why."""


# --------------------------------------------------------------------------- dates


def business_date(moment: datetime, tz: str) -> date:
    """The business-timezone calendar date of an aware datetime (Airflow's logical date)."""
    if moment.tzinfo is None:
        raise ValueError("expected a timezone-aware datetime")
    return moment.astimezone(ZoneInfo(tz)).date()


def date_range(start: date, end: date) -> list[date]:
    if end < start:
        raise ValueError(f"empty date range: {start} > {end}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def loaded_dates(settings: Settings, source: str) -> set[date]:
    """Partitions of ``source`` already recorded in its raw load log."""
    path = settings.raw_db(source)
    if not path.exists():
        return set()
    try:
        con = db.connect(path, read_only=True)
    except duckdb.IOException:  # a writer holds it: treat as unknown, reload nothing extra
        return set()
    try:
        if not con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
            [loader.LOAD_LOG],
        ).fetchone()[0]:
            return set()
        return {r[0] for r in con.execute(f"SELECT DISTINCT _dt FROM {loader.LOAD_LOG}").fetchall()}
    finally:
        con.close()


def dates_to_load(
    settings: Settings, source: str, as_of: date, from_date: date | None = None
) -> list[date]:
    """Which partitions a run for ``as_of`` loads.

    With ``from_date``: every day from it to ``as_of`` (a backfill, existing days replaced).
    Without: every landed partition up to ``as_of`` not loaded yet, plus ``as_of`` itself
    (so an empty warehouse gets the whole history and a daily run reloads its own day).
    """
    if from_date is not None:
        return date_range(from_date, as_of)
    done = loaded_dates(settings, source)
    landed = [d for d in loader.landed_dates(settings.landing_root, source) if d <= as_of]
    todo = {d for d in landed if d not in done}
    todo.add(as_of)
    return sorted(todo)


# --------------------------------------------------------------------------- ingest


MAX_LAYOUT_LINES = 20  # layout issues printed per source; all are in the raw table


def layout_issue_count(summaries: list[dict]) -> int:
    """Distinct layout issues over the ingest summaries of a run (root ones counted once)."""
    return (sum(s["layout_issues"] for s in summaries)
            + max((s["landing_root_issues"] for s in summaries), default=0))


def require_landing(settings: Settings) -> None:
    if not settings.landing_root.is_dir():
        raise PipelineError(f"landing root {settings.landing_root} does not exist")


def ingest(
    settings: Settings,
    source: str,
    dates: Iterable[date],
    load_id: str | None = None,
    progress: Callable[[str], None] | None = None,
    memory_limit: str | None = None,
) -> dict:
    """Load partitions of one source into its raw file. Returns a summary (JSON-able)."""
    dates = sorted(set(dates))
    require_landing(settings)
    t0 = time.perf_counter()

    clock = {"last": t0, "done": 0}

    def _progress(day: loader.SourceLoad) -> None:
        now = time.perf_counter()
        clock["done"] += 1
        if progress:
            progress(
                f"  {source:<9} [{clock['done']:>{len(str(len(dates)))}}/{len(dates)}] "
                f"dt={day.dt}  loaded {day.rows_loaded:>9,}"
                f"  quarantined {day.rows_quarantined:>5,}  {now - clock['last']:.1f}s"
            )
        clock["last"] = now

    result = loader.ingest_source(
        source, dates, settings.landing_root, settings.raw_db(source), load_id, _progress,
        memory_limit=memory_limit,
    )
    days = result.days
    in_source = [i for i in result.layout_issues if not i.at_landing_root]
    at_root = [i for i in result.layout_issues if i.at_landing_root]
    if progress:
        for issue in result.layout_issues[:MAX_LAYOUT_LINES]:
            progress(f"  {source:<9} not loaded: {issue.path} ({issue.reason})")
        if len(result.layout_issues) > MAX_LAYOUT_LINES:
            progress(f"  {source:<9} ... {len(result.layout_issues) - MAX_LAYOUT_LINES} more "
                     f"in {loader.LAYOUT_ISSUES} of {settings.raw_db(source)}")
    summary = {
        "source": source,
        "dates": [d.isoformat() for d in dates],
        "rows_loaded": sum(d.rows_loaded for d in days),
        "rows_quarantined": sum(d.rows_quarantined for d in days),
        "new_columns": sorted({c for d in days for e in d.entities for c in e.new_columns}),
        # paths the contract's layout does not allow: not loaded, listed in layout_issues
        "layout_issues": len(in_source),
        # unknown folders at the landing root: every source's ingest sees the same ones
        "landing_root_issues": len(at_root),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    log.info("ingest summary %s", json.dumps(summary))
    return summary


def ingest_sources(
    settings: Settings,
    plan: list[tuple[str, list[date]]],
    progress: Callable[[str], None] | None = None,
) -> list[dict]:
    """``ingest`` of every (source, dates) of ``plan`` at the same time, one thread each: every
    source has its own raw file and writer, and DuckDB works outside Python's lock, so the
    sources share the cores (measured at 100k users x 180 days: 12.4-15.1 s one after the
    other, 9.2-9.7 s together). Each connection gets an equal share of the DuckDB memory limit,
    so together they stay within it. The summaries come in the order of ``plan``; when a
    source fails, the others still finish, the first failure (in that order) is raised and
    any later one is logged."""
    if len(plan) <= 1:
        return [ingest(settings, source, dates, progress=progress) for source, dates in plan]
    lock = threading.Lock()

    def say(line: str) -> None:
        with lock:  # whole lines from the sources' threads
            progress(line)

    share = db.memory_limit_share(len(plan))
    with ThreadPoolExecutor(max_workers=len(plan), thread_name_prefix="ingest") as pool:
        futures = [pool.submit(ingest, settings, source, dates,
                               progress=say if progress else None, memory_limit=share)
                   for source, dates in plan]
    failed = [(source, f.exception()) for (source, _dates), f in zip(plan, futures)
              if f.exception() is not None]
    for source, error in failed[1:]:
        log.error("ingest of %s failed too: %s: %s", source, type(error).__name__, error)
    return [f.result() for f in futures]


def ensure_raw(settings: Settings) -> None:
    """Make sure every source's raw file exists with its tables (dbt attaches all three)."""
    loader.ensure_raw_databases({s: settings.raw_db(s) for s in C.SOURCES})


# --------------------------------------------------------------------------- dbt


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("dbt")
    if not found:
        raise PipelineError("dbt executable not found; run `make setup`")
    return found


def dbt_command() -> list[str]:
    """dbt's command line as Siyu runs it: ``siyu.dbt_cli``, which reuses the parsed project
    between runs (SIYU_DBT_MANIFEST_CACHE=off: plain dbt, parsing every time)."""
    return [sys.executable, "-m", "siyu.dbt_cli"]


def dbt_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(settings.env())
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    if not IN_CHECKOUT:  # an installed package: dbt's files beside the warehouse, not in it
        env.setdefault("DBT_TARGET_PATH", str(settings.warehouse.parent / "dbt_target"))
    env.setdefault("SIYU_DBT_MANIFEST_CACHE", str(manifest_cache_dir(settings, env)))
    return env


def manifest_cache_dir(settings: Settings, env: dict[str, str] | None = None) -> Path:
    """Where ``siyu.dbt_cli`` keeps the parsed project between runs: ``siyu_manifests`` in
    dbt's target folder (DBT_TARGET_PATH; else ``dbt_project/target`` of a checkout, or
    ``dbt_target`` beside the warehouse of an installed package). A fixed place, also for the
    Airflow tasks, whose dbt runs in a temporary copy of the project."""
    env = os.environ if env is None else env
    if env.get("DBT_TARGET_PATH"):
        target = Path(env["DBT_TARGET_PATH"])
    elif IN_CHECKOUT:
        target = settings.dbt_project_dir / "target"
    else:
        target = settings.warehouse.parent / "dbt_target"
    return target / "siyu_manifests"


def dbt(
    settings: Settings,
    args: list[str],
    as_of: date | None = None,
    progress: Callable[[str], None] | None = None,
    extra_env: dict[str, str] | None = None,
) -> None:
    """Run one dbt command on the project with the warehouse of ``settings`` (and
    ``extra_env``, e.g. the PostgreSQL target's connection). dbt writes its structured log
    (``--log-format json``: one event per line) to us and its usual debug log to
    ``<log dir>/dbt/dbt.log``; the events' text goes to ``<log dir>/dbt-last.log``, and
    ``progress`` gets short lines made from the events (``DbtProgress``)."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        *dbt_command(),
        *args,
        "--project-dir", str(settings.dbt_project_dir),
        "--profiles-dir", str(settings.dbt_project_dir),
        "--log-path", str(settings.log_dir / "dbt"),
        "--log-format", "json", "--log-format-file", "debug",
    ]
    if as_of is not None and args and args[0] in {"build", "run", "test", "seed", "snapshot"}:
        cmd += ["--vars", json.dumps({"as_of": as_of.isoformat()})]
    if progress:
        progress(f"  $ dbt {' '.join(args)}")
    t0 = time.perf_counter()
    ticker = DbtProgress(progress, t0) if progress else None
    proc = subprocess.Popen(
        cmd, env={**dbt_env(settings), **(extra_env or {})}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
        cwd=settings.dbt_project_dir,
    )
    lines: list[str] = []
    summary = "done"
    assert proc.stdout is not None
    for line in proc.stdout:
        event = DbtEvent.parse(line)
        if event is None:  # not an event: e.g. the traceback of a crash
            lines.append(line.rstrip("\n"))
            continue
        lines.append(event.text)
        if event.name == "StatsLine":  # "Done. PASS=.. WARN=.. ERROR=.. SKIP=.. TOTAL=.."
            summary = event.text.strip()
        if ticker:
            ticker.feed(event)
    returncode = proc.wait()
    out = "\n".join(lines) + "\n"
    (settings.log_dir / "dbt-last.log").write_text(out)
    if returncode != 0:
        tail = "\n".join(out.strip().splitlines()[-40:])
        raise PipelineError(f"dbt {' '.join(args)} failed (exit {returncode}):\n{tail}")
    if progress:
        progress(f"    {summary} in {time.perf_counter() - t0:.1f}s")


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class DbtEvent:
    """One event of dbt's structured log (``--log-format json``): its name (``LogModelResult``,
    ``LogTestResult``, ``StatsLine``, ...), its data and its human text."""

    __slots__ = ("name", "data", "text")

    def __init__(self, name: str, data: dict, text: str) -> None:
        self.name, self.data, self.text = name, data, text

    @classmethod
    def parse(cls, line: str) -> DbtEvent | None:
        try:
            event = json.loads(line)
        except ValueError:
            return None
        if not isinstance(event, dict) or "info" not in event:
            return None
        info = event["info"]
        return cls(info.get("name", ""), event.get("data") or {},
                   _ANSI.sub("", info.get("msg") or ""))


# dbt's result event of a node -> its total and position fields
_RESULT_EVENTS = {"LogModelResult", "LogSeedResult", "LogSnapshotResult", "LogTestResult",
                  "SkippingDetails"}
_STATUS = {"success": "OK", "pass": "PASS", "warn": "WARN", "fail": "FAIL", "error": "ERROR",
           "skipped": "SKIP"}


class DbtProgress:
    """Turns dbt's node result events into short progress lines while dbt runs: one line per
    model or seed built (``[ 52/150]  35%  OK  staging.stg_shop__orders  0.2s``), one per test
    that warns or fails, and a count line for passing tests every tenth of the run, so a long
    build shows where it is without printing hundreds of test names."""

    def __init__(self, say: Callable[[str], None], t0: float) -> None:
        self.say = say
        self.t0 = t0
        self.done = 0
        self.tests_passed = 0
        self.next_tick = 0.1

    def feed(self, event: DbtEvent) -> None:
        if event.name not in _RESULT_EVENTS:
            return
        data = event.data
        node = data.get("node_info") or {}
        kind = node.get("resource_type") or data.get("resource_type") or ""
        total = int(data.get("total") or data.get("num_models") or 0)
        status = "SKIP" if event.name == "SkippingDetails" else _STATUS.get(
            str(data.get("status", "")).lower(), str(data.get("status", "")).upper())
        self.done += 1
        share = self.done / total if total else 1.0
        prefix = f"    [{self.done:>{len(str(total))}}/{total}] {share:>4.0%}"
        built = kind in {"model", "seed", "snapshot"}
        if built or status not in {"OK", "PASS"}:
            rel = node.get("node_relation") or {}
            if rel.get("schema") and rel.get("alias"):
                name = f"{rel['schema']}.{rel['alias']}"
            else:
                name = data.get("name") or node.get("node_name") or data.get("node_name") or "?"
            secs = data.get("execution_time")
            self.say(f"{prefix}  {status:<5} {name}" + (f"  {float(secs):.1f}s" if secs else ""))
        else:
            self.tests_passed += 1
        if share >= self.next_tick:
            self.say(f"{prefix}  {self.tests_passed} test(s) passed so far, "
                     f"{time.perf_counter() - self.t0:.0f}s elapsed")
            while self.next_tick <= share:
                self.next_tick += 0.1


# What a production build leaves out: dbt's unit tests check the SQL of models against hand-made
# inputs; they do not depend on the day's data, so they run in `make test`
# (tests/test_dbt_unit_tests.py) and in development (`dbt test --select "test_type:unit"`), not
# in every daily build. The data tests (not_null, unique, relationships, ...) all run.
PRODUCTION_BUILD_FLAGS = ("--exclude-resource-type", "unit_test")


def incremental_lookback_days(settings: Settings) -> int:
    """The dbt var ``incremental_lookback_days`` (how far back incremental models re-read)."""
    import yaml

    project = yaml.safe_load((settings.dbt_project_dir / "dbt_project.yml").read_text())
    return int((project.get("vars") or {}).get("incremental_lookback_days", 7))


def needs_full_refresh(settings: Settings, as_of: date, from_date: date | None) -> bool:
    """A backfill that reaches further back than the incremental lookback must rebuild the
    incremental models, or the re-loaded old partitions would not reach them."""
    return from_date is not None and (as_of - from_date).days >= incremental_lookback_days(settings)


def build(
    settings: Settings,
    as_of: date | None,
    select: str | None = None,
    progress: Callable[[str], None] | None = None,
    full_refresh: bool = False,
) -> None:
    ensure_raw(settings)
    args = ["build", *PRODUCTION_BUILD_FLAGS]
    if select:
        args += ["--select", select]
    if full_refresh:
        args.append("--full-refresh")
    dbt(settings, args, as_of=as_of, progress=progress)


# --------------------------------------------------------------------------- run


def data_docs_dir(settings: Settings) -> Path:
    """Where Great Expectations' Data Docs of the runs go (SIYU_DATA_DOCS_DIR, default
    ``<warehouse dir>/quality/data_docs``)."""
    configured = os.environ.get("SIYU_DATA_DOCS_DIR")
    return Path(configured) if configured else settings.warehouse.parent / "quality" / "data_docs"


def start_raw_validation(settings: Settings, as_of: date | None, run_id: str
                         ) -> Future | None:
    """Start the Great Expectations validation of the as-of day's raw batches in a thread and
    return its future (None without an as-of day). The raw files are final once ingest has
    ended and dbt only reads them, so the validation can run while dbt builds (a subprocess):
    the audit then waits for its result instead of starting it (~5 s of a small run, GX's
    import included). Nothing is written until the audit: its outcome gates the publish
    exactly as before."""
    if as_of is None:
        return None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="siyu-raw-gate")
    try:
        return pool.submit(_validate_raw, settings, as_of, run_id)
    finally:
        pool.shutdown(wait=False)


def _validate_raw(settings: Settings, as_of: date, run_id: str) -> list:
    from . import quality

    return [quality.validate_raw_day(settings, source, as_of, run_id) for source in C.SOURCES]


def audit(settings: Settings, working: Path, as_of: date | None, run_id: str,
          progress: Callable[[str], None] | None = None, build_id: str | None = None,
          raw: Future | None = None) -> dict:
    """Audit the working build before it is published (write-audit-publish). dbt's tests ran
    in the build already: every rule on the models (marts' keys, enums, ranges, consistency,
    reconciliations) is a dbt test, and a failing error-severity test stops the build before
    this point. Here the Great Expectations suites of ``expectations/`` check the as-of day's
    raw batches as delivered; business warnings (red/yellow KPIs, volume drops of 20% or
    more) are recorded. Results go to ``ops.dq_results`` / ``ops.dq_warnings`` of the working
    file (so they are published with it, each row naming ``build_id``, the build audited) and
    to Data Docs. Raises ``PipelineError`` naming each
    failed critical expectation, its table and observed value. ``raw``: the raw validation
    started beside the build (``start_raw_validation``), else it runs here."""
    return _quality_gate(settings, as_of, run_id, progress, build_id, store=working,
                         warnings_from=working, raw=raw)


def audit_raw(settings: Settings, as_of: date | None, run_id: str,
              progress: Callable[[str], None] | None = None, build_id: str | None = None,
              raw: Future | None = None) -> dict:
    """The quality gate of the engines whose marts are not a DuckDB file (PostgreSQL, Spark):
    the same Great Expectations suites on the as-of day's raw batches (the raw layer is
    DuckDB files on every target: the loader writes them before they are copied to the
    engine), the same Data Docs, the same ``PipelineError`` on a critical failure. The results
    go to ``ops.dq_results`` of ``<warehouse dir>/quality/dq_results.duckdb`` (quality_store);
    the business warnings, which read the DuckDB marts, are not computed."""
    return _quality_gate(settings, as_of, run_id, progress, build_id,
                         store=quality_store(settings), warnings_from=None, raw=raw)


def quality_store(settings: Settings) -> Path:
    """The DuckDB file that keeps the quality results of the non-DuckDB targets' runs."""
    return data_docs_dir(settings).parent / "dq_results.duckdb"


def _quality_gate(settings: Settings, as_of: date | None, run_id: str,
                  progress: Callable[[str], None] | None, build_id: str | None,
                  store: Path, warnings_from: Path | None, raw: Future | None = None) -> dict:
    from . import quality

    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    beside = raw is not None
    if raw is not None:
        reports = raw.result()
    else:
        reports = _validate_raw(settings, as_of, run_id) if as_of is not None else []
    report = quality.QualityReport(run_id=run_id, build_id=build_id)
    for part in reports:
        report.extend(part)
    report.warnings = (quality.business_warnings(warnings_from, as_of)
                       if as_of is not None and warnings_from is not None else [])
    store.parent.mkdir(parents=True, exist_ok=True)
    report.store(store)
    docs = quality.build_data_docs(data_docs_dir(settings), [report])
    failures = report.critical_failures
    say(f"  quality: {len(report.results)} expectations, {len(failures)} critical and "
        f"{len(report.warning_failures)} warning failure(s), {len(report.warnings)} business "
        f"warning(s) in {time.perf_counter() - t0:.1f}s"
        f"{' (the raw batches validated beside the build)' if beside else ''}; data docs {docs}")
    for w in report.warnings:
        log.info("data-quality warning: %s", w.message)
    try:
        report.raise_for_critical()
    except quality.QualityGateError as exc:
        raise PipelineError(
            f"quality gate failed; the published warehouse is unchanged:\n{exc}") from exc
    return {"expectations": len(report.results), "warning_failures": len(report.warning_failures),
            "business_warnings": len(report.warnings), "data_docs": str(docs)}


def new_run_id() -> str:
    """The run id of a ``siyu run``: time and process, so two runs never share one."""
    return f"siyu-run-{datetime.now().strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"


def build_and_publish(
    settings: Settings,
    as_of: date | None,
    select: str | None = None,
    progress: Callable[[str], None] | None = None,
    full_refresh: bool = False,
    run_id: str | None = None,
) -> dict:
    """Write-audit-publish: build into the run's own working copy of the published warehouse,
    audit it, and only then replace the published file atomically (siyu.publish). Holds the
    warehouse lock (re-entrant: ``run`` holds it already). A failure keeps the working copy as
    ``<stem>.failed.duckdb`` (deleted when the disk is full) and re-raises."""
    say = progress or (lambda _msg: None)
    run_id = run_id or new_run_id()
    with wap.warehouse_lock(settings, owner=run_id):
        build_id = wap.new_build_id()
        working = wap.prepare_working_copy(settings, run_id)
        try:
            raw = start_raw_validation(settings, as_of, run_id)
            build(wap.working_settings(settings, run_id), as_of, select=select,
                  progress=progress, full_refresh=full_refresh)
            audited = audit(settings, working, as_of, run_id, progress, build_id=build_id,
                            raw=raw)
            wap.stamp_build(working, as_of, run_id, build_id)
            wap.publish(settings, working, build_id)
        except BaseException as exc:
            kept = wap.discard_working_copy(settings, working, exc)
            if kept:
                say(f"  the failed build is kept for debugging in {kept}")
            raise
    say(f"  published build {build_id[:12]} to {settings.warehouse}")
    return {"build_id": build_id, "audit": audited}
