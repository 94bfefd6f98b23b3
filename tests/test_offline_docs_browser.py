"""The docs open from disk with no network (issue 15, item 5): headless Chromium, network
disabled (tests/browser.py), loads the Great Expectations Data Docs of a `siyu run` (the index
and a validation page) and dbt's static docs, runs their scripts, and shows their content;
Chromium's net log shows that no page asked the network for anything."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .browser import CHROMIUM, chromium, net_log

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test "
                                "installs it: make system-deps)")


def render(tmp: Path, page: Path, name: str) -> tuple[str, list[str]]:
    """(the DOM after the page's scripts ran, the network URLs it asked for)."""
    log = tmp / f"{name}.netlog.json"
    dom = chromium(tmp, f"--log-net-log={log}", "--virtual-time-budget=8000", "--dump-dom",
                   page.as_uri()).stdout
    return dom, net_log(log)


@pytest.fixture(scope="module")
def data_docs(published_warehouse) -> Path:
    warehouse, _as_of = published_warehouse
    docs = warehouse.parent / "quality" / "data_docs"
    assert (docs / "index.html").is_file(), "siyu run wrote no Data Docs"
    return docs


def test_data_docs_index_renders_offline(data_docs, tmp_path):
    dom, requested = render(tmp_path, data_docs / "index.html", "index")
    assert requested == []
    # bootstrap-table (jQuery + bootstrap + the table plugin, all local) built the runs table:
    # without its scripts the index shows no table at all
    assert 'class="bootstrap-table bootstrap4"' in dom
    rows = re.findall(r'<tr class="clickable-row" data-href="validations/[^"]+" data-index="\d+"', dom)
    assert len(rows) >= 10  # one row per validated raw table of the run (first page of 10)
    assert "raw.shop.orders" in dom


def test_data_docs_validation_page_renders_offline(data_docs, tmp_path):
    pages = sorted((data_docs / "validations" / "raw" / "shop").glob("orders@*/*/*/*.html"))
    assert pages, "no validation page of raw.shop.orders"
    dom, requested = render(tmp_path, pages[-1], "validation")
    assert requested == []
    assert 'class="bootstrap-table bootstrap4"' in dom and "fixed-table-body" in dom
    assert len(re.findall(r'data-index="\d+"', dom)) >= 5  # the expectations' table rows
    assert "order_id" in dom and "Expectation Validation Result" in dom and "Overview" in dom
    assert "static/vendor/jquery@3.7.1/dist/jquery.min.js" in dom


def test_dbt_static_docs_render_offline(published_warehouse, tmp_path):
    """`dbt docs generate --static` (what `make demo` runs): one file that shows the project
    tree with no network (the non-static index.html fetches manifest.json and hangs on file://)."""
    warehouse, as_of = published_warehouse
    shutil.copytree(warehouse.parent, tmp_path / "wh",  # dbt opens the file for writing
                    ignore=shutil.ignore_patterns("*.tmp", "*.lock", "quality"))
    env = dict(os.environ, SIYU_WAREHOUSE=str(tmp_path / "wh" / warehouse.name),
               SIYU_RAW_DIR=str(tmp_path / "wh" / "siyu_raw"), SIYU_TIMEZONE="Asia/Shanghai",
               SIYU_LOG_DIR=str(tmp_path / "logs"), DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    target = tmp_path / "dbt-target"
    proc = subprocess.run(
        [BIN / "dbt", "docs", "generate", "--static", "--project-dir", REPO / "dbt_project",
         "--profiles-dir", REPO / "dbt_project", "--target-path", target,
         "--log-path", tmp_path / "logs", "--vars", json.dumps({"as_of": as_of.isoformat()})],
        env=env, capture_output=True, text=True, cwd=REPO / "dbt_project")
    assert proc.returncode == 0, proc.stdout[-3000:]
    page = target / "static_index.html"
    assert 'ng-binding">' not in page.read_text()  # the tree below is drawn by the page's script
    dom, requested = render(tmp_path, page, "dbt")
    assert requested == []
    names = set(re.findall(r'class="filename-normal ng-binding">([a-z_]+)<', dom))
    assert len(names) >= 50  # the project tree: sources, models, tests, macros
    assert {"dim_users", "bi", "marts", "crm", "shop"} <= names
