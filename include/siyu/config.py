"""One place for configuration.

Every setting comes from an environment variable (Airflow passes its Variables/Params the
same way); nothing that depends on the deployment is a constant in code.

| variable              | meaning                                            | default                      |
|-----------------------|----------------------------------------------------|------------------------------|
| SIYU_LANDING_ROOT     | landing zone root (`<source>/<entity>/dt=...`)     | `data/landing`               |
| SIYU_WAREHOUSE        | DuckDB warehouse file that dbt builds              | `data/warehouse/siyu.duckdb` |
| SIYU_RAW_DIR          | folder of the per-source raw DuckDB files          | `<warehouse stem>_raw/` next to the warehouse |
| SIYU_TIMEZONE         | business timezone                                  | `Asia/Shanghai`              |
| SIYU_DBT_PROJECT_DIR  | the dbt project                                    | `<repo>/dbt_project`         |
| SIYU_LOG_DIR          | where `siyu` writes its run logs                   | `data/logs`                  |

The other modules document the variables they read the same way, next to the code (the
lock and disk space in ``siyu.publish``, the PII salt in ``siyu.pii``, DuckDB's resources in
``siyu.db``, ...); ``siyu settings`` (``siyu.settings_doc``) lists them all and
``docs/settings.md`` is generated from them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from . import db
from .contract import SOURCES

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLE_DIR = PACKAGE_DIR / "_bundle"
#: Where the dbt project, the Great Expectations suites and the DAG files are: the checkout
#: (``include/siyu/../..``), or, in an installed wheel, ``siyu/_bundle/`` (pyproject.toml puts
#: ``dbt_project/``, ``expectations/`` and ``dags/`` there).
REPO_ROOT = (PACKAGE_DIR.parents[1] if (PACKAGE_DIR.parents[1] / "dbt_project").is_dir()
             else BUNDLE_DIR)
IN_CHECKOUT = REPO_ROOT != BUNDLE_DIR


def data_root() -> Path:
    """Default home of the landing zone, warehouse, logs and outbox when no ``SIYU_*`` path is
    set: ``data/`` of the checkout, or ``./data`` of the working directory for an installed
    package (never inside site-packages)."""
    return REPO_ROOT / "data" if IN_CHECKOUT else Path.cwd() / "data"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


@dataclass(frozen=True)
class Settings:
    landing_root: Path
    warehouse: Path
    raw_dir: Path
    timezone: str
    dbt_project_dir: Path
    log_dir: Path

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        overrides = {k: v for k, v in overrides.items() if v is not None}
        data_dir = data_root()
        warehouse = Path(
            overrides.pop("warehouse", None)
            or _env_path("SIYU_WAREHOUSE", data_dir / "warehouse" / "siyu.duckdb")
        )
        landing = Path(
            overrides.pop("landing_root", None)
            or _env_path("SIYU_LANDING_ROOT", data_dir / "landing")
        )
        raw_dir = overrides.pop("raw_dir", None) or (
            Path(os.environ["SIYU_RAW_DIR"]) if os.environ.get("SIYU_RAW_DIR") else None
        )
        if raw_dir is None:
            raw_dir = warehouse.parent / f"{warehouse.stem}_raw"
        settings = cls(
            landing_root=landing.resolve(),
            warehouse=warehouse.resolve(),
            raw_dir=Path(raw_dir).resolve(),
            timezone=os.environ.get("SIYU_TIMEZONE", "Asia/Shanghai"),
            dbt_project_dir=_env_path("SIYU_DBT_PROJECT_DIR", REPO_ROOT / "dbt_project").resolve(),
            log_dir=_env_path("SIYU_LOG_DIR", data_dir / "logs").resolve(),
        )
        if overrides:
            settings = replace(settings, **overrides)
        ZoneInfo(settings.timezone)  # fail early on a bad timezone name
        return settings

    def raw_db(self, source: str) -> Path:
        """The raw DuckDB file of one source (one writer per source at a time)."""
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}")
        return self.raw_dir / f"{source}.duckdb"

    def env(self) -> dict[str, str]:
        """Environment for subprocesses (dbt) so they see the same settings."""
        return {
            "SIYU_LANDING_ROOT": str(self.landing_root),
            "SIYU_WAREHOUSE": str(self.warehouse),
            "SIYU_RAW_DIR": str(self.raw_dir),
            "SIYU_TIMEZONE": self.timezone,
            "SIYU_DBT_PROJECT_DIR": str(self.dbt_project_dir),
            "SIYU_LOG_DIR": str(self.log_dir),
            # dbt's DuckDB gets the same bounds as every Python connection (siyu.db)
            "SIYU_DUCKDB_MEMORY_LIMIT": db.memory_limit(),
            "SIYU_DUCKDB_THREADS": str(db.threads()),
            **({"SIYU_DUCKDB_TEMP_DIR": db.temp_directory()} if db.temp_directory() else {}),
        }
