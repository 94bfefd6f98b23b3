import json
import os
import shutil
import tempfile
from datetime import date
from pathlib import Path

import pytest

from .extracts_fixtures import built_once

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SAMPLE_LANDING = SHARED / "samples" / "landing"
SAMPLE_MANIFEST = SHARED / "samples" / "landing.manifest.json"

os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")


# What one `make test` writes to the temporary folder at its peak (warehouses, landing zones,
# dbt targets, a PostgreSQL cluster, Spark's metastore), measured in a fresh clone, with room to
# spare. With less free, tests fail by the hundred with errors that do not say why.
MIN_FREE_DISK_GB = 6


def pytest_sessionstart(session):
    """Refuse to start on a nearly full disk, with the reason, instead of ~600 errors."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    for where in (tempfile.gettempdir(), str(REPO)):
        free_gb = shutil.disk_usage(where).free / 1e9
        if free_gb < MIN_FREE_DISK_GB:
            pytest.exit(f"only {free_gb:.1f} GB free on the disk of {where}; the test suite needs "
                        f"about {MIN_FREE_DISK_GB} GB (free some space, or set TMPDIR to a "
                        "folder on a larger disk)", returncode=2)


# temporary folders this process made (pytest_configure) and removes when it ends
_OWN_TEMP_DIRS: list[str] = []


def pytest_configure(config):
    """dbt writes its manifest, compiled SQL and partial-parse file to DBT_TARGET_PATH. Tests run
    in parallel (`make test`: pytest-xdist, one worker per core), so each worker's dbt gets its
    own folder, and none writes the repository's dbt_project/target (which the DAGs read)."""
    if not os.environ.get("DBT_TARGET_PATH"):
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        os.environ["DBT_TARGET_PATH"] = tempfile.mkdtemp(prefix=f"siyu-dbt-target-{worker}-")
        _OWN_TEMP_DIRS.append(os.environ["DBT_TARGET_PATH"])
    # the parsed project (siyu-dbt) is shared by the workers of one test run: the project is
    # parsed once per key, not once per worker (saved files are replaced atomically)
    _run_wide_folder("SIYU_DBT_MANIFEST_CACHE", "siyu-dbt-manifests")
    # the published warehouse of the session (tests/extracts_fixtures.py): built once for all
    # workers in this folder, each works on a copy
    _run_wide_folder("SIYU_TEST_PUBLISHED_DIR", "siyu-published-warehouse")


def _run_wide_folder(variable: str, prefix: str) -> None:
    """Set ``variable`` (unless set) to a temporary folder shared by the workers of one test
    run: the controller sets it before its workers start, and they inherit it. The controller
    (or a run without xdist) outlives its workers: it removes the folder at the end."""
    if os.environ.get(variable):
        return
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"main-{os.getpid()}"
    os.environ[variable] = os.path.join(tempfile.gettempdir(), f"{prefix}-{run}")
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        _OWN_TEMP_DIRS.append(os.environ[variable])


def pytest_unconfigure(config):
    """A test run leaves nothing in the temporary folder but pytest's own (kept for failed
    tests only: tmp_path_retention_policy in pyproject.toml)."""
    for path in _OWN_TEMP_DIRS:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def sample_landing() -> Path:
    if not SAMPLE_LANDING.is_dir():
        pytest.fail(f"the shared sample landing zone is missing: {SAMPLE_LANDING}")
    return SAMPLE_LANDING


@pytest.fixture(autouse=True)
def _isolated_from_the_demo(monkeypatch):
    """`make test` runs with the Makefile's SIYU_* exports, which point at the demo's data:
    no test may read or write them. Tests that need a setting pass it explicitly."""
    for name in ("SIYU_LANDING_ROOT", "SIYU_WAREHOUSE", "SIYU_RAW_DIR", "SIYU_LOG_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def published_warehouse(tmp_path_factory) -> tuple[Path, date]:
    """(path of a published warehouse, its as_of date): `siyu run` on a generated landing
    (300 users, 40 days), built once per session for the tests that only read it. Never write
    it: copy it first (``shutil.copytree(warehouse.parent, ...)``)."""
    warehouse, as_of, _landing = built_once(tmp_path_factory)
    return warehouse, as_of


@pytest.fixture(scope="session")
def published_landing(tmp_path_factory) -> tuple[Path, dict, Path]:
    """(the landing zone, its generator manifest, the published warehouse built from it)."""
    warehouse, _as_of, landing = built_once(tmp_path_factory)
    return landing, json.loads((landing / "_manifest.json").read_text()), warehouse


# Tests that need a dbt build, a real Airflow, PostgreSQL or Chromium. `make test-fast` runs the
# rest (`pytest -m "not slow"`); `make test` runs everything.
SLOW_MODULES = {
    "test_bi_serving", "test_end_to_end", "test_extracts_render", "test_identity",
    "test_incremental", "test_incremental_changes", "test_postgres", "test_deliver_dag", "test_scheduler_run",
    "test_concurrent_ingest", "test_concurrency", "test_disk_full", "test_pii_free_text", "test_wheel",
    "test_stable_assets", "test_period_deliver_dag", "test_offline_docs_browser", "test_superset",
    "test_spark",
}
SLOW_FIXTURES = {"published_warehouse", "published_landing"}


# The longest modules first (rough serial minutes in a fresh clone, longest first): `make test`
# hands whole modules to its parallel workers in collection order, and a long module that
# starts last keeps one worker busy while the others idle.
LONGEST_FIRST = [
    "test_spark", "test_incremental_changes", "test_incremental", "test_scheduler_run",
    "test_concurrency",
    "test_end_to_end", "test_bi_serving", "test_identity", "test_postgres",
    "test_pii_free_text", "test_deliver_dag", "test_period_deliver_dag", "test_wheel",
    "test_concurrent_ingest", "test_stable_assets", "test_superset",
    "test_disk_full", "test_extracts_render", "test_offline_docs_browser",
]


def pytest_xdist_make_scheduler(config, log):
    """`make test` (`--dist loadfile`): a worker gets the next module only when its current
    module is down to its last test, so the next module goes to whichever worker frees up
    first. xdist's own scheduler sends more as soon as a worker has two tests left, which put
    two of the longest modules one after the other on one worker while the other ran out of
    work."""
    if config.getoption("dist", None) != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    # keep LONGEST_FIRST's order: by default xdist reorders modules by their number of tests,
    # which sends the few-test long modules (incremental chains, the scheduler run) last
    config.option.loadscopereorder = False

    class GreedyModuleScheduling(LoadFileScheduling):
        def _reschedule(self, node) -> None:
            if node.shutting_down:
                return
            if not self.workqueue:
                node.shutdown()
                return
            # a worker holds its last test until it knows what comes next (xdist runs a test
            # when it knows the next one), so the next module is sent while the last test of
            # the current one is all that is left
            if self._pending_of(self.assigned_work[node]) > 1:
                return
            self._assign_work_unit(node)

    return GreedyModuleScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """Mark as slow every test of a slow module and every test that reads the session's
    published warehouse (one `siyu run`), so the marker cannot drift from what a test does;
    then order the modules longest first (LONGEST_FIRST), each module's tests as written."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.module.__name__.rsplit(".", 1)[-1],
                                         len(rank)))
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        if module in SLOW_MODULES or SLOW_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)
