"""Airflow DAG `siyu_daily`: landing zone -> raw -> dbt (staging and everything built on it).

One run carries a business day from the landing zone through raw to the dbt models:
the three sources are ingested in parallel (each into its own raw file), then cosmos' watcher
mode runs ONE `dbt build` (models, seed, every test; dbt's own threads) in the producer task,
the only process writing the warehouse file; then a task per model shows that model's state
and log as the build reported it; retried or cleared after the build, such a task reruns its
model alone.
Write-audit-publish: dbt builds a working copy of the warehouse; only after the audit passes is
it published (atomic rename) to the file BI tools read, emitting the `siyu_marts` asset.

The same steps after ingestion run in `siyu_build`, scheduled on the ingest DAGs' raw assets;
`siyu_daily` is the one-DAG path (`make demo` runs it with `airflow dags test`). Only one of the
two paths exists at a time: SIYU_DAG_TOPOLOGY=daily (the default) generates this DAG, `assets`
the ingest and build DAGs instead.
"""

from airflow.sdk import DAG
from siyu import contract
from siyu.orchestration import (
    DAG_DOC_FOOTER,
    DAGRUN_TIMEOUT,
    as_of_task,
    catchup,
    daily_schedule,
    default_args,
    end_date,
    make_ingest_task,
    params,
    start_date,
    topology,
    warehouse_build,
)

# only with SIYU_DAG_TOPOLOGY=daily, the default (siyu.orchestration.topology)
if topology() == "daily":
    with DAG(
        dag_id="siyu_daily",
        description="Ingest crm, shop and community for a business day, then dbt build",
        schedule=daily_schedule(),
        start_date=start_date(),
        end_date=end_date(),
        catchup=catchup(),
        max_active_runs=1,  # dbt is the single writer of the warehouse file
        dagrun_timeout=DAGRUN_TIMEOUT,
        default_args=default_args(),
        params=params(),
        tags=["siyu", "pipeline", "dbt"],
        doc_md=(__doc__ or "") + DAG_DOC_FOOTER,
    ) as dag:
        ingests = [make_ingest_task(source, emit_asset=False) for source in contract.SOURCES]
        as_of_task() >> ingests
        warehouse_build(ingests)
