"""Airflow DAG `siyu_build`: raw -> dbt -> audit -> publish, when all three sources have landed.

Scheduled on the three raw assets with AND (`siyu_raw_crm & siyu_raw_shop &
siyu_raw_community`): the ingest DAGs `siyu_ingest_<source>` emit them with the business day
in the event's extra (`{"as_of": "2025-06-28"}`), and a run starts once each has emitted
since the previous build. It runs the same tasks as `siyu_daily` after ingestion:
ensure_raw -> prepare_working_copy -> dbt (cosmos watcher mode: one producer task runs
`dbt build` with every test, then a task per model shows that model) -> audit_and_publish,
which emits `siyu_marts` (the delivery DAGs wait for it). Generated only with
SIYU_DAG_TOPOLOGY=assets (with the default `daily`, `siyu_daily` ingests and builds instead).

**Which day.** `resolve_as_of` reads the triggering asset events. When the three carry the same
day, that is the day. When they differ (a source late, a backfill or a re-run of one source),
the build takes *the latest day all three have reached* (per source the latest day of its
events, then the earliest of those), so the marts never cover a day a source is missing.
The later days of the faster sources are in raw already and reach the marts with the next
build; their events are consumed by this run, so that build starts when every source has
emitted again. A manual run takes Param `as_of` (else yesterday).

One run at a time, and one writer at a time: the tasks that write the warehouse's working copy
(prepare_working_copy, the dbt producer, audit_and_publish) run in the warehouse pool
(`SIYU_WAREHOUSE_POOL`, one slot) and one after the other; the per-model tasks only read
the producer's reports (XCom) while it builds.
"""

from airflow.sdk import DAG
from siyu.orchestration import (
    DAG_DOC_FOOTER,
    DAGRUN_TIMEOUT,
    as_of_task,
    build_schedule,
    default_args,
    params,
    start_date,
    topology,
    warehouse_build,
)

# only with SIYU_DAG_TOPOLOGY=assets (siyu.orchestration.topology); else siyu_daily builds
if topology() == "assets":
    with DAG(
        dag_id="siyu_build",
        description="dbt build, audit and publish once crm, shop and community have landed a day",
        schedule=build_schedule(),
        start_date=start_date(),
        catchup=False,  # the first run takes the events since the DAG was deployed, no backlog
        max_active_runs=1,  # dbt is the single writer of the warehouse file
        dagrun_timeout=DAGRUN_TIMEOUT,
        default_args=default_args(),
        params=params(),
        tags=["siyu", "pipeline", "dbt", "assets"],
        doc_md=(__doc__ or "") + DAG_DOC_FOOTER,
    ) as dag:
        warehouse_build(as_of_task())
