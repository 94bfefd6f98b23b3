"""Airflow DAGs `siyu_ingest_crm`, `siyu_ingest_shop`, `siyu_ingest_community`.

One DAG per source: each loads the dt= partitions of its run's business date into the
source's own raw DuckDB file, so the three can run at the same time (DuckDB allows one
writer per file). Each emits its raw asset (`siyu_raw_<source>`) with the business day in
the event's extra (`{"as_of": "2025-06-28"}`); `siyu_build` runs when all three have landed.
Task code lives in `include/siyu/` (see siyu.orchestration). Generated only with
SIYU_DAG_TOPOLOGY=assets (with the default `daily`, `siyu_daily` ingests and builds instead).
"""

from airflow.sdk import DAG
from siyu import contract
from siyu.orchestration import (
    DAG_DOC_FOOTER,
    DAGRUN_TIMEOUT,
    catchup,
    daily_schedule,
    default_args,
    end_date,
    make_ingest_task,
    params,
    start_date,
    topology,
)

# only with SIYU_DAG_TOPOLOGY=assets (siyu.orchestration.topology); else siyu_daily ingests
for source in contract.SOURCES if topology() == "assets" else ():
    with DAG(
        dag_id=f"siyu_ingest_{source}",
        description=f"Load {source} landing partitions into raw (with quarantine)",
        schedule=daily_schedule(),
        start_date=start_date(),
        end_date=end_date(),
        catchup=catchup(),
        max_active_runs=1,  # one writer of this source's raw file at a time
        dagrun_timeout=DAGRUN_TIMEOUT,
        default_args=default_args(),
        params=params(),
        tags=["siyu", "ingest", source],
        doc_md=(__doc__ or "") + DAG_DOC_FOOTER,
    ) as dag:
        make_ingest_task(source)
    globals()[dag.dag_id] = dag
