"""The `siyu run` job: ingest every source for the run's days, then load, build, audit and
publish the warehouse on its target (``siyu.targets``: the DuckDB file, a PostgreSQL server or
Spark, chosen by ``--target`` / SIYU_DBT_TARGET). It sits above both: the building blocks
(``siyu.pipeline``) and the targets never import it, and it names no engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import date

from . import contract as C
from . import pipeline
from . import publish as wap
from . import targets
from .config import Settings


def dbt_target(target: str | None = None) -> str:
    """The warehouse target the run builds: ``--target``, else SIYU_DBT_TARGET, else the
    default (``siyu.targets.target_name``)."""
    try:
        return targets.target_name(target)
    except targets.UnknownTarget as exc:
        raise pipeline.PipelineError(str(exc)) from None


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
    on the run's target (``siyu.targets``): load the raw layer, build, audit and publish it
    (write-audit-publish).
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
                progress: Callable[[str], None] | None, select: str | None,
                target_name: str | None, run_id: str) -> dict:
    say = progress or (lambda _msg: None)
    result: dict = {"as_of": as_of.isoformat(), "ingest": [], "run_id": run_id}
    t0 = time.perf_counter()
    plan = []
    for source in sources:
        dates = pipeline.dates_to_load(settings, source, as_of, from_date)
        say(f"ingest {source}: {len(dates)} partition(s) {dates[0]} .. {dates[-1]}")
        plan.append((source, dates))
    result["ingest"] = pipeline.ingest_sources(settings, plan, progress=progress)
    # the ingest step's wall time (the sources load at the same time: not the sum of theirs)
    result["ingest_seconds"] = round(time.perf_counter() - t0, 2)
    full_refresh = pipeline.needs_full_refresh(settings, as_of, from_date)
    target = targets.open_target(dbt_target(target_name), settings, run_id, progress)
    result["publish"] = targets.build_audit_publish(target, as_of, select=select,
                                                    full_refresh=full_refresh)
    result["seconds"] = round(time.perf_counter() - t0, 2)
    result.update(target.summary())
    return result
