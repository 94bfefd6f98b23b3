"""Airflow wiring shared by the DAG files in ``dags/`` (the only Airflow-aware module).

DAG files stay thin: they call ``make_ingest_task`` / ``warehouse_build`` from here, and those
call plain functions in ``siyu.pipeline`` / ``siyu.publish``. Settings are read from the
environment at parse time (``SIYU_*``) and can be overridden per run with DAG Params
``landing_root`` / ``warehouse`` / ``as_of``.

| variable             | meaning                                                   | default        |
|----------------------|-----------------------------------------------------------|----------------|
| SIYU_START_DATE      | first business day the schedules know                    | `2025-01-01`   |
| SIYU_END_DATE        | last business day the schedules create runs for (manual   | (none)         |
|                      | runs and backfills up to it still work)                   |                |
| SIYU_CATCHUP         | create the missed runs since SIYU_START_DATE              | `false`        |
| SIYU_SCHEDULE_CRON   | when a business day's run starts (business timezone)      | `0 2 * * *`    |
| SIYU_TASK_RETRIES    | retries of every task (exponential backoff: 2, 4, ... min)| `2`            |
| SIYU_RETRY_DELAY_SECONDS | the first retry's delay (doubles, at most 30 min)     | `120`          |
| SIYU_WAREHOUSE_POOL  | pool of the tasks that write the warehouse: give it ONE   | `default_pool` |
|                      | slot under a scheduler (DuckDB has one writer per file)   |                |
| SIYU_DAG_TOPOLOGY    | which pipeline DAGs exist: `daily` (one DAG, `siyu_daily`)| `daily`        |
|                      | or `assets` (`siyu_ingest_<source>` + `siyu_build` on    |                |
|                      | their raw assets); the other is not generated            |                |
| SIYU_ALERT_*         | failure e-mails, see ``siyu.alerts``                      |                |

The warehouse target is configuration too (``SIYU_DBT_TARGET``, ``siyu.targets``): with
``duckdb`` (the default) the build is the working copy + cosmos' dbt tasks +
``audit_and_publish``; with another target (``spark``, ``postgres``) the same DAGs get the
target's four steps as four tasks instead (``target_build``: ``load_raw`` -> ``dbt_build``
-> ``audit`` -> ``publish``), one DAG run at a time through the same warehouse lease.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import pendulum
from airflow.sdk import Asset, Param, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

from . import alerts, pii, pipeline
from . import contract as C
from . import publish as wap
from .config import REPO_ROOT, Settings
from .run_context import (  # noqa: F401  (the DAG files and tests use them from here)
    day_all_sources_reached, days_from_asset_events, resolve_as_of, run_settings,
)

OWNER = "siyu-data"
TAGS_BASE = ["siyu"]


def default_args() -> dict:
    """Every task: retries with exponential backoff (2, 4, 8 ... minutes, at most 30), a time
    limit, and the failure alert (log + e-mail, ``siyu.alerts``) after the last retry."""
    return {
        "owner": OWNER,
        "retries": int(os.environ.get("SIYU_TASK_RETRIES", "2")),
        "retry_delay": timedelta(seconds=float(os.environ.get("SIYU_RETRY_DELAY_SECONDS", "120"))),
        # a multiplier since Airflow 3.1: True would be 1.0, i.e. a constant delay
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": timedelta(hours=2),
        "on_failure_callback": alerts.on_failure,
    }


DAGRUN_TIMEOUT = timedelta(hours=8)  # a run still going after that is failed


def settings() -> Settings:
    return Settings.from_env()


def daily_schedule(tz: str | None = None) -> CronDataIntervalTimetable:
    """One run per business day. The run for day D has data interval [D 02:00, D+1 02:00)
    business time and starts at D+1 02:00 (two hours of grace for late extracts), so its
    logical date is D and ``airflow dags test <dag> D`` processes day D."""
    tz = tz or settings().timezone
    return CronDataIntervalTimetable(os.environ.get("SIYU_SCHEDULE_CRON", "0 2 * * *"), timezone=tz)


def start_date() -> pendulum.DateTime:
    tz = settings().timezone
    return pendulum.parse(os.environ.get("SIYU_START_DATE", "2025-01-01"), tz=tz)


def end_date() -> pendulum.DateTime | None:
    """``SIYU_END_DATE``: the schedule creates no run after this business day (its end)."""
    value = os.environ.get("SIYU_END_DATE")
    if not value:
        return None
    return pendulum.parse(value, tz=settings().timezone).end_of("day")


def catchup() -> bool:
    return os.environ.get("SIYU_CATCHUP", "false").lower() in {"1", "true", "yes"}


def params() -> dict:
    s = settings()
    return {
        "as_of": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Business date to process (default: the run's data interval start).",
        ),
        "landing_root": Param(str(s.landing_root), type="string", description="Landing zone"),
        "warehouse": Param(str(s.warehouse), type="string", description="DuckDB warehouse"),
        "full_refresh": Param(
            False,
            type="boolean",
            description="Rebuild the incremental models from all of raw (`dbt build "
            "--full-refresh`): for a backfill that reaches further back than the incremental "
            "lookback, or after a model's columns changed.",
        ),
    }


ASSET_URI_PREFIX = "siyu://"


def raw_asset(source: str) -> Asset:
    """The raw layer of one source: emitted by its ingest DAG, with the business day and the
    raw file in the event's extra (``{"as_of": "2025-06-28", "raw_db": "/.../crm.duckdb"}``).
    Name and URI do not depend on the deployment's paths: Airflow keys assets on both, and a
    URI that changed with ``SIYU_RAW_DIR`` would make the asset inactive for every DAG parsed
    with the other setting (``AirflowInactiveAssetInInletOrOutletException``)."""
    return Asset(name=f"siyu_raw_{source}", uri=f"{ASSET_URI_PREFIX}raw/{source}")


def build_schedule():
    """``siyu_build`` runs once every source has landed: all three raw assets (AND)."""
    first, *rest = (raw_asset(source) for source in C.SOURCES)
    condition = first
    for asset in rest:
        condition = condition & asset
    return condition


def marts_asset() -> Asset:
    """Emitted when a build is published: what BI tools and the delivery DAG wait for. A
    stable URI (see ``raw_asset``); the published file's path is in the event's extra
    (``warehouse``)."""
    return Asset(name="siyu_marts", uri=f"{ASSET_URI_PREFIX}warehouse/marts")


TOPOLOGIES = ("daily", "assets")


def topology() -> str:
    """Which pipeline DAGs the DAG files generate (``SIYU_DAG_TOPOLOGY``): ``daily`` -- one DAG,
    ``siyu_daily``, ingests the three sources and builds; ``assets`` -- one ingest DAG per source
    (``siyu_ingest_<source>``) and ``siyu_build`` scheduled on their raw assets. Never both:
    two paths building the same days would queue behind each other on the warehouse lock and
    double every run. ``siyu_deliver`` exists in both."""
    value = (os.environ.get("SIYU_DAG_TOPOLOGY") or "daily").strip().lower()
    if value not in TOPOLOGIES:
        raise ValueError(f"SIYU_DAG_TOPOLOGY={value!r}: use one of {', '.join(TOPOLOGIES)}")
    return value


def warehouse_pool() -> str:
    return os.environ.get("SIYU_WAREHOUSE_POOL", "default_pool")


def make_ingest_task(source: str, emit_asset: bool = True):
    """The ingest task of one source; only the per-source DAGs emit the raw asset, with the
    business day in the event's extra."""
    asset = raw_asset(source)

    @task(
        task_id=f"ingest_{source}",
        outlets=[asset] if emit_asset else [],
        execution_timeout=timedelta(hours=1),
        doc_md=f"Load the `{source}` partitions of the run's business date (and any earlier "
        f"landed day never loaded) into `{source}.duckdb` (raw). Idempotent: a re-run replaces "
        "the day; bad rows go to `quarantine` with file, line and reason."
        + (f" Emits the asset `{asset.name}` with extra `{{\"as_of\": <day>}}`, which "
           "`siyu_build` is scheduled on." if emit_asset else ""),
    )
    def _ingest() -> dict:
        ctx = get_current_context()
        s = run_settings(ctx)
        as_of = resolve_as_of(ctx, s.timezone)
        # the run's own day, plus any earlier landed day never loaded (first run = history)
        dates = pipeline.dates_to_load(s, source, as_of)
        summary = pipeline.ingest(s, source, dates, load_id=f"{source}:{as_of}:{ctx['run_id']}")
        if emit_asset:
            ctx["outlet_events"][asset].extra = {
                "as_of": as_of.isoformat(), "source": source, "partitions": len(dates),
                "raw_db": str(s.raw_db(source)),
                "rows_loaded": summary["rows_loaded"],
                "rows_quarantined": summary["rows_quarantined"],
            }
        return summary

    return _ingest()


