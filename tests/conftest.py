import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SAMPLE_LANDING = SHARED / "samples" / "landing"
SAMPLE_MANIFEST = SHARED / "samples" / "landing.manifest.json"

os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")


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
