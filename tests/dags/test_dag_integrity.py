"""DAG integrity (as in the Astro project template): every DAG imports and follows the rules."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[2]
PERIOD_DAGS = {"siyu_deliver_week", "siyu_deliver_month"}  # in both topologies
EXPECTED = {"siyu_ingest_crm", "siyu_ingest_shop", "siyu_ingest_community", "siyu_daily",
            "siyu_build", "siyu_deliver"} | PERIOD_DAGS


DAILY = {"siyu_daily", "siyu_deliver"} | PERIOD_DAGS
ASSETS = {"siyu_ingest_crm", "siyu_ingest_shop", "siyu_ingest_community", "siyu_build",
          "siyu_deliver"} | PERIOD_DAGS


@pytest.fixture(scope="module")
def dagbags(tmp_path_factory):
    """The DAG folder parsed once per SIYU_DAG_TOPOLOGY (and once with a wrong value)."""
    home = tmp_path_factory.mktemp("airflow_home")
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] = "False"
    from airflow.dag_processing.dagbag import DagBag

    bags = {}
    saved = {name: os.environ.get(name) for name in ("SIYU_DAG_TOPOLOGY", "SIYU_DBT_TARGET")}
    try:
        os.environ.pop("SIYU_DBT_TARGET", None)
        for topology in ("daily", "assets", "both"):
            os.environ["SIYU_DAG_TOPOLOGY"] = topology
            bags[topology] = DagBag(dag_folder=str(REPO / "dags"))
        # the same DAG files with the Spark warehouse target (configuration, not other DAGs)
        os.environ["SIYU_DBT_TARGET"] = "spark"
        for topology in ("daily", "assets"):
            os.environ["SIYU_DAG_TOPOLOGY"] = topology
            bags[f"spark-{topology}"] = DagBag(dag_folder=str(REPO / "dags"))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return bags


def _both_topologies(daily, assets) -> SimpleNamespace:
    dags = {**daily.dags, **assets.dags}
    return SimpleNamespace(dags=dags, dag_ids=list(dags),
                           import_errors={**daily.import_errors, **assets.import_errors})


@pytest.fixture(scope="module")
def dagbag(dagbags):
    """Every DAG of both topologies, for the rules every DAG follows."""
    return _both_topologies(dagbags["daily"], dagbags["assets"])


def test_the_spark_target_dags_follow_the_same_rules(dagbags):
    spark = _both_topologies(dagbags["spark-daily"], dagbags["spark-assets"])
    test_no_import_errors(spark)
    test_expected_dags_exist(spark)
    test_every_dag_has_tags_owner_retries_and_schedule(spark)
    test_every_task_alerts_backs_off_times_out_and_is_documented(spark)
    test_one_run_at_a_time_where_duckdb_needs_it(spark)


def test_the_warehouse_target_chooses_the_build_tasks(dagbags):
    """SIYU_DBT_TARGET=spark gives the same DAGs with the target's four steps in place of the
    DuckDB working copy, cosmos' dbt tasks and audit_and_publish."""
    steps = ["load_raw", "dbt_build", "audit", "publish"]
    for topology, dag_id in (("daily", "siyu_daily"), ("assets", "siyu_build")):
        duck = dagbags[topology].dags[dag_id]
        spark = dagbags[f"spark-{topology}"].dags[dag_id]
        assert set(dagbags[f"spark-{topology}"].dag_ids) == set(dagbags[topology].dag_ids)
        assert {"prepare_working_copy", "audit_and_publish"} <= set(duck.task_ids)
        assert not set(steps) & set(duck.task_ids)
        assert not {"prepare_working_copy", "audit_and_publish"} & set(spark.task_ids)
        assert not [t for t in spark.task_ids if t.startswith("dbt.")]
        for before, after in zip(["ensure_raw", *steps], steps):
            assert after in spark.get_task(before).downstream_task_ids, (dag_id, before)
        assert [o.name for o in spark.get_task("publish").outlets] == ["siyu_marts"]