@task(task_id="resolve_as_of", execution_timeout=timedelta(minutes=5),
      doc_md="The business day this run processes (XCom for the dbt vars): Param `as_of`, else "
      "the day all three sources have reached in the triggering asset events (siyu_build), "
      "else the run's logical date.")
def as_of_task() -> str:
    ctx = get_current_context()
    s = run_settings(ctx)
    return resolve_as_of(ctx, s.timezone).isoformat()


@task(task_id="ensure_raw", execution_timeout=timedelta(minutes=10),
      doc_md="Create missing raw files/tables so dbt can attach all three sources.")
def ensure_raw_task() -> None:
    pipeline.ensure_raw(run_settings(get_current_context()))


@lru_cache(maxsize=4)
def _model_docs(manifest: str, mtime: float) -> dict[str, str]:
    nodes = json.loads(Path(manifest).read_text()).get("nodes", {})
    return {uid: (n.get("description") or "").strip() for uid, n in nodes.items()}


PRODUCER_TASK_ID = "dbt_producer_watcher"  # cosmos.constants.PRODUCER_WATCHER_TASK_ID
PRODUCER_DONE_TASK_ID = "dbt_producer_watcher_done"
PRODUCER_DOC = (
    "**The one writer of this run's dbt build.** Runs `dbt build` over the whole project "
    "(every model, seed and test; dbt threads = `SIYU_DBT_THREADS`) on the working copy of the "
    "warehouse, in one process, and reports each node's result to that node's task as it "
    "finishes. A failed model or test fails this task and the run stops before "
    "`audit_and_publish`: nothing is published. It does not retry itself (a second build would "
    "race the first): clear it to rebuild everything, or clear a failed model's task to rebuild "
    "that model alone."
)


