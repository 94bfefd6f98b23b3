"""The starter Superset dashboard (issue 15, item 6) imports into a real Superset and its charts
read the warehouse: Superset 5.0.0 in its own virtual environment (bi/superset/install.py,
cached between runs: ~/.cache/siyu/superset-<hash>, about 2.5 minutes cold, none warm),
started on loopback with a fresh copy of its initialised metadata database; the bundle
(bi/superset/build.py) is imported through the REST API; one chart's data read through the
chart data API equals the warehouse's numbers."""

from __future__ import annotations

import importlib.util
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"superset_{name}",
                                                  REPO / "bi" / "superset" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


install = _module("install")
bundle = _module("build")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, base: str):
        self.base, self.token = base, None

    def call(self, method: str, path: str, body=None, *, data: bytes | None = None,
             content_type: str | None = None):
        headers = {}
        if body is not None:
            data, content_type = json.dumps(body).encode(), "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")[:3000]

    def upload(self, path: str, fields: dict[str, str], file_field: str, file: Path):
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                 .encode() for k, v in fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
                     f'filename="{file.name}"\r\nContent-Type: application/zip\r\n\r\n'.encode()
                     + file.read_bytes() + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.call("POST", path, data=b"".join(parts),
                         content_type=f"multipart/form-data; boundary={boundary}")


@pytest.fixture(scope="module")
def superset(tmp_path_factory):
    """A running Superset on 127.0.0.1 (its own venv, metadata in tmp): an Api logged in as
    admin. Stopped (its process group) at the end of the module."""
    t0 = time.perf_counter()
    cache = install.ensure(log=lambda msg: print(f"superset install: {msg}"))
    prepared = time.perf_counter() - t0
    home = tmp_path_factory.mktemp("superset")
    db = home / "superset.db"
    shutil.copy2(cache / "template.db", db)
    env = install.superset_env(home, install.write_config(home, db))
    port = _free_port()
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [cache / "venv" / "bin" / "superset", "run", "-h", "127.0.0.1", "-p", str(port),
         "--with-threads"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=home,
        start_new_session=True)
    api = Api(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None:
                pytest.fail(f"superset exited:\n{(home / 'server.log').read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(api.base + "/health", timeout=5) as r:  # noqa: S310
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"superset did not answer:\n{(home / 'server.log').read_text()[-4000:]}")
            time.sleep(1)
        status, login = api.call("POST", "/api/v1/security/login", {
            "username": install.ADMIN[0], "password": install.ADMIN[1], "provider": "db",
            "refresh": False})
        assert status == 200, login
        api.token = login["access_token"]
        print(f"superset: ready {prepared:.0f}s, up {time.perf_counter() - t0:.0f}s")
        yield api
    finally:
        import os
        import signal

        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def test_dashboard_imports_and_a_chart_reads_the_warehouse(superset, published_warehouse,
                                                            tmp_path):
    warehouse, as_of = published_warehouse
    zipped = bundle.build(warehouse, tmp_path / "siyu_starter.zip")
    status, body = superset.upload("/api/v1/dashboard/import/", {"overwrite": "true"},
                                   "formData", zipped)
    assert status == 200, body

    status, dash = superset.call("GET", "/api/v1/dashboard/siyu-headline-kpis")
    assert status == 200, dash
    assert dash["result"]["dashboard_title"] == "私域核心指标（按部门）"
    status, charts = superset.call("GET", f"/api/v1/dashboard/{dash['result']['id']}/charts")
    assert status == 200, charts
    titles = {c["slice_name"]: c["id"] for c in charts["result"]}
    assert set(titles) == {"48小时响应率（按部门，按日）", "90天复购率（按部门，按日）",
                           "人均买家LTV（按部门，按日）"}

    # the 48-hour response chart, through Superset's chart data API (its saved query)
    status, data = superset.call("GET", f"/api/v1/chart/{titles['48小时响应率（按部门，按日）']}/data/")
    assert status == 200, data
    result = data["result"][0]
    assert result["colnames"] == ["date", "department", "48小时响应率"]
    got = {(datetime.fromtimestamp(r["date"] / 1000, timezone.utc).date(), r["department"]):
           r["48小时响应率"] for r in result["data"]}
    con = duckdb.connect(str(warehouse), read_only=True)
    want = {(d, dept): v for d, dept, v in con.execute(
        "SELECT date, department, value FROM bi.kpi_department_daily "
        "WHERE kpi = 'response_rate_48h'").fetchall()}
    # the company's buyer LTV on the as-of day, from the marts by hand: cumulative net revenue
    # of paid orders / users with a first purchase, both up to the day
    revenue, buyers = con.execute(
        "SELECT (SELECT sum(net_revenue) FROM marts.fct_orders WHERE is_paid AND order_date <= $d),"
        " (SELECT count(*) FROM marts.dim_users WHERE CAST(first_purchase_at AS DATE) <= $d)",
        {"d": as_of}).fetchone()
    con.close()
    assert result["rowcount"] == len(want) > 0
    assert set(got) == set(want)
    assert sum(v is not None for v in got.values()) > 0
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-9) if value is not None \
            else got[key] is None, key
    assert {dept for _, dept in got} == {"all", "marketing", "operations", "sales", "service"}

    status, data = superset.call("GET", f"/api/v1/chart/{titles['人均买家LTV（按部门，按日）']}/data/")
    assert status == 200, data
    ltv = {(datetime.fromtimestamp(r["date"] / 1000, timezone.utc).date(), r["department"]):
           r["buyer_ltv"] for r in data["result"][0]["data"]}
    assert ltv[(as_of, "all")] == pytest.approx(round(float(revenue) / buyers, 2), abs=0.005)
    con = duckdb.connect(str(warehouse), read_only=True)
    by_department = con.execute(
        "SELECT u.department, (SELECT sum(o.net_revenue) FROM marts.fct_orders o JOIN "
        " marts.dim_users v USING (user_id) WHERE o.is_paid AND o.order_date <= $d"
        " AND v.department = u.department) / count(*)"
        " FROM marts.dim_users u WHERE CAST(u.first_purchase_at AS DATE) <= $d"
        " AND u.department IS NOT NULL GROUP BY 1", {"d": as_of}).fetchall()
    con.close()
    assert len(by_department) == 3  # operations, sales, service own buyers; marketing none
    for department, value in by_department:
        assert ltv[(as_of, department)] == pytest.approx(round(float(value), 2), abs=0.005)
    assert {d for _, d in ltv} == {"all"} | {d for d, _ in by_department}
