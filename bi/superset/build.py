"""Zip the starter Superset dashboard (bi/superset/siyu_starter/) into a bundle Superset imports.

    .venv/bin/python bi/superset/build.py --warehouse data/warehouse/siyu.duckdb \
        --out data/superset/siyu_starter.zip
    superset import-dashboards -p data/superset/siyu_starter.zip -u admin

The source files are Superset's own export format (metadata, database, datasets, charts,
dashboard: YAML). The builder

* writes the warehouse's absolute path into the database's SQLAlchemy URI (duckdb-engine,
  read-only: ``duckdb:////abs/path/siyu.duckdb?access_mode=read_only``);
* adds each chart's saved query (``query_context``, what Superset's chart data API and
  reports run) from its ``params``: the UI writes it when a chart is saved, hand-written
  files do not have it;
* checks that every reference (dataset -> database, chart -> dataset, dashboard -> chart)
  resolves, so a typo fails here and not half-way through an import.

Standard library and PyYAML only (both in the project's environment and in Superset's).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import zipfile
from pathlib import Path

import yaml

SOURCE = Path(__file__).resolve().parent / "siyu_starter"
ROOT = "siyu_starter"  # the one top-level folder Superset expects in the ZIP


class BundleError(ValueError):
    pass


def _load(source: Path) -> dict[str, dict]:
    files = {p.relative_to(source).as_posix(): yaml.safe_load(p.read_text(encoding="utf-8"))
             for p in sorted(source.rglob("*.yaml"))}
    if "metadata.yaml" not in files:
        raise BundleError(f"{source} has no metadata.yaml")
    return files


def _metric_label(metric) -> str:
    return metric if isinstance(metric, str) else metric["label"]


def query_context(params: dict) -> dict:
    """The saved query of a time-series chart (x axis, time grain, metrics, group-by, simple
    WHERE filters), as Superset's explore view would save it; the importer fills in the
    dataset's id. No post-processing: the chart data API returns one row per day and series."""
    filters, where = [], []
    for f in params.get("adhoc_filters", []):
        if f.get("expressionType") == "SIMPLE" and f.get("operator") != "TEMPORAL_RANGE":
            filters.append({"col": f["subject"], "op": f["operator"], "val": f["comparator"]})
        elif f.get("expressionType") == "SQL":
            where.append(f"({f['sqlExpression']})")
    x = params["x_axis"]
    metrics = copy.deepcopy(params["metrics"])
    query = {
        "filters": filters,
        "extras": {"having": "", "where": " AND ".join(where)},
        "applied_time_extras": {},
        "columns": [{"timeGrain": params.get("time_grain_sqla", "P1D"),
                     "columnType": "BASE_AXIS", "sqlExpression": x, "label": x,
                     "expressionType": "SQL"}, *params.get("groupby", [])],
        "metrics": metrics,
        "orderby": [[metrics[0], not params.get("order_desc", True)]],
        "annotation_layers": [],
        "row_limit": params.get("row_limit", 10000),
        "series_columns": list(params.get("groupby", [])),
        "series_limit": 0,
        "order_desc": params.get("order_desc", True),
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
        "time_offsets": [],
        "post_processing": [],
    }
    return {"datasource": {"id": 0, "type": "table"}, "force": False, "queries": [query],
            "form_data": params, "result_format": "json", "result_type": "full"}


def build(warehouse: Path, out: Path, source: Path = SOURCE) -> Path:
    """Write the import bundle for the warehouse file ``warehouse`` to ``out`` (a ZIP)."""
    warehouse = Path(warehouse).expanduser().resolve()
    files = _load(source)
    databases = {str(c["uuid"]) for n, c in files.items() if n.startswith("databases/")}
    datasets = {str(c["uuid"]): c for n, c in files.items() if n.startswith("datasets/")}
    charts = {str(c["uuid"]): c for n, c in files.items() if n.startswith("charts/")}
    problems = []
    for name, config in files.items():
        if name.startswith("databases/"):
            config["sqlalchemy_uri"] = config["sqlalchemy_uri"].format(warehouse=warehouse)
        elif name.startswith("datasets/") and str(config["database_uuid"]) not in databases:
            problems.append(f"{name}: database {config['database_uuid']} is not in the bundle")
        elif name.startswith("charts/"):
            if str(config["dataset_uuid"]) not in datasets:
                problems.append(f"{name}: dataset {config['dataset_uuid']} is not in the bundle")
            config["query_context"] = json.dumps(query_context(config["params"]),
                                                 ensure_ascii=False)
        elif name.startswith("dashboards/"):
            for key, node in config["position"].items():
                if isinstance(node, dict) and node.get("type") == "CHART":
                    if str(node["meta"]["uuid"]) not in charts:
                        problems.append(f"{name}: {key} names chart {node['meta']['uuid']}, "
                                        "which is not in the bundle")
    if problems:
        raise BundleError("; ".join(problems))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, config in files.items():
            zf.writestr(f"{ROOT}/{name}", yaml.safe_dump(config, allow_unicode=True,
                                                         sort_keys=False))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, required=True,
                        help="the published siyu.duckdb the dashboard reads (read-only)")
    parser.add_argument("--out", type=Path, default=Path("siyu_starter.zip"))
    args = parser.parse_args(argv)
    if not args.warehouse.is_file():
        print(f"error: no warehouse file at {args.warehouse}", file=sys.stderr)
        return 1
    try:
        out = build(args.warehouse, args.out)
    except (BundleError, KeyError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out}: import with `superset import-dashboards -p {out} -u <admin user>`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