def _document_dbt_tasks(group, manifest: Path) -> None:
    """Cosmos leaves task docs empty: the producer says what it does, and each model's task
    shows the model's dbt description and how it follows the producer."""
    docs = _model_docs(str(manifest), manifest.stat().st_mtime) if manifest.exists() else {}
    for uid, node_task in (getattr(group, "tasks_map", None) or {}).items():
        tasks = getattr(node_task, "children", None)
        for t in (tasks.values() if tasks else [node_task]):
            if getattr(t, "doc_md", None):
                continue
            if uid == PRODUCER_TASK_ID:
                t.doc_md = PRODUCER_DOC
                continue
            if uid == PRODUCER_DONE_TASK_ID:
                t.doc_md = "Marks the end of the producer's build for the tasks after the group."
                continue
            name = uid.split(".")[-1]
            t.doc_md = (
                f"Shows `{name}` as `{PRODUCER_TASK_ID}` built it: state, dbt log lines, "
                "compiled SQL (its tests ran in the producer's build). Retried or cleared after "
                f"the build ended, it runs `dbt run --select {name}` on the working copy.\n\n"
                + (docs.get(uid) or "(no description in the dbt project)"))


# The department extracts' tables (dbt_project/models/reports): views over the marts that
# compute nothing until an extract reads them (~1 s to create all of them). One Airflow task
# each would be ~30 tasks showing nothing but "created a view", at ~0.1 s of scheduling each in
# every run; the producer's `dbt build` creates them with the rest, and its log and
# run_results show them (a failing view fails the producer and the run).
REPORT_VIEWS = "path:models/reports"


