"""DAG integrity (as in the Astro project template): every DAG imports and follows the rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow_home")
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] = "False"
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}, "\n".join(
        f"{path}: {err}" for path, err in dagbag.import_errors.items()
    )


def test_expected_dags_exist(dagbag):
    assert {"siyu_ingest_crm", "siyu_ingest_shop", "siyu_ingest_community", "siyu_daily"} <= set(
        dagbag.dag_ids
    )


def test_every_dag_has_tags_owner_retries_and_schedule(dagbag):
    assert dagbag.dags
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.timetable is not None and dag.timetable.summary, f"{dag_id}: no schedule"
        assert dag.timetable.can_be_scheduled, f"{dag_id}: not scheduled"
        assert dag.doc_md, f"{dag_id}: no documentation"
        for t in dag.tasks:
            assert t.owner and t.owner != "airflow", f"{dag_id}.{t.task_id}: default owner"
            assert t.retries >= 2, f"{dag_id}.{t.task_id}: retries={t.retries}"


def test_daily_dag_runs_ingest_before_dbt(dagbag):
    dag = dagbag.dags["siyu_daily"]
    ids = set(dag.task_ids)
    assert {"ingest_crm", "ingest_shop", "ingest_community", "ensure_raw"} <= ids
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.")]
    assert any("stg_shop__orders" in t.task_id for t in dbt_tasks)
    for t in dbt_tasks:
        assert "ensure_raw" in t.get_flat_relative_ids(upstream=True)
