"""The warehouse-target interface (siyu.targets): the target a run builds is chosen by name,
the driver runs the four steps in order and hands a failure to the target's discard; a step
run in another process (an Airflow task) takes over the state of the step before."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from siyu import runner, targets
from siyu.config import Settings
from siyu.pipeline import PipelineError
from siyu.targets import spark


def test_the_target_comes_from_the_argument_then_the_environment(monkeypatch):
    monkeypatch.delenv("SIYU_DBT_TARGET", raising=False)
    assert targets.target_name() == "duckdb"
    monkeypatch.setenv("SIYU_DBT_TARGET", "spark")
    assert targets.target_name() == "spark"
    assert targets.target_name("postgres") == "postgres"
    with pytest.raises(targets.UnknownTarget, match="'trino'.*duckdb, postgres, spark"):
        targets.target_name("trino")
    with pytest.raises(PipelineError, match="unknown dbt target 'trino'"):
        runner.dbt_target("trino")


def test_every_registered_target_implements_the_four_steps(tmp_path):
    settings = Settings.from_env(landing_root=tmp_path, warehouse=tmp_path / "w.duckdb")
    for name in targets.TARGETS:
        target = targets.open_target(name, settings, "siyu-run-x-1")
        assert target.name == name
        assert isinstance(target, targets.WarehouseTarget)


class Recording(targets.WarehouseTarget):
    name = "recording"
    carried = ("build_key",)

    def __init__(self, *args, fail_at: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[str] = []
        self.fail_at = fail_at
        self.build_key = None

    def _step(self, step: str) -> None:
        self.calls.append(step)
        if step == self.fail_at:
            raise RuntimeError(f"{step} failed")

    def load_raw(self):
        self._step("load_raw")

    def build(self, as_of, select=None, full_refresh=False):
        self._step("build")
        self.build_key = f"{as_of}:{select}:{full_refresh}"

    def audit(self, as_of):
        self._step("audit")

    def publish(self, as_of):
        self._step("publish")
        return {"published": self.build_key}

    def discard(self, error):
        self.calls.append(f"discard({error})")


def _settings(tmp_path: Path) -> Settings:
    return Settings.from_env(landing_root=tmp_path, warehouse=tmp_path / "w.duckdb")


def test_the_driver_runs_the_steps_in_order_and_returns_what_publish_returns(tmp_path):
    target = Recording(_settings(tmp_path), "run-1")
    result = targets.build_audit_publish(target, date(2025, 4, 29), select="marts",
                                         full_refresh=True)
    assert target.calls == ["load_raw", "build", "audit", "publish"]
    assert result == {"published": "2025-04-29:marts:True"}


@pytest.mark.parametrize("fail_at", ["load_raw", "build", "audit", "publish"])
def test_a_failed_step_stops_the_run_and_is_discarded(tmp_path, fail_at):
    target = Recording(_settings(tmp_path), "run-1", fail_at=fail_at)
    with pytest.raises(RuntimeError, match=f"{fail_at} failed"):
        targets.build_audit_publish(target, date(2025, 4, 29))
    steps = ["load_raw", "build", "audit", "publish"]
    assert target.calls == steps[: steps.index(fail_at) + 1] + [f"discard({fail_at} failed)"]


def test_a_step_in_another_process_resumes_the_state_of_the_step_before(tmp_path):
    first = Recording(_settings(tmp_path), "run-1")
    first.build(date(2025, 4, 29))
    second = Recording(_settings(tmp_path), "run-1").resume(first.state())
    assert second.state() == {"build_key": "2025-04-29:None:False"}
    assert second.publish(date(2025, 4, 29)) == {"published": "2025-04-29:None:False"}


def test_a_spark_build_gets_databases_of_its_own(tmp_path, monkeypatch):
    monkeypatch.delenv("SIYU_SPARK_WAREHOUSE_DIR", raising=False)
    monkeypatch.delenv("SIYU_SPARK_RAW_DIR", raising=False)
    assert spark.build_suffix("6F7D3460-e93e-4c1a") == "__b6f7d3460e93e"
    assert spark.build_suffix("a" * 40) == "__b" + "a" * 12
    settings = _settings(tmp_path)
    assert spark.warehouse_dir(settings) == tmp_path.resolve() / "spark"
    assert spark.raw_dir(settings) == tmp_path.resolve() / "spark" / "raw"
    monkeypatch.setenv("SIYU_SPARK_WAREHOUSE_DIR", str(tmp_path / "elsewhere"))
    assert spark.warehouse_dir(settings) == tmp_path / "elsewhere"
    assert spark.read_published(settings) is None


@pytest.mark.parametrize("name", ["spark", "postgres"])
def test_the_audit_of_the_other_engines_runs_the_raw_quality_gate(tmp_path, monkeypatch, name):
    """Spark's audit: the data tests its build left out, then the raw batches' GX gate;
    PostgreSQL's: the gate (its data tests ran in the build). A failing gate stops the run."""
    from siyu import pipeline

    calls = []
    monkeypatch.setattr(pipeline, "dbt", lambda settings, args, **kw: calls.append(args[0]))
    monkeypatch.setattr(pipeline, "audit_raw", lambda settings, as_of, run_id, progress=None,
                        build_id=None, raw=None: calls.append(("gate", as_of, run_id, raw))
                        or {"expectations": 7})
    target = targets.open_target(name, _settings(tmp_path), "siyu-run-x-1")
    summary = target.audit(date(2025, 4, 29))
    # no build in this process (the Airflow tasks run the steps apart): the gate validates
    gate = ("gate", date(2025, 4, 29), "siyu-run-x-1", None)
    assert calls == (["test", gate] if name == "spark" else [gate])
    assert summary["expectations"] == 7

    def failing(*args, **kwargs):
        raise PipelineError("quality gate failed; the published warehouse is unchanged")

    monkeypatch.setattr(pipeline, "audit_raw", failing)
    with pytest.raises(PipelineError, match="quality gate failed"):
        target.audit(date(2025, 4, 29))
