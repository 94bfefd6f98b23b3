"""Airflow DAG `siyu_daily`: landing zone -> raw -> dbt (staging and everything built on it).

One run carries a business day from the landing zone through raw to the dbt models:
the three sources are ingested in parallel (each into its own raw file), then cosmos renders
the dbt project as one task per model (the model's own tests after it) in a subprocess, so dbt
is the only process writing the warehouse file; then the tests that span several models.
Write-audit-publish: dbt builds a working copy of the warehouse; only after the audit passes is
it published (atomic rename) to the file BI tools read, emitting the `siyu_marts` asset.
"""

from airflow.sdk import DAG
from siyu import contract
from siyu.orchestration import (
    DAG_DOC_FOOTER,
    as_of_task,
    audit_and_publish_task,
    catchup,
    daily_schedule,
    dbt_task_group,
    dbt_test_task,
    default_args,
    ensure_raw_task,
    make_ingest_task,
    params,
    prepare_working_task,
    start_date,
)

with DAG(
    dag_id="siyu_daily",
    description="Ingest crm, shop and community for a business day, then dbt build",
    schedule=daily_schedule(),
    start_date=start_date(),
    catchup=catchup(),
    max_active_runs=1,  # dbt is the single writer of the warehouse file
    default_args=default_args(),
    params=params(),
    tags=["siyu", "pipeline", "dbt"],
    doc_md=(__doc__ or "") + DAG_DOC_FOOTER,
) as dag:
    as_of = as_of_task()
    ingests = [make_ingest_task(source, emit_asset=False) for source in contract.SOURCES]
    ready = ensure_raw_task()
    working = prepare_working_task()
    tested = dbt_test_task()
    as_of >> ingests >> ready >> working >> dbt_task_group() >> tested >> audit_and_publish_task()