def test_one_topology_at_a_time(dagbags):
    """SIYU_DAG_TOPOLOGY generates the single daily DAG or the asset-driven ingest and build
    DAGs, never both; a wrong value is an import error that names the setting."""
    assert set(dagbags["daily"].dag_ids) == DAILY
    assert set(dagbags["assets"].dag_ids) == ASSETS
    errors = "\n".join(dagbags["both"].import_errors.values())
    assert "SIYU_DAG_TOPOLOGY='both'" in errors


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}, "\n".join(
        f"{path}: {err}" for path, err in dagbag.import_errors.items()
    )


def test_expected_dags_exist(dagbag):
    assert EXPECTED <= set(dagbag.dag_ids)


def test_every_dag_has_tags_owner_retries_and_schedule(dagbag):
    assert dagbag.dags
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.timetable is not None, f"{dag_id}: no schedule"
        assert getattr(dag.timetable, "summary", None) or getattr(
            dag.timetable, "asset_condition", None), f"{dag_id}: no schedule"
        assert dag.timetable.can_be_scheduled, f"{dag_id}: not scheduled"
        assert dag.doc_md, f"{dag_id}: no documentation"
        assert dag.dagrun_timeout, f"{dag_id}: no dagrun_timeout"
        for t in dag.tasks:
            assert t.owner and t.owner != "airflow", f"{dag_id}.{t.task_id}: default owner"
            if t.task_id == "dbt.dbt_producer_watcher":
                # cosmos skips a producer's retry; it fails for good and the model tasks retry
                assert t.retries == 0, t.retries
                continue
            assert t.retries >= 2, f"{dag_id}.{t.task_id}: retries={t.retries}"


def test_every_task_alerts_backs_off_times_out_and_is_documented(dagbag):
    from siyu import alerts

    for dag_id, dag in dagbag.dags.items():
        for t in dag.tasks:
            where = f"{dag_id}.{t.task_id}"
            callbacks = t.on_failure_callback
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            assert alerts.on_failure in callbacks, f"{where}: no failure alert"
            assert t.execution_timeout and t.execution_timeout <= timedelta(hours=2), where
            # a multiplier (Airflow >= 3.1): True would mean 1.0, a constant delay
            assert t.retry_exponential_backoff >= 2 and t.retry_exponential_backoff is not True, (
                where)
            assert t.max_retry_delay, where
            assert (t.doc_md or "").strip(), f"{where}: no doc_md"


def test_one_run_at_a_time_where_duckdb_needs_it(dagbag):
    for dag_id in EXPECTED:
        assert dagbag.dags[dag_id].max_active_runs == 1, dag_id


WRITERS = ("prepare_working_copy", "dbt.dbt_producer_watcher", "audit_and_publish")