def dbt_task_group(group_id: str = "dbt", select: list[str] | None = None):
    """The dbt project as Airflow tasks through cosmos' watcher mode: ONE producer task runs
    `dbt build` (models, seed, tests, with dbt's threads) on the working copy, the file's only
    writer; every model keeps a task of its own that shows the node's state and log as the
    producer reported it and reruns the model alone when it is retried or cleared after the
    build ended."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

    s = settings()
    project_dir = s.dbt_project_dir
    manifest = project_dir / "target" / "manifest.json"
    dbt_bin = str(Path(pipeline.dbt_executable()))
    # the producer and the model reruns go through siyu-dbt (siyu.dbt_cli): dbt's command
    # line reusing the parsed project, which cosmos' temporary project copies would otherwise
    # parse anew each time; cosmos renders the DAG with plain dbt (or the manifest)
    siyu_dbt = str(Path(pipeline.dbt_executable()).with_name("siyu-dbt"))
    if not Path(siyu_dbt).exists():
        siyu_dbt = dbt_bin
    env = s.env()
    env["SIYU_DBT_MANIFEST_CACHE"] = (os.environ.get("SIYU_DBT_MANIFEST_CACHE")
                                      or str(pipeline.manifest_cache_dir(s)))
    # dbt builds this run's working copy (write-audit-publish): its path is what
    # prepare_working_copy returned, rendered when the producer (or a model's rerun) starts
    env["SIYU_WAREHOUSE"] = "{{ ti.xcom_pull(task_ids='prepare_working_copy') }}"
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
    project = ProjectConfig(
        dbt_project_path=project_dir,
        manifest_path=manifest if manifest.exists() else None,
        install_dbt_deps=False,
        env_vars=env,
    )
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=project,
        profile_config=ProfileConfig(
            profile_name="siyu",
            target_name="duckdb",
            profiles_yml_filepath=project_dir / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            # dbt in a subprocess: its environment (working copy, raw files) is explicit, and
            # DuckDB's memory goes back to the system when the build ends
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=siyu_dbt,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST if manifest.exists() else LoadMode.DBT_LS,
            select=select or [],
            # the extracts' views get no task of their own (REPORT_VIEWS); the producer still
            # builds them (_after_the_producer drops this exclude from its command)
            exclude=[REPORT_VIEWS],
            emit_datasets=False,
            # a task per model; the tests run inside the producer's `dbt build` (below)
            test_behavior=TestBehavior.NONE,
            dbt_executable_path=dbt_bin,
            invocation_mode=InvocationMode.SUBPROCESS,
        ),
        operator_args={
            "vars": {"as_of": "{{ ti.xcom_pull(task_ids='resolve_as_of') }}"},
            "full_refresh": "{{ params.full_refresh }}",
            "install_deps": False,
            "append_env": True,
            # a model's task reads a final state at once (it starts after the producer)
            "deferrable": False,
            "poke_interval": 5,
        },
        default_args={"retries": 2, "execution_timeout": timedelta(hours=2)},
    )
    _after_the_producer(group)
    _document_dbt_tasks(group, manifest)
    return group


def _without_option(flags: list[str], option: str) -> list[str]:
    """``flags`` without every ``option VALUE`` pair."""
    out, skip = [], False
    for flag in flags:
        if skip:
            skip = False
        elif flag == option:
            skip = True
        else:
            out.append(flag)
    return out


def _after_the_producer(group) -> None:
    """The producer writes; the per-model tasks read its reports once it has ended.

    Cosmos starts a task group's model tasks beside the producer (they wait in the triggerer).
    Under `airflow dags test`, which runs one task at a time, a model task that starts first
    waits for a producer that never starts. So the models at the root of the dbt graph follow
    the producer, triggered when it is done whichever way it ended (`one_done`: after a failed
    build they still show which models were built and which failed); the rest follow their
    parent models as in dbt. Each task then reads a final state at its first look. The
    producer's log shows the build's progress live."""
    from airflow.task.trigger_rule import TriggerRule

    tasks = {t.task_id: t for t in group}
    producer = next(t for tid, t in tasks.items() if tid.endswith(PRODUCER_TASK_ID))
    producer.pool = warehouse_pool()  # the writer: one at a time per warehouse
    # cosmos turns a producer retry into a skip (a second `dbt build` would race the first); a
    # skipped producer would leave the model tasks unstarted and the run looking successful.
    # So it fails for good, its model tasks show what was built, and the run fails.
    producer.retries = 0
    # TestBehavior.NONE renders no test tasks and makes cosmos limit the producer's build to
    # `--resource-type model/seed/...`; the build runs every test all the same (a failing test
    # fails the producer, skips the models after it, and nothing is published), as `siyu run`.
    # Like `siyu run`, it leaves dbt's unit tests to `make test` (pipeline.PRODUCTION_BUILD_FLAGS).
    producer.dbt_cmd_flags = [*_without_option(producer.dbt_cmd_flags or [], "--resource-type"),
                              *pipeline.PRODUCTION_BUILD_FLAGS]
    # the render config leaves the report views out of the per-model tasks; the build keeps them
    excluded = [e for e in (producer.exclude or "").split() if e != REPORT_VIEWS]
    producer.exclude = " ".join(excluded) or None
    roots = [t for tid, t in tasks.items() if t is not producer
             and not tid.endswith(PRODUCER_DONE_TASK_ID)
             and not (t.upstream_task_ids & tasks.keys())]
    for t in roots:
        t.trigger_rule = TriggerRule.ONE_DONE
        producer >> t


def lease_owner(ctx: dict) -> str:
    """The warehouse lease's owner for a DAG run: ``<dag_id>/<run_id>``."""
    return f"{ctx['dag'].dag_id}/{ctx['run_id']}"


