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