@pytest.mark.parametrize("dag_id", ["siyu_daily", "siyu_build"])
def test_one_dbt_build_writes_and_every_model_keeps_a_task(dagbag, dag_id):
    """Cosmos' watcher mode: one producer runs `dbt build` (the only writer of the working
    copy, in the warehouse pool with the other writers, one after the other); every model of the
    manifest but the extracts' views keeps a task that only reads the producer's reports; the
    producer's build runs every test (no `--resource-type` limit) and every model (no
    `--exclude`: it creates the views too)."""
    import json

    from cosmos.operators.watcher import DbtConsumerWatcherSensor, DbtProducerWatcherOperator
    from siyu.orchestration import warehouse_pool

    dag = dagbag.dags[dag_id]
    producers = [t for t in dag.tasks if isinstance(t, DbtProducerWatcherOperator)]
    assert [t.task_id for t in producers] == ["dbt.dbt_producer_watcher"]
    producer = producers[0]
    assert producer.base_cmd == ["build"] and not producer.select and not producer.exclude
    assert "--resource-type" not in (producer.dbt_cmd_flags or [])
    # every data test runs in the build; dbt's unit tests run in `make test` instead
    flags = producer.dbt_cmd_flags or []
    assert flags[flags.index("--exclude-resource-type") + 1] == "unit_test"
    for task_id in WRITERS:
        assert dag.get_task(task_id).pool == warehouse_pool(), task_id
    # the writers follow each other: prepare -> producer -> audit_and_publish
    assert "prepare_working_copy" in producer.get_flat_relative_ids(upstream=True)
    assert producer.task_id in dag.get_task("audit_and_publish").get_flat_relative_ids(
        upstream=True)
    sensors = [t for t in dag.tasks if isinstance(t, DbtConsumerWatcherSensor)]
    manifest = json.loads((REPO / "dbt_project" / "target" / "manifest.json").read_text())
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"
              and not n["original_file_path"].startswith("models/reports/")}
    reports = {n["name"] for n in manifest["nodes"].values()
               if n["original_file_path"].startswith("models/reports/")}
    assert len(reports) > 20  # the extracts' views: built by the producer, no task each
    assert sorted(t.model_unique_id.split(".")[-1] for t in sensors
                  if t.model_unique_id.startswith("model.")) == sorted(models)
    assert all(t.pool != warehouse_pool() or warehouse_pool() == "default_pool"
               for t in sensors), "the per-model tasks only read XCom: not in the writers' pool"
    assert {t.producer_task_id for t in sensors} == {producer.task_id}
    # the model tasks start when the producer has ended, whichever way (`airflow dags test` runs
    # one task at a time: a model task waiting beside the producer would wait forever)
    roots = [t for t in sensors if not (t.upstream_task_ids & {s.task_id for s in sensors})]
    assert roots and all(t.upstream_task_ids == {producer.task_id} for t in roots)
    assert {t.trigger_rule for t in roots} == {"one_done"}
    # a failed build fails the run: audit_and_publish waits for the producer's gate
    done = dag.get_task("dbt.dbt_producer_watcher_done")
    assert done.upstream_task_ids == {producer.task_id} and done.trigger_rule == "none_failed"
    assert done.task_id in dag.get_task("audit_and_publish").upstream_task_ids
    assert dag.get_task("audit_and_publish").trigger_rule == "all_success"
    assert all("dbt_producer_watcher" in (t.doc_md or "") for t in sensors)


def test_daily_dag_runs_ingest_before_dbt(dagbag):
    dag = dagbag.dags["siyu_daily"]
    ids = set(dag.task_ids)
    assert {"ingest_crm", "ingest_shop", "ingest_community", "ensure_raw"} <= ids
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.")]
    assert any("stg_shop__orders" in t.task_id for t in dbt_tasks)
    for t in dbt_tasks:
        assert "ensure_raw" in t.get_flat_relative_ids(upstream=True)


def test_build_dag_is_scheduled_on_all_three_raw_assets(dagbag):
    from airflow.sdk import AssetAll
    from siyu.orchestration import raw_asset

    dag = dagbag.dags["siyu_build"]
    condition = dag.timetable.asset_condition
    assert isinstance(condition, AssetAll)  # AND, not OR

    def leaves(cond):
        for obj in cond.objects:
            yield from (leaves(obj) if hasattr(obj, "objects") else [obj])

    assert {(a.name, a.uri) for a in leaves(condition)} == {
        (raw_asset(s).name, raw_asset(s).uri) for s in ("crm", "shop", "community")}
    for source in ("crm", "shop", "community"):
        outlets = dagbag.dags[f"siyu_ingest_{source}"].get_task(f"ingest_{source}").outlets
        assert [(a.name, a.uri) for a in outlets] == [(raw_asset(source).name,
                                                       raw_asset(source).uri)]
    # siyu_daily's ingest tasks emit nothing: they must not trigger siyu_build
    assert not any(t.outlets for t in dagbag.dags["siyu_daily"].tasks
                   if t.task_id.startswith("ingest_"))