def working_run_id(ctx: dict) -> str:
    """The run id the DAG run's working file is named after (``wap.working_path(s, id)``):
    prepare_working_copy creates it, the dbt tasks build it (their SIYU_WAREHOUSE is the path
    prepare_working_copy returned), audit_and_publish publishes it. Each run has its own."""
    return ctx["run_id"]


def _owner_run_finished(holder: dict) -> bool:
    """``is_stale`` of the lease: its DAG run is over (success/failed) or unknown."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    dag_id, _, run_id = str(holder.get("owner", "")).partition("/")
    if not run_id:
        return False
    try:
        state = RuntimeTaskInstance.get_dagrun_state(dag_id=dag_id, run_id=run_id)
    except Exception:  # noqa: BLE001 - the run is gone from the metadata DB
        return True
    return str(state).rsplit(".", 1)[-1].lower() in {"success", "failed"}


LEASE_RETRY_SECONDS = 60


def release_warehouse(context: dict) -> None:
    """``on_failure_callback`` (after the last retry) and the end of ``audit_and_publish``:
    keep a failed working file as ``<stem>.failed.duckdb`` (deleted on a full disk) and give
    up the DAG run's warehouse lease. A run that fails elsewhere (a dbt task) releases it
    implicitly: its lease is stale once the run is finished (``_owner_run_finished``), and the
    next run's ``prepare_working_copy`` deletes working files left behind."""
    s = run_settings(context)
    wap.discard_working_copy(s, wap.working_path(s, working_run_id(context)),
                             context.get("exception"))
    wap.release_run_lease(s, lease_owner(context))


@task(
    task_id="prepare_working_copy",
    execution_timeout=timedelta(minutes=30),
    on_failure_callback=[alerts.on_failure, release_warehouse],
    doc_md="Take the warehouse lease (one DAG run at a time per warehouse; a busy warehouse "
    "reschedules this task every minute, up to `SIYU_LOCK_WAIT_SECONDS`), then copy the "
    "published warehouse (last good build) to the working file dbt builds: BI tools keep "
    "reading the published file, untouched until the audit passes.",
)
def prepare_working_task() -> str:
    from airflow.exceptions import AirflowRescheduleException

    ctx = get_current_context()
    s = run_settings(ctx)
    pii.check_salt(s.landing_root)  # warns without SIYU_PII_SALT, refuses it on real data
    try:
        wap.acquire_run_lease(s, lease_owner(ctx), wait=0, is_stale=_owner_run_finished,
                              ttl=DAGRUN_TIMEOUT)
    except wap.WarehouseBusy:
        first = ctx["ti"].get_first_reschedule_date(ctx) or datetime.now(pendulum.UTC)
        if (datetime.now(pendulum.UTC) - first).total_seconds() >= wap.lock_wait_seconds():
            raise
        raise AirflowRescheduleException(
            datetime.now(pendulum.UTC) + timedelta(seconds=LEASE_RETRY_SECONDS)) from None
    return str(wap.prepare_working_copy(s, working_run_id(ctx)))


@task(
    task_id="audit_and_publish",
    execution_timeout=timedelta(hours=1),
    on_failure_callback=[alerts.on_failure, release_warehouse],
    doc_md="Audit the working build (quality gates) and, only when every critical check "
    "passes, stamp it (`ops.build_info`) and replace the published warehouse atomically, "
    "emitting the `siyu_marts` asset (extra: `as_of`, `build_id`, `warehouse`). A failed check "
    "fails the run and leaves BI on the previous good build. Releases the warehouse lease.",
)
def audit_and_publish_task() -> dict:
    ctx = get_current_context()
    s = run_settings(ctx)
    as_of = resolve_as_of(ctx, s.timezone)
    working = wap.working_path(s, working_run_id(ctx))
    build_id = wap.new_build_id()
    audited = pipeline.audit(s, working, as_of, ctx["run_id"], build_id=build_id)
    wap.stamp_build(working, as_of, ctx["run_id"], build_id)
    wap.publish(s, working, build_id)
    release_warehouse(ctx)
    ctx["outlet_events"][marts_asset()].extra = {
        "as_of": as_of.isoformat(), "build_id": build_id, "warehouse": str(s.warehouse)}
    return {"build_id": build_id, "as_of": as_of.isoformat(), "audit": audited}


