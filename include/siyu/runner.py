"""The `siyu run` job: ingest every source for the run's days, then build, audit and publish
the warehouse on its target (the DuckDB file, ``siyu.pipeline.build_and_publish``, or a
PostgreSQL server, ``siyu.postgres.build``). It sits above both: the building blocks
(``siyu.pipeline``) and the engines never import it.

| variable | meaning | default |
|---|---|---|
| SIYU_DBT_TARGET | `duckdb` (the warehouse file) or `postgres` (a server: SIYU_PG_*); `siyu run --target` | `duckdb` |
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from datetime import date

from . import contract as C
from . import pipeline
from . import publish as wap
from .config import Settings


def dbt_target(target: str | None = None) -> str:
    """The warehouse the run builds: ``duckdb`` (the file) or ``postgres`` (a server, see
    siyu.postgres); ``--target`` or SIYU_DBT_TARGET, default duckdb."""
    target = target or os.environ.get("SIYU_DBT_TARGET") or "duckdb"
    if target not in {"duckdb", "postgres"}:
        raise pipeline.PipelineError(f"unknown dbt target {target!r} (duckdb or postgres)")
    return target


def run(
    settings: Settings,
    as_of: date,
    from_date: date | None = None,
    sources: Iterable[str] = C.SOURCES,
    progress: Callable[[str], None] | None = None,
    select: str | None = None,
    target: str | None = None,
) -> dict:
    """Ingest every source for the run's dates, then build the dbt project up to ``as_of``
    into a working copy, audit it and publish it (write-audit-publish). With target
    ``postgres`` the build goes to the PostgreSQL server instead (siyu.postgres.build).
    Holds the warehouse lock from the first ingest to the publish: a second run on the same
    warehouse waits (SIYU_LOCK_WAIT_SECONDS), then fails with ``WarehouseBusy``. Without
    SIYU_PII_SALT it warns, and refuses a landing zone that is not generated demo data
    (``siyu.pii.check_salt``)."""
    from . import pii

    pipeline.require_landing(settings)
    pii.check_salt(settings.landing_root)
    run_id = pipeline.new_run_id()
    with wap.warehouse_lock(settings, owner=run_id):
        return _run_locked(settings, as_of, from_date, sources, progress, select, target, run_id)


def _run_locked(settings: Settings, as_of: date, from_date: date | None, sources: Iterable[str],
                progress: Callable[[str], None] | None, select: str | None, target: str | None,
                run_id: str) -> dict:
    say = progress or (lambda _msg: None)
    result: dict = {"as_of": as_of.isoformat(), "ingest": [], "run_id": run_id}
    t0 = time.perf_counter()
    for source in sources:
        dates = pipeline.dates_to_load(settings, source, as_of, from_date)
        say(f"ingest {source}: {len(dates)} partition(s) {dates[0]} .. {dates[-1]}")
        result["ingest"].append(pipeline.ingest(settings, source, dates, progress=progress))
    full_refresh = pipeline.needs_full_refresh(settings, as_of, from_date)
    if dbt_target(target) == "postgres":
        from . import postgres

        result["publish"] = postgres.build(settings, as_of, select=select, progress=progress,
                                           full_refresh=full_refresh)
        result["seconds"] = round(time.perf_counter() - t0, 2)
        return result
    say("dbt build" + (" --full-refresh (backfill reaches past the incremental lookback)"
                       if full_refresh else "") + f" into {wap.working_path(settings, run_id).name}")
    result["publish"] = pipeline.build_and_publish(
        settings, as_of, select=select, progress=progress, full_refresh=full_refresh,
        run_id=run_id,
    )
    result["seconds"] = round(time.perf_counter() - t0, 2)
    result["warehouse"] = str(settings.warehouse)
    result["raw_dir"] = str(settings.raw_dir)
    return result
