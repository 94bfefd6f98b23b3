"""The PostgreSQL target: the same dbt project on a PostgreSQL server (``siyu.postgres`` holds
the connection settings SIYU_PG_* and the database work; this module puts it in the four
steps). ``load_raw`` copies every raw table into schema ``raw_<source>``; ``build`` copies the
published schemas to ``<schema>__building`` and runs ``dbt build --target postgres`` there
(models, data tests and unit tests: a failing test fails the build); ``audit`` has nothing
left to run (the dbt tests ran in the build; the Great Expectations gates read DuckDB files);
``publish`` grants the BI role on the building schemas and renames them over the published
ones in one transaction. A failure leaves the published schemas untouched and the
``__building`` ones for debugging.
"""

from __future__ import annotations

from datetime import date

from .. import pipeline
from .. import postgres as pg
from . import WarehouseTarget


class PostgresTarget(WarehouseTarget):
    name = "postgres"
    carried = ("copied",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pg = pg.PgSettings.from_env()
        self.copied: dict[str, int] = {}

    def load_raw(self) -> dict:
        pipeline.ensure_raw(self.settings)
        pg.prepare_database(self.pg)
        self.copied = pg.copy_raw(self.settings, self.pg, progress=self.progress)
        return self.copied

    def build(self, as_of: date | None, select: str | None = None,
              full_refresh: bool = False) -> None:
        pg.prepare_building(self.pg)
        self.raw_validation = pipeline.start_raw_validation(self.settings, as_of, self.run_id)
        args = ["build"]
        if select:
            args += ["--select", select]
        if full_refresh:
            args.append("--full-refresh")
        pipeline.dbt(self.settings, args, as_of=as_of, progress=self.progress,
                     extra_env={**self.pg.env(), "SIYU_SCHEMA_SUFFIX": pg.BUILDING})

    def audit(self, as_of: date | None) -> dict:
        # dbt's tests ran inside `dbt build`; the quality gate is the raw batches' GX suites
        return {"dbt_tests": "ran in the build",
                **pipeline.audit_raw(self.settings, as_of, self.run_id, self.progress,
                                     raw=self.raw_validation)}

    def publish(self, as_of: date | None) -> dict:
        schemas = [s[: -len(pg.BUILDING)] for s in pg.grant_from_env(self.pg, pg.BUILDING)]
        published = pg.publish(self.pg)
        self.say(f"  published {published} on postgres {self.pg.host}:{self.pg.port}/"
                 f"{self.pg.database}; BI role reads {schemas}")
        return {"target": "postgres", "raw_rows": sum(self.copied.values()),
                "published": published, "bi_schemas": schemas}


TARGET = PostgresTarget
