"""The DuckDB target (the default): the warehouse is one DuckDB file, published by an atomic
rename (write-audit-publish, ``siyu.publish``).

The four steps are the ones ``siyu.pipeline.build_and_publish`` runs, in the same order and
with the same functions: ``load_raw`` makes sure every raw file exists (dbt attaches them
read-only), ``build`` copies the published file to the run's working copy and runs ``dbt
build`` there (``pipeline.build``), ``audit`` runs the Great Expectations gate on the raw
day and records the business warnings (``pipeline.audit``; the dbt data tests ran in the
build; the raw validation itself starts beside the dbt build, ``pipeline.start_raw_validation``),
``publish`` stamps the build and renames the working copy over the published file.
A failure keeps the working copy as ``<stem>.failed.duckdb`` (``publish.discard_working_copy``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from .. import pipeline
from .. import publish as wap
from . import WarehouseTarget


class DuckDBTarget(WarehouseTarget):
    name = "duckdb"

    working: Path | None = None
    build_id: str | None = None
    audited: dict | None = None

    def load_raw(self) -> dict:
        pipeline.ensure_raw(self.settings)
        return {"raw_dir": str(self.settings.raw_dir)}

    def build(self, as_of: date | None, select: str | None = None,
              full_refresh: bool = False) -> None:
        self.say("dbt build" + (" --full-refresh (backfill reaches past the incremental "
                                "lookback)" if full_refresh else "")
                 + f" into {wap.working_path(self.settings, self.run_id).name}")
        self.build_id = wap.new_build_id()
        self.working = wap.prepare_working_copy(self.settings, self.run_id)
        self.raw_validation = pipeline.start_raw_validation(self.settings, as_of, self.run_id)
        pipeline.build(wap.working_settings(self.settings, self.run_id), as_of, select=select,
                       progress=self.progress, full_refresh=full_refresh)

    def audit(self, as_of: date | None) -> dict:
        self.audited = pipeline.audit(self.settings, self.working, as_of, self.run_id,
                                      self.progress, build_id=self.build_id,
                                      raw=self.raw_validation)
        return self.audited

    def publish(self, as_of: date | None) -> dict:
        wap.stamp_build(self.working, as_of, self.run_id, self.build_id)
        wap.publish(self.settings, self.working, self.build_id)
        self.say(f"  published build {self.build_id[:12]} to {self.settings.warehouse}")
        return {"build_id": self.build_id, "audit": self.audited}

    def discard(self, error: BaseException) -> None:
        if self.working is None:
            return
        kept = wap.discard_working_copy(self.settings, self.working, error)
        if kept:
            self.say(f"  the failed build is kept for debugging in {kept}")

    def summary(self) -> dict:
        return {"warehouse": str(self.settings.warehouse), "raw_dir": str(self.settings.raw_dir)}


TARGET = DuckDBTarget