#: time limits of the target steps' tasks (2 h at most, as every task of the project; a
#: cluster build that needs longer is a sign to split it, docs/spark.md)
TARGET_STEP_TIMEOUTS = {"load_raw": timedelta(hours=1), "dbt_build": timedelta(hours=2),
                        "audit": timedelta(hours=2), "publish": timedelta(minutes=30)}


def release_lease(context: dict) -> None:
    """``on_failure_callback`` of the target steps: give up the DAG run's warehouse lease."""
    wap.release_run_lease(run_settings(context), lease_owner(context))


def _target_step(step: str):
    @task(task_id=step, execution_timeout=TARGET_STEP_TIMEOUTS[step],
          on_failure_callback=[alerts.on_failure, release_lease],
          doc_md=f"Step `{step}` of the warehouse target SIYU_DBT_TARGET (siyu.targets): "
          "load_raw makes the raw files readable by the engine, dbt_build builds where "
          "readers do not look, audit runs the dbt tests, publish makes the build the one "
          "readers see (emitting `siyu_marts`). Each hands its state to the next by XCom.")
    def _step(state: dict | None = None) -> dict:
        from . import targets

        ctx = get_current_context()
        s = run_settings(ctx)
        as_of = resolve_as_of(ctx, s.timezone)
        if step == "load_raw":
            pii.check_salt(s.landing_root)
            wap.acquire_run_lease(s, lease_owner(ctx), wait=wap.lock_wait_seconds(),
                                  is_stale=_owner_run_finished, ttl=DAGRUN_TIMEOUT)
        target = targets.open_target(None, s, ctx["run_id"]).resume(state)
        if step == "load_raw":
            target.load_raw()
        elif step == "dbt_build":
            full_refresh = str(ctx["params"].get("full_refresh", False)).lower() == "true"
            target.build(as_of, full_refresh=full_refresh)
        elif step == "audit":
            target.audit(as_of)
        else:
            published = target.publish(as_of)
            release_lease(ctx)
            ctx["outlet_events"][marts_asset()].extra = {
                "as_of": as_of.isoformat(), "target": target.name, **{
                    k: v for k, v in published.items() if isinstance(v, (str, int))}}
        return target.state()

    return _step


def target_build(upstream, pool: str):
    """The build on a target other than the DuckDB file: its four steps as four tasks."""
    ready = ensure_raw_task()
    loaded = _target_step("load_raw").override(pool=pool)()
    built = _target_step("dbt_build").override(pool=pool)(loaded)
    audited = _target_step("audit").override(pool=pool)(built)
    published = _target_step("publish").override(pool=pool, outlets=[marts_asset()])(audited)
    upstream >> ready >> loaded
    return published


def warehouse_build(upstream):
    """The tasks after ingestion, shared by ``siyu_daily`` and ``siyu_build``:
    ensure_raw -> prepare_working_copy -> dbt (cosmos watcher: one `dbt build`, a task per
    model) -> audit_and_publish (emits ``siyu_marts``). With another warehouse target
    (SIYU_DBT_TARGET, e.g. spark) the target's steps instead (``target_build``). Returns the
    last task."""
    from . import targets

    pool = warehouse_pool()
    if targets.target_name() != targets.DEFAULT_TARGET:
        return target_build(upstream, pool)
    ready = ensure_raw_task()
    working = prepare_working_task.override(pool=pool)()
    group = dbt_task_group()
    published = audit_and_publish_task.override(pool=pool, outlets=[marts_asset()])()
    upstream >> ready >> working >> group >> published
    return published


DAG_DOC_FOOTER = f"""
Configuration: `SIYU_LANDING_ROOT`, `SIYU_WAREHOUSE`, `SIYU_RAW_DIR`, `SIYU_TIMEZONE`
(environment) or the run Params. Code: `{REPO_ROOT.name}/include/siyu/`.
Every task retries with exponential backoff, has a time limit, and on its final failure logs
and e-mails an alert (`SIYU_ALERT_EMAILS`, SMTP connection `smtp_default`).
Backfill: `airflow backfill create --dag-id <dag> --from-date 2025-03-01 --to-date 2025-03-31`
or `siyu run --from 2025-03-01 --as-of 2025-03-31`.
"""


