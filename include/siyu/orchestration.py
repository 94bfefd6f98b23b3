"""Airflow wiring shared by the DAG files in ``dags/`` (the only Airflow-aware module).

DAG files stay thin: they call ``ingest_task`` / ``dbt_task_group`` from here, and those call
plain functions in ``siyu.pipeline``. Settings are read from the environment at parse time
(``SIYU_*``) and can be overridden per run with DAG Params ``landing_root`` / ``warehouse``
/ ``as_of``.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path

import pendulum
from airflow.sdk import Asset, Param, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

from . import pipeline
from . import publish as wap
from .config import REPO_ROOT, Settings

OWNER = "siyu-data"
TAGS_BASE = ["siyu"]


def default_args() -> dict:
    return {
        "owner": OWNER,
        "retries": int(os.environ.get("SIYU_TASK_RETRIES", "2")),
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": timedelta(hours=2),
    }


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
    }


def raw_asset(source: str) -> Asset:
    return Asset(name=f"siyu_raw_{source}", uri=f"file://{settings().raw_db(source)}")


def run_settings(ctx: dict) -> Settings:
    p = ctx.get("params") or {}
    overrides = {}
    if p.get("landing_root"):
        overrides["landing_root"] = Path(p["landing_root"])
    if p.get("warehouse"):
        overrides["warehouse"] = Path(p["warehouse"])
    return Settings.from_env(**overrides)


def resolve_as_of(ctx: dict, tz: str) -> date:
    """The business date a run processes: Param ``as_of``, else the logical date."""
    p = ctx.get("params") or {}
    if p.get("as_of"):
        return date.fromisoformat(str(p["as_of"]))
    # logical date first: a scheduled run's logical date is its data interval start
    # (D 02:00 business time); `airflow dags test <dag> D` gives D 00:00 in Airflow's
    # default timezone, which the Makefile sets to the business timezone.
    for key in ("logical_date", "data_interval_start"):
        moment = ctx.get(key)
        if moment is not None:
            return pipeline.business_date(moment, tz)
    return pipeline.business_date(datetime.now(pendulum.UTC), tz) - timedelta(days=1)


def make_ingest_task(source: str, emit_asset: bool = True):
    """The ingest task of one source; only the per-source DAGs emit the raw asset."""

    @task(
        task_id=f"ingest_{source}",
        outlets=[raw_asset(source)] if emit_asset else [],
        doc_md=f"Load the `{source}` partitions of the run's business date into "
        f"`{source}.duckdb` (raw). Idempotent: a re-run replaces the day; bad rows go to "
        "`quarantine` with file, line and reason.",
    )
    def _ingest() -> dict:
        ctx = get_current_context()
        s = run_settings(ctx)
        as_of = resolve_as_of(ctx, s.timezone)
        # the run's own day, plus any earlier landed day never loaded (first run = history)
        dates = pipeline.dates_to_load(s, source, as_of)
        return pipeline.ingest(s, source, dates, load_id=f"{source}:{as_of}:{ctx['run_id']}")

    return _ingest()


@task(task_id="resolve_as_of", doc_md="Business date this run processes (XCom for dbt vars).")
def as_of_task() -> str:
    ctx = get_current_context()
    s = run_settings(ctx)
    return resolve_as_of(ctx, s.timezone).isoformat()


@task(task_id="ensure_raw", doc_md="Create missing raw files/tables so dbt can attach all.")
def ensure_raw_task() -> None:
    pipeline.ensure_raw(run_settings(get_current_context()))


def dbt_task_group(group_id: str = "dbt", select: list[str] | None = None):
    """The dbt project as Airflow tasks through cosmos: one `dbt build` task per model
    (the model, then its tests), in a subprocess so dbt is the warehouse's only writer."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

    s = settings()
    project_dir = s.dbt_project_dir
    manifest = project_dir / "target" / "manifest.json"
    dbt_bin = str(Path(pipeline.dbt_executable()))
    env = wap.working_settings(s).env()  # dbt builds the working copy (write-audit-publish)
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
    project = ProjectConfig(
        dbt_project_path=project_dir,
        manifest_path=manifest if manifest.exists() else None,
        install_dbt_deps=False,
        env_vars=env,
    )
    return DbtTaskGroup(
        group_id=group_id,
        project_config=project,
        profile_config=ProfileConfig(
            profile_name="siyu",
            target_name="duckdb",
            profiles_yml_filepath=project_dir / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=dbt_bin,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST if manifest.exists() else LoadMode.DBT_LS,
            select=select or [],
            emit_datasets=False,
            test_behavior=TestBehavior.BUILD,  # one `dbt build` task per model
            dbt_executable_path=dbt_bin,
            invocation_mode=InvocationMode.SUBPROCESS,
        ),
        operator_args={
            "vars": {"as_of": "{{ ti.xcom_pull(task_ids='resolve_as_of') }}"},
            # a model's task runs the tests on that model only; a test on several models
            # (relationships, integrity checks) would otherwise run with whichever parent is
            # built first. Those run together in `dbt_test_cross_model` after the group.
            "indirect_selection": "cautious",
            "install_deps": False,
            "append_env": True,
            "pool": os.environ.get("SIYU_WAREHOUSE_POOL", "default_pool"),
        },
        default_args={"retries": 2},
    )


@task(
    task_id="dbt_test_cross_model",
    doc_md="Run every dbt test once all models are built: the tests that span several models "
    "(relationships, integrity checks recomputing a KPI a second way) have all their parents "
    "only now. Fails the run when any test fails.",
)
def dbt_test_task() -> None:
    ctx = get_current_context()
    s = run_settings(ctx)
    pipeline.dbt(wap.working_settings(s), ["test"], as_of=resolve_as_of(ctx, s.timezone))


def marts_asset() -> Asset:
    """Emitted when a build is published: what BI tools and the delivery DAG wait for."""
    return Asset(name="siyu_marts", uri=f"file://{settings().warehouse}")


@task(
    task_id="prepare_working_copy",
    doc_md="Copy the published warehouse (last good build) to the working file dbt builds: "
    "BI tools keep reading the published file, untouched until the audit passes.",
)
def prepare_working_task() -> str:
    return str(wap.prepare_working_copy(run_settings(get_current_context())))


@task(
    task_id="audit_and_publish",
    outlets=[marts_asset()],
    doc_md="Audit the working build (quality gates) and, only when every critical check "
    "passes, replace the published warehouse atomically. A failed check fails the run and "
    "leaves BI on the previous good build.",
)
def audit_and_publish_task() -> dict:
    ctx = get_current_context()
    s = run_settings(ctx)
    as_of = resolve_as_of(ctx, s.timezone)
    working = wap.working_path(s)
    audited = pipeline.audit(s, working, as_of, ctx["run_id"])
    build_id = wap.stamp_build(working, as_of, ctx["run_id"])
    wap.publish(s, working, build_id)
    return {"build_id": build_id, "as_of": as_of.isoformat(), "audit": audited}


DAG_DOC_FOOTER = f"""
Configuration: `SIYU_LANDING_ROOT`, `SIYU_WAREHOUSE`, `SIYU_RAW_DIR`, `SIYU_TIMEZONE`
(environment) or the run Params. Code: `{REPO_ROOT.name}/include/siyu/`.
Backfill: `airflow backfill create --dag-id <dag> --from-date 2025-03-01 --to-date 2025-03-31`
or `siyu run --from 2025-03-01 --as-of 2025-03-31`.
"""
