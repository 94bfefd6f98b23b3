"""The starter Superset bundle's builder (bi/superset/build.py), without Superset: what goes
into the ZIP. tests/test_superset.py imports it into a real Superset."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("superset_build", REPO / "bi" / "superset" / "build.py")
bundle = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bundle)


def _files(zipped: Path) -> dict[str, dict]:
    with zipfile.ZipFile(zipped) as zf:
        return {n: yaml.safe_load(zf.read(n)) for n in sorted(zf.namelist())}


def test_bundle_has_the_warehouse_path_saved_queries_and_bi_only(tmp_path):
    warehouse = tmp_path / "wh" / "siyu.duckdb"
    files = _files(bundle.build(warehouse, tmp_path / "b.zip"))
    assert all(n.startswith("siyu_starter/") for n in files)
    assert sorted(n.split("/")[1] for n in files) == [
        "charts", "charts", "charts", "dashboards", "databases", "datasets", "datasets",
        "metadata.yaml"]
    db = files["siyu_starter/databases/siyu_warehouse.yaml"]
    assert db["sqlalchemy_uri"] == f"duckdb:///{warehouse}?access_mode=read_only"
    assert not (db["allow_dml"] or db["allow_file_upload"] or db["allow_ctas"] or db["allow_cvas"])
    datasets = {c["table_name"]: c for n, c in files.items() if "/datasets/" in n}
    assert {c["schema"] for c in datasets.values()} == {"bi"}
    sql = datasets["buyer_ltv_department_daily"]["sql"]
    assert set(re.findall(r"\b(?:FROM|JOIN)\s+(\w+\.\w+)", sql)) == {
        "bi.fct_orders", "bi.dim_users", "bi.dim_dates"}  # the masked views, nothing else
    charts = {c["slice_name"]: c for n, c in files.items() if "/charts/" in n}
    assert set(charts) == {"48小时响应率（按部门，按日）", "90天复购率（按部门，按日）",
                           "人均买家LTV（按部门，按日）"}
    kpis = {}
    for chart in charts.values():
        qc = json.loads(chart["query_context"])
        query = qc["queries"][0]
        assert query["columns"][0]["sqlExpression"] == "date" and query["columns"][1:] == [
            "department"]
        assert qc["form_data"] == chart["params"]
        kpis[chart["slice_name"]] = [f["val"] for f in query["filters"] if f["col"] == "kpi"]
    assert kpis == {"48小时响应率（按部门，按日）": ["response_rate_48h"],
                    "90天复购率（按部门，按日）": ["repurchase_rate_90d"],
                    "人均买家LTV（按部门，按日）": []}
    dash = files["siyu_starter/dashboards/siyu_headline_kpis.yaml"]
    placed = {node["meta"]["uuid"] for node in dash["position"].values()
              if isinstance(node, dict) and node.get("type") == "CHART"}
    assert placed == {c["uuid"] for c in charts.values()}


def test_a_dangling_reference_fails_the_build(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(bundle.SOURCE, source)
    chart = source / "charts" / "buyer_ltv.yaml"
    chart.write_text(chart.read_text().replace(
        "dataset_uuid: fa9ee1b7-025d-47e9-a271-38cb915eaba1",
        "dataset_uuid: 00000000-0000-0000-0000-000000000000"))
    with pytest.raises(bundle.BundleError, match="charts/buyer_ltv.yaml: dataset 0000"):
        bundle.build(tmp_path / "siyu.duckdb", tmp_path / "b.zip", source=source)
    assert not (tmp_path / "b.zip").exists()
