"""An installable package: the wheel holds the code, the dbt project, the Great Expectations
suites and the DAG files, so a data engineer installs it into an existing Airflow image
(`pip install siyu-*.whl`) without the repository. Built here with `uv build`, installed into a
fresh virtual environment with the locked dependencies, and run from a folder outside the
repository on the shared sample landing zone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).with_name("uv")


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    if not UV.exists():
        pytest.fail(f"uv not found next to {sys.executable}: run `make setup`")
    tmp = tmp_path_factory.mktemp("wheel")
    _run([UV, "build", "--wheel", "--out-dir", tmp / "dist", REPO])
    (wheel,) = (tmp / "dist").glob("siyu-*.whl")
    requirements = tmp / "requirements.txt"
    _run([UV, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project",
          "--format", "requirements-txt", "--output-file", requirements], cwd=REPO)
    venv = tmp / "venv"
    _run([UV, "venv", "--quiet", "--python", sys.executable, venv])
    install = [UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python",
               "-r", requirements, wheel]
    # `make setup` has just installed these locked versions, so uv's cache holds them all:
    # offline, uv links them from there. Online it would revalidate pyspark's sdist (PyPI has
    # no wheel for it), build it again and keep another ~1.4 GB copy in the cache every run.
    # A cache without them (another UV_CACHE_DIR, a pruned cache) falls back to the index.
    offline = subprocess.run([str(c) for c in [*install, "--offline"]], capture_output=True,
                             text=True)
    if offline.returncode != 0:
        _run(install)
    return {"tmp": tmp, "wheel": wheel, "bin": venv / "bin"}


def test_the_wheel_carries_the_dbt_project_suites_and_dags_but_no_local_files(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    assert "siyu/_bundle/dbt_project/dbt_project.yml" in names
    assert any(n.startswith("siyu/_bundle/dbt_project/models/marts/") for n in names)
    assert "siyu/_bundle/expectations/raw.crm.contacts.json" in names
    assert "siyu/_bundle/dags/siyu_daily.py" in names
    # the Data Docs' scripts and styles (vendored by make setup): the docs open offline
    assert "siyu/_vendor/docs/jquery@3.7.1/dist/jquery.min.js" in names
    assert "siyu/_vendor/docs/jquery@3.7.1/.integrity" in names
    assert not [n for n in names if "/target/" in n or "/logs/" in n or n.endswith(".duckdb")]


def test_siyu_run_from_the_installed_package_outside_the_repo(installed, sample_landing):
    work = installed["tmp"] / "elsewhere"
    work.mkdir()
    as_of = json.loads((sample_landing.parent / "landing.manifest.json").read_text())["as_of"]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SIYU_", "DBT_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env.update(SIYU_PII_SALT="wheel-test-salt", SIYU_TIMEZONE="Asia/Shanghai")
    proc = subprocess.run(
        [str(installed["bin"] / "siyu"), "run", "--landing", str(sample_landing),
         "--as-of", as_of], cwd=work, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    warehouse = work / "data" / "warehouse" / "siyu.duckdb"  # ./data of the working folder
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        kpis = con.execute("SELECT count(*) FROM marts.kpi_department_daily").fetchone()[0]
        views = con.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'bi'"
                            ).fetchone()[0]
    finally:
        con.close()
    assert kpis > 0 and views >= 30
    index = work / "data" / "warehouse" / "quality" / "data_docs" / "index.html"
    assert "static/vendor/jquery@3.7.1/dist/jquery.min.js" in index.read_text()
    assert "code.jquery.com" not in index.read_text()
    site = installed["bin"].parent / "lib"
    assert not list(site.rglob("siyu/_bundle/dbt_project/target"))  # dbt wrote beside the data
    assert (work / "data" / "warehouse" / "dbt_target" / "manifest.json").exists()


def test_the_bundled_dags_load_from_the_installed_package(installed):
    """The one-line DAG file of an existing Airflow: `from siyu.airflow_dags import *` (an
    Airflow with its metadata DB: cosmos renders the dbt project there without a manifest)."""
    home = installed["tmp"] / "airflow_home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIYU_", "AIRFLOW"))}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__COSMOS__ENABLE_TELEMETRY="False", SIYU_DAG_TOPOLOGY="daily")
    _run([installed["bin"] / "airflow", "db", "migrate"], cwd=installed["tmp"], env=env)
    proc = _run([installed["bin"] / "python", "-c",
                 "import siyu.airflow_dags as d; print('DAGS:', ' '.join(d.__all__))"],
                cwd=installed["tmp"], env=env)
    (line,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("DAGS:")]
    assert line.split()[1:] == ["siyu_daily", "siyu_deliver", "siyu_deliver_month",
                                "siyu_deliver_week"]