def test_build_dag_runs_the_same_tasks_as_daily_after_ingestion(dagbag):
    build, daily = dagbag.dags["siyu_build"], dagbag.dags["siyu_daily"]
    assert set(build.task_ids) == set(daily.task_ids) - {
        "ingest_crm", "ingest_shop", "ingest_community"}
    order = ["resolve_as_of", "ensure_raw", "prepare_working_copy", "dbt.dbt_producer_watcher",
             "audit_and_publish"]
    for before, after in zip(order, order[1:], strict=False):
        assert before in build.get_task(after).get_flat_relative_ids(upstream=True), after
    first_dbt = [t for t in build.tasks if t.task_id.startswith("dbt.")]
    assert first_dbt and all(
        "prepare_working_copy" in t.get_flat_relative_ids(upstream=True) for t in first_dbt)
    publish = build.get_task("audit_and_publish")
    assert [a.name for a in publish.outlets] == ["siyu_marts"]


def event(as_of=None):
    return SimpleNamespace(extra={"as_of": as_of} if as_of else {})


def test_build_day_comes_from_the_triggering_events():
    from siyu.orchestration import raw_asset, resolve_as_of

    def ctx(**days):
        return {"params": {}, "logical_date": None,
                "triggering_asset_events": {raw_asset(s): [event(d) for d in ds]
                                            for s, ds in days.items()}}

    tz = "Asia/Shanghai"
    same = ctx(crm=["2025-03-20"], shop=["2025-03-20"], community=["2025-03-20"])
    assert resolve_as_of(same, tz) == date(2025, 3, 20)
    # crm is a day ahead, community re-ran an old day: the day all three have reached
    mixed = ctx(crm=["2025-03-20", "2025-03-21"], shop=["2025-03-20"],
                community=["2025-03-14", "2025-03-20"])
    assert resolve_as_of(mixed, tz) == date(2025, 3, 20)
    behind = ctx(crm=["2025-03-21"], shop=["2025-03-21"], community=["2025-03-19"])
    assert resolve_as_of(behind, tz) == date(2025, 3, 19)
    # Param as_of wins; events without a day fall back to the logical date
    assert resolve_as_of({**same, "params": {"as_of": "2025-03-01"}}, tz) == date(2025, 3, 1)
    import pendulum

    no_days = {"params": {}, "triggering_asset_events": {raw_asset("crm"): [event()]},
               "logical_date": pendulum.datetime(2025, 3, 5, 2, tz=tz)}
    assert resolve_as_of(no_days, tz) == date(2025, 3, 5)


def test_weekly_and_monthly_reports_run_after_their_period(dagbag):
    """siyu_deliver_week runs on Mondays, siyu_deliver_month on the 1st, in the business
    timezone; a run's data interval starts on the first day of the period it reports."""
    import pendulum
    from siyu.orchestration import period_day

    tz = "Asia/Shanghai"
    for dag_id, cron, run_at, first_day in (
        ("siyu_deliver_week", "0 8 * * 1", "2025-06-09 08:00", date(2025, 6, 2)),
        ("siyu_deliver_month", "0 8 1 * *", "2025-07-01 08:00", date(2025, 6, 1)),
    ):
        dag = dagbag.dags[dag_id]
        assert dag.timetable._expression == cron, dag_id
        assert [t.task_id for t in dag.tasks] == ["build_extracts", "send"], dag_id
        end = pendulum.parse(run_at, tz=tz)
        interval = dag.timetable.infer_manual_data_interval(run_after=end)
        assert interval.end == end, dag_id
        assert period_day({"params": {}, "data_interval_start": interval.start}, tz) == first_day
    assert period_day({"params": {"date": "2025-06-04"}, "data_interval_start": None}, tz) == (
        date(2025, 6, 4))
