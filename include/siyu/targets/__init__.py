"""Warehouse targets: one module per engine, each doing the same four steps in order.

``siyu run`` (``siyu.runner``) ingests every source into the per-source raw DuckDB files and
then hands the warehouse to a *target*, chosen by name (``--target`` or SIYU_DBT_TARGET):

1. ``load_raw``  — make the raw layer readable by the engine (DuckDB attaches the raw files;
   PostgreSQL copies them into ``raw_<source>`` schemas; Spark exports them to Parquet and
   registers them as tables);
2. ``build``     — ``dbt build`` of the one dbt project, into a place readers do not see yet;
3. ``audit``     — the dbt tests and the quality gate of that engine;
4. ``publish``   — make the build visible to the engine's readers in the step those readers
   can rely on (an atomic file rename, a transaction, a view swap).

A step that raises stops the run; ``discard`` then tidies up (keeps a failed build for
debugging) and the published warehouse is unchanged. The driver (``build_audit_publish``) and
``siyu.runner`` know no engine by name: ``TARGETS`` maps each name to its module, imported only
when chosen (an engine's client libraries are loaded only by the runs that use it). A new
engine (Trino, ClickHouse, ...) is one more module with a ``WarehouseTarget`` subclass and one
more row of ``TARGETS``.

| variable | meaning | default |
|---|---|---|
| SIYU_DBT_TARGET | the warehouse target a run builds: `duckdb` (the warehouse file), `postgres` (a server: SIYU_PG_*) or `spark` (SIYU_SPARK_*); `siyu run --target` | `duckdb` |
"""

from __future__ import annotations

import importlib
import os
from abc import ABC, abstractmethod
from concurrent.futures import Future
from collections.abc import Callable
from datetime import date
from typing import ClassVar

from ..config import Settings

#: target name -> the module that implements it (its ``WarehouseTarget`` subclass is the
#: module's ``TARGET``)
TARGETS = {
    "duckdb": "siyu.targets.duckdb",
    "postgres": "siyu.targets.postgres",
    "spark": "siyu.targets.spark",
}
DEFAULT_TARGET = "duckdb"


class UnknownTarget(ValueError):
    """A target name that is not in ``TARGETS``."""


def target_name(name: str | None = None) -> str:
    """The target of a run: ``name`` (``--target``), else SIYU_DBT_TARGET, else duckdb."""
    name = name or os.environ.get("SIYU_DBT_TARGET") or DEFAULT_TARGET
    if name not in TARGETS:
        raise UnknownTarget(f"unknown dbt target {name!r} ({', '.join(TARGETS)})")
    return name


class WarehouseTarget(ABC):
    """One run's warehouse on one engine. Created per run (it carries the run's state from
    one step to the next: the working copy, the build id, ...)."""

    name: ClassVar[str]
    #: attributes one step hands to the next when the steps run in separate processes (the
    #: Airflow tasks of ``siyu.orchestration.target_build``): ``state()`` / ``resume()``
    carried: ClassVar[tuple[str, ...]] = ()
    #: the raw day's Great Expectations validation, started by ``build`` beside the dbt build
    #: (``pipeline.start_raw_validation``) and awaited by ``audit``; None when the steps run in
    #: separate processes (the audit then validates itself)
    raw_validation: Future | None = None

    def __init__(self, settings: Settings, run_id: str,
                 progress: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.run_id = run_id
        self.say = progress or (lambda _msg: None)
        self.progress = progress

    @abstractmethod
    def load_raw(self) -> dict:
        """Make the raw layer (the ingest's raw DuckDB files) readable by the engine."""

    @abstractmethod
    def build(self, as_of: date | None, select: str | None = None,
              full_refresh: bool = False) -> None:
        """``dbt build`` into a place the engine's readers do not read yet."""

    @abstractmethod
    def audit(self, as_of: date | None) -> dict:
        """Check the build (dbt tests, quality gate); raise to stop the publish."""

    @abstractmethod
    def publish(self, as_of: date | None) -> dict:
        """Make the audited build the one readers see. Returns the run's publish summary."""

    def discard(self, error: BaseException) -> None:
        """After a failed step: leave the published warehouse as it is, tidy up the rest."""

    def summary(self) -> dict:
        """Extra fields for the run's result (where the warehouse is, ...)."""
        return {}

    def state(self) -> dict:
        """What the next step needs (JSON-able), for a step run in another process."""
        return {name: getattr(self, name, None) for name in self.carried}

    def resume(self, state: dict | None) -> WarehouseTarget:
        """Take over the state an earlier step's ``state()`` returned."""
        for name in self.carried:
            if state and name in state:
                setattr(self, name, state[name])
        return self


def open_target(name: str | None, settings: Settings, run_id: str,
                progress: Callable[[str], None] | None = None) -> WarehouseTarget:
    """The ``WarehouseTarget`` of ``name`` (see ``target_name``) for one run."""
    module = importlib.import_module(TARGETS[target_name(name)])
    return module.TARGET(settings, run_id, progress)


def build_audit_publish(target: WarehouseTarget, as_of: date | None, select: str | None = None,
                        full_refresh: bool = False) -> dict:
    """The four steps in order; on any failure ``target.discard`` and re-raise. Returns what
    ``publish`` returned."""
    try:
        target.load_raw()
        target.build(as_of, select=select, full_refresh=full_refresh)
        target.audit(as_of)
        return target.publish(as_of)
    except BaseException as exc:
        target.discard(exc)
        raise