def delivery_day(ctx: dict, tz: str) -> date:
    """The business day ``siyu_deliver`` delivers: the ``as_of`` of the ``siyu_marts`` event
    that triggered the run (the latest when several builds were published since the last
    delivery: departments get the newest day, not one e-mail per day of a backfill); else
    Param ``date`` (manual runs); else the logical date, like ``resolve_as_of``."""
    events = ctx.get("triggering_asset_events") or {}
    days = [date.fromisoformat(str(event.extra["as_of"]))
            for asset in events if getattr(asset, "name", None) == marts_asset().name
            for event in events[asset] if (getattr(event, "extra", None) or {}).get("as_of")]
    if days:
        return max(days)
    if (ctx.get("params") or {}).get("date"):
        return date.fromisoformat(str(ctx["params"]["date"]))
    return resolve_as_of({**ctx, "params": {}}, tz)


def airflow_lookups() -> dict:
    """How robot settings resolve in Airflow besides ``env:NAME``: ``var:NAME`` an Airflow
    Variable, ``conn:ID`` the password of an Airflow Connection (both through Airflow's secrets
    backends, and masked in task logs)."""
    from airflow.sdk import BaseHook, Variable

    def connection_password(conn_id: str) -> str | None:
        try:
            return BaseHook.get_connection(conn_id).password
        except Exception:  # noqa: BLE001 - unknown connection: reported as not set
            return None

    return {"var": lambda name: Variable.get(name, default=None), "conn": connection_password}


def alert_audience(extract: dict) -> dict:
    """The ``alert`` task of ``siyu_deliver`` for one audience (``siyu.kpi_alerts``): its red and
    yellow KPIs and to-do sizes of the extract's day, posted to its chat robots (recipients from
    the Variable ``siyu_recipients``, else ``SIYU_RECIPIENTS_FILE``). Skipped when the audience
    has e-mail only or every robot was posted to that day (``alerts.json``; Param
    ``resend_alerts`` posts again); fails without retrying on a configuration error (audience
    missing, a secret not set), retries when a robot keeps failing."""
    from airflow.sdk import Variable
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from . import delivery, kpi_alerts, robots

    ctx = get_current_context()
    audience = extract["audience"]
    ctx["audience"] = audience  # the mapped task's name in the UI
    lookups = airflow_lookups()
    try:
        recipients = delivery.load_recipients(
            variable=Variable.get(delivery.RECIPIENTS_VARIABLE, default=None))
        settings = recipients.robots_for(audience)
        if settings:
            robots.robots_from_config(settings, lookups)  # every reference resolves
    except ValueError as exc:  # a configuration error: retrying cannot help
        raise AirflowFailException(str(exc)) from exc
    if not settings:
        raise AirflowSkipException(f"{audience}: no chat robots in {recipients.source}")
    result = kpi_alerts.alert(
        run_settings(ctx).warehouse, date.fromisoformat(extract["day"]),
        Path(extract["directory"]).parent.parent, audiences=(audience,),
        language=extract["language"], recipients=recipients, send=True,
        resend=bool(ctx["params"].get("resend_alerts")), lookups=lookups)
    (outcome,) = result["alerts"]
    if outcome["status"] != "sent":
        raise AirflowSkipException(f"{audience}: {outcome['status']}")
    return outcome


# --- weekly and monthly reports ---------------------------------------------------------------

# When the period reports go out (business timezone): Monday 08:00 for the ISO week that ended
# on Sunday, the 1st at 08:00 for the month that ended the day before (the daily build of the
# period's last day runs at 02:00). The run's data interval starts on the period's first day.
PERIOD_SCHEDULES = {"week": "0 8 * * 1", "month": "0 8 1 * *"}


def send_extract(extract: dict) -> dict:
    """The ``send`` task of the delivery DAGs for one audience: e-mail its extract (daily or
    period) through the SMTP connection, to the recipients of the Variable ``siyu_recipients``
    (else ``SIYU_RECIPIENTS_FILE``). Skipped when the manifest beside the extract lists it as
    sent (unless Param ``resend``); fails without retrying when the audience has none."""
    from airflow.sdk import Variable
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from . import delivery, mail

    ctx = get_current_context()
    ctx["audience"] = extract["audience"]  # the mapped task's name in the UI
    try:
        recipients = delivery.load_recipients(
            variable=Variable.get(delivery.RECIPIENTS_VARIABLE, default=None))
        recipients.for_audience(extract["audience"])
    except ValueError as exc:  # a configuration error: retrying cannot help
        raise AirflowFailException(str(exc)) from exc
    smtp = mail.SmtpSettings.from_airflow(delivery.smtp_conn_id(),
                                          sender=os.environ.get("SIYU_SMTP_FROM"))
    result = delivery.send(delivery.extract_from_dict(extract), recipients, smtp,
                           resend=ctx["params"]["resend"])
    if result["status"] != "sent":
        raise AirflowSkipException(f"{extract['audience']}: {result['status']}")
    return result


def period_day(ctx: dict, tz: str) -> date:
    """A day of the period a period-delivery run reports: Param ``date`` (manual runs), else
    the first day of the run's data interval (the period that just ended)."""
    if (ctx.get("params") or {}).get("date"):
        return date.fromisoformat(str(ctx["params"]["date"]))
    return pendulum.instance(ctx["data_interval_start"]).in_timezone(tz).date()


def build_period_extracts_task(period: str) -> list[dict]:
    """Build the period's extracts of every audience; retried while the published warehouse
    has not reached the period's last day (a partial period is never mailed by the schedule)."""
    from . import db, delivery
    from .extracts.period import resolve_period

    ctx = get_current_context()
    s = run_settings(ctx)
    day = period_day(ctx, s.timezone)
    con = db.connect(s.warehouse, read_only=True)
    try:
        start, end, as_of = resolve_period(con, period, day)
    finally:
        con.close()
    if as_of < end and not (ctx.get("params") or {}).get("date"):
        raise RuntimeError(f"the warehouse is published up to {as_of}, before the end of the "
                           f"{period} {start} .. {end}: not delivered yet (retried)")
    outbox = Path(ctx["params"].get("outbox") or delivery.outbox_dir())
    extracts = delivery.build(s.warehouse, day, outbox, language=ctx["params"]["language"],
                              period=period)
    return [delivery.extract_to_dict(e) for e in extracts]


def period_delivery_dag(period: str):
    """``siyu_deliver_week`` / ``siyu_deliver_month``: each department's weekly or monthly
    report (``siyu deliver --period``), e-mailed like the daily one."""
    from airflow.sdk import DAG

    from . import delivery
    from .extracts import LANGUAGES

    build = task(
        task_id="build_extracts", execution_timeout=timedelta(minutes=30),
        doc_md=f"Build the five department reports of the {period} into "
        f"`<outbox>/{period}-<first day>/<audience>/` (`siyu.extracts.period`), replacing an "
        "earlier run's files; records them in that folder's `delivery.json`. Waits (retries) "
        "until the published warehouse covers the period's last day.",
    )(build_period_extracts_task)
    send = task(
        task_id="send", execution_timeout=timedelta(minutes=15),
        map_index_template="{{ audience }}",
        doc_md="E-mail one department its report (workbook and HTML attached); skipped when the "
        "period's `delivery.json` lists it as sent (unless Param `resend`).",
    )(send_extract)
    word = {"week": "weekly", "month": "monthly"}[period]
    with DAG(
        dag_id=f"siyu_deliver_{period}",
        description=f"E-mail each department its {word} report (the {period}'s KPIs, the change "
        f"against the previous {period} and the same {period} last year)",
        schedule=CronDataIntervalTimetable(PERIOD_SCHEDULES[period],
                                           timezone=settings().timezone),
        start_date=start_date(),
        end_date=end_date(),
        catchup=False,
        max_active_runs=1,  # two runs of one period would rewrite the same outbox folder
        dagrun_timeout=DAGRUN_TIMEOUT,
        default_args=default_args(),
        params={
            "date": Param(None, type=["null", "string"], format="date",
                          description=f"A day of the {period} to deliver (default: the {period} "
                          "that ended at the run's start); may be the current, partial one."),
            "warehouse": Param(str(settings().warehouse), type="string",
                               description="Published DuckDB warehouse"),
            "outbox": Param(str(delivery.outbox_dir()), type="string",
                            description="Outbox folder (SIYU_OUTBOX)"),
            "language": Param("zh", enum=list(LANGUAGES), description="Language of the reports"),
            "resend": Param(False, type="boolean",
                            description="Send again to departments delivery.json lists as sent"),
        },
        tags=["siyu", "delivery", "extracts", word],
        doc_md=(
            f"Airflow DAG `siyu_deliver_{period}`: each department's {word} report "
            f"(`siyu deliver --period {period}`, docs/operations.md), at "
            f"`{PERIOD_SCHEDULES[period]}` business time: the {period}'s KPIs per department "
            f"from `marts.kpi_department_period`, with the previous {period} and the same "
            f"{period} last year. `build_extracts` writes `<outbox>/{period}-<first day>/` and "
            "`send` e-mails each department (recipients and SMTP as for `siyu_deliver`; "
            "`delivery.json` in that folder keeps a retry from sending twice)."
        ) + DAG_DOC_FOOTER,
    ) as dag:
        send.expand(extract=build(period))
    return dag
