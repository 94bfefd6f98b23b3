"""Data-quality gate: Great Expectations suites on the raw day batches, and business warnings.

One home per check (dbt_project/DECISIONLOG.md): the rules on the models -- the marts' keys,
enums, formats, ranges, internal consistency, row counts, freshness, and the cross-model
reconciliations -- are dbt data tests in the models' yml and ``dbt_project/tests/`` (severity
``error`` stops ``dbt build``, so a run never reaches publish; ``warn`` is recorded). This
module checks what dbt does not see: the landing batches as delivered (raw suites in
``<repo>/expectations/``, GX 1.x suite format plus a ``meta.siyu`` block, see
``expectations/README.md``), and the business warnings of the day. Every expectation has a
``severity``: ``critical`` failures stop a run (``QualityReport.raise_for_critical``),
``warning`` failures are recorded and shown.

GX cannot validate DuckDB tables through its SQL datasource (it reads results after the
connection is closed), so every check runs on a pandas DataFrame read from DuckDB, one batch
at a time: one delivery day (``_dt``) of one raw table.

Plain functions, no Airflow: the DAG tasks and the CLI call them with paths.

* ``validate_raw_day(settings, source, day, run_id)`` -- each entity of a source, ``_dt = day``.
* ``business_warnings(db_path, as_of)`` -- red/yellow KPIs and day-over-day volume drops.
* ``QualityReport.store(db_path)`` -- ``ops.dq_results`` / ``ops.dq_warnings``.
* ``build_data_docs(out_dir, reports)`` -- GX's HTML Data Docs of a run's validations.

Personal data: observed values are counts, totals and enum values, never row contents
(``partial_unexpected_count`` is 0), so reports, the ops tables, the Data Docs and error
messages carry no names, phones or emails. Belt and braces for checks on a personal-data
column (``siyu.pii.PII_COLUMNS``): their GX results are cut down to counts before anything is
stored or rendered, so even a min/max or in-set check added later cannot show a phone.

| variable | meaning | default |
|---|---|---|
| SIYU_EXPECTATIONS_DIR | folder of the Great Expectations suites | `<repo>/expectations` |
| SIYU_VOLUME_DROP_THRESHOLD | day-over-day drop (a fraction: 0.2 = 20%) of new contacts, orders or messages that raises a business warning | `0.20` |
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import duckdb

from . import db, kpi_catalog
from . import contract as C
from .config import REPO_ROOT, Settings
from .pii import PII_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

# GX must not phone home (and nothing here may download at run time).
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
# GX imports pyspark's Spark Connect classes when pyspark is installed (the Spark target);
# pyspark warns on every import that it is not tested with pandas 3: not ours to act on
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                        category=FutureWarning)

log = logging.getLogger(__name__)

CRITICAL = "critical"
WARNING = "warning"
SEVERITIES = (CRITICAL, WARNING)

SUITES_DIR = REPO_ROOT / "expectations"  # the checkout's, or the installed bundle's

# Day-over-day drops that raise a business warning (>= 20% fewer than the previous day),
# unless SIYU_VOLUME_DROP_THRESHOLD says otherwise (volume_drop_threshold).
VOLUME_DROP = 0.20
_RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0}
_GX_DATASOURCE = "siyu"


class QualityGateError(RuntimeError):
    """A critical expectation failed; the message lists every failing check."""


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class QualityResult:
    """One expectation evaluated on one batch (a row of ``ops.dq_results``)."""

    run_id: str
    suite: str
    table: str  # e.g. 'crm.contacts' (raw file . table)
    batch: str  # the delivery day (raw) or 'all'
    expectation: str  # type(kwargs summary), see expectation_label()
    severity: str  # critical | warning
    success: bool
    observed_value: str
    checked_at: datetime


@dataclass(frozen=True)
class BusinessWarning:
    """A business-side warning (a row of ``ops.dq_warnings``): not a data error, a signal."""

    kind: str  # 'kpi_status' | 'volume_drop'
    as_of: date
    metric: str  # KPI name, or new_contacts | orders | messages
    value: float | None
    reference: float | None  # the KPI target, or the previous day's count
    status: str  # red | yellow (kpi_status) or drop (volume_drop)
    department: str | None = None
    message: str = ""


@dataclass
class _Validation:
    """A GX validation result kept for Data Docs (not stored in DuckDB)."""

    suite: dict
    batch_identifier: str
    result: Any  # great_expectations ExpectationSuiteValidationResult


@dataclass
class QualityReport:
    run_id: str
    results: list[QualityResult] = field(default_factory=list)
    warnings: list[BusinessWarning] = field(default_factory=list)
    build_id: str | None = None  # the build audited: ops.dq_results/dq_warnings.build_id
    validations: list[_Validation] = field(default_factory=list, repr=False, compare=False)

    @property
    def failures(self) -> list[QualityResult]:
        return [r for r in self.results if not r.success]

    @property
    def critical_failures(self) -> list[QualityResult]:
        return [r for r in self.failures if r.severity == CRITICAL]

    @property
    def warning_failures(self) -> list[QualityResult]:
        return [r for r in self.failures if r.severity != CRITICAL]

    @property
    def success(self) -> bool:
        """True when no critical expectation failed (warnings do not count)."""
        return not self.critical_failures

    def extend(self, other: QualityReport) -> QualityReport:
        self.results.extend(other.results)
        self.warnings.extend(other.warnings)
        self.validations.extend(other.validations)
        return self

    def summary(self) -> str:
        """One line for logs: counts only."""
        return (
            f"run {self.run_id}: {len(self.results)} checks, {len(self.critical_failures)} critical"
            f" and {len(self.warning_failures)} warning failure(s), {len(self.warnings)}"
            " business warning(s)"
        )

    def raise_for_critical(self) -> None:
        failed = self.critical_failures
        if not failed:
            return
        lines = [
            f"  - {r.table} [{r.batch}] {r.expectation}: observed {r.observed_value}"
            f" (suite {r.suite})"
            for r in failed
        ]
        raise QualityGateError(
            f"data quality gate failed for run {self.run_id}: {len(failed)} critical"
            " expectation(s) failed:\n" + "\n".join(lines)
        )

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([asdict(r) for r in self.results], columns=_RESULT_COLUMNS)

    def store(self, db_path: Path) -> int:
        """Write the results to ``ops.dq_results`` and the business warnings to
        ``ops.dq_warnings`` of the DuckDB file ``db_path`` (created if missing).

        Storing the same run again replaces its rows for the same (suite, batch), so a retried
        task does not duplicate. The caller makes sure no other process writes the file.
        Returns the number of rows written.
        """
        db_path = Path(db_path)
        db_path.parent.mkdir(parents=True, exist_ok=True)
        con = db.connect(db_path)
        try:
            ops = ensure_ops_tables(con)
            with db.transaction(con):
                self._write(con, ops)
        finally:
            con.close()
        return len(self.results) + len(self.warnings)

    def _write(self, con: duckdb.DuckDBPyConnection, ops: str) -> None:
        for run_id, suite, batch in sorted({(r.run_id, r.suite, r.batch) for r in self.results}):
            con.execute(
                f"DELETE FROM {ops}.dq_results WHERE run_id = ? AND suite = ? AND batch = ?",
                [run_id, suite, batch],
            )
        if self.results:
            con.executemany(
                f"INSERT INTO {ops}.dq_results ({', '.join(_DQ_RESULT_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_DQ_RESULT_COLUMNS))})",
                [
                    (r.run_id, r.suite, r.table, r.batch, r.expectation, r.severity,
                     r.success, r.observed_value, r.checked_at, self.build_id)
                    for r in self.results
                ],
            )
        if self.warnings:
            stored_at = datetime.now(timezone.utc)
            for as_of in sorted({w.as_of for w in self.warnings}):
                con.execute(
                    f"DELETE FROM {ops}.dq_warnings WHERE run_id = ? AND as_of = ?",
                    [self.run_id, as_of],
                )
            con.executemany(
                f"INSERT INTO {ops}.dq_warnings ({', '.join(_DQ_WARNING_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_DQ_WARNING_COLUMNS))})",
                [
                    (self.run_id, w.kind, w.as_of, w.department, w.metric, w.value,
                     w.reference, w.status, w.message, stored_at, self.build_id)
                    for w in self.warnings
                ],
            )


_RESULT_COLUMNS = [
    "run_id", "suite", "table", "batch", "expectation", "severity", "success",
    "observed_value", "checked_at",
]


def ensure_ops_tables(con: duckdb.DuckDBPyConnection) -> str:
    """Create ``ops.dq_results`` and ``ops.dq_warnings`` if missing (each row names the
    ``build_id`` it audited, NULL for results stored without one); returns the qualified
    schema (``"<catalog>".ops``: a file named ops.duckdb would make plain ``ops`` ambiguous)."""
    catalog = con.execute("SELECT current_database()").fetchone()[0]
    ops = f"{_q(catalog)}.ops"
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {ops}")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {ops}.dq_results (
            run_id VARCHAR NOT NULL, suite VARCHAR NOT NULL, table_name VARCHAR NOT NULL,
            batch VARCHAR NOT NULL, expectation VARCHAR NOT NULL, severity VARCHAR NOT NULL,
            success BOOLEAN NOT NULL, observed_value VARCHAR, checked_at TIMESTAMPTZ NOT NULL)"""
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {ops}.dq_warnings (
            run_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, as_of DATE NOT NULL,
            department VARCHAR, metric VARCHAR NOT NULL, value DOUBLE, reference DOUBLE,
            status VARCHAR NOT NULL, message VARCHAR, stored_at TIMESTAMPTZ NOT NULL)"""
    )
    for table in ("dq_results", "dq_warnings"):  # tables created before results named builds
        con.execute(f"ALTER TABLE {ops}.{table} ADD COLUMN IF NOT EXISTS build_id VARCHAR")
    return ops


_DQ_RESULT_COLUMNS = ("run_id", "suite", "table_name", "batch", "expectation", "severity",
                      "success", "observed_value", "checked_at", "build_id")
_DQ_WARNING_COLUMNS = ("run_id", "kind", "as_of", "department", "metric", "value", "reference",
                       "status", "message", "stored_at", "build_id")


# --------------------------------------------------------------------------- suites


@dataclass(frozen=True)
class Suite:
    """A suite file: the GX suite (``spec``) and how to read its batch (``meta.siyu``)."""

    name: str
    kind: str  # raw
    table: str
    spec: dict
    source: str | None = None
    derived_columns: tuple[tuple[str, str], ...] = ()
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def expectations(self) -> list[dict]:
        return self.spec["expectations"]

    def labels(self) -> list[str]:
        return [expectation_label(e["type"], e["kwargs"]) for e in self.expectations]

    def critical_labels(self) -> list[str]:
        return [
            expectation_label(e["type"], e["kwargs"])
            for e in self.expectations if e.get("severity") == CRITICAL
        ]


def suites_dir() -> Path:
    """``SIYU_EXPECTATIONS_DIR`` or ``<repo>/expectations``."""
    value = os.environ.get("SIYU_EXPECTATIONS_DIR")
    return Path(value).expanduser() if value else SUITES_DIR


def load_suites(directory: Path | None = None) -> dict[str, Suite]:
    """Every suite file of ``directory`` by suite name (checked: severities, names)."""
    directory = Path(directory) if directory else suites_dir()
    suites: dict[str, Suite] = {}
    for path in sorted(directory.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        name = spec.get("name")
        if name != path.stem:
            raise ValueError(f"{path}: suite name {name!r} differs from the file name")
        siyu = (spec.get("meta") or {}).get("siyu") or {}
        for e in spec.get("expectations", []):
            if e.get("severity") not in SEVERITIES:
                raise ValueError(
                    f"{path}: {e.get('type')} needs severity 'critical' or 'warning'"
                )
        suites[name] = Suite(
            name=name,
            kind=siyu.get("kind", ""),
            table=siyu.get("table", ""),
            spec=spec,
            source=siyu.get("source"),
            derived_columns=tuple((siyu.get("derived_columns") or {}).items()),
            context=tuple((k, tuple(v)) for k, v in (siyu.get("context") or {}).items()),
        )
    if not suites:
        raise FileNotFoundError(f"no expectation suites in {directory}")
    return suites


def raw_suite_name(source: str, entity: str) -> str:
    return f"raw.{source}.{entity}"


# --------------------------------------------------------------------------- labels


_FIRST_KWARGS = ("column", "column_list", "column_A", "column_B")
_SKIP_KWARGS = {"batch_id", "result_format", "catch_exceptions", "meta", "row_condition",
                "condition_parser"}


def _short(value: Any, limit: int = 6) -> str:
    if isinstance(value, (list, tuple)):
        items = [_short(v) for v in value[:limit]]
        return "[" + ",".join(items) + (",..." if len(value) > limit else "") + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, ".10g")
    return str(value)


def _condition_text(cond: Any) -> str:
    if cond is None:
        return ""
    if hasattr(cond, "dict"):
        cond = cond.dict()
    if isinstance(cond, str):
        return cond
    kind = cond.get("type")
    column = (cond.get("column") or {}).get("name")
    if kind == "nullity":
        return f"{column} is {'null' if cond.get('is_null') else 'not null'}"
    if kind == "comparison":
        op = cond.get("operator")
        op = getattr(op, "value", op)
        return f"{column} {op} {_short(cond.get('parameter'))}"
    if kind in ("and", "or"):
        parts = [_condition_text(c) for c in cond.get("conditions", [])]
        return f" {kind} ".join(f"({p})" for p in parts)
    return json.dumps(cond, sort_keys=True, default=str)


def expectation_label(type_: str, kwargs: dict) -> str:
    """``type(column=..., other=...) where <row condition>``: stable across runs, the key of
    an expectation in reports, ``ops.dq_results`` and the tests."""
    keys = [k for k in _FIRST_KWARGS if k in kwargs]
    keys += sorted(k for k in kwargs if k not in _FIRST_KWARGS and k not in _SKIP_KWARGS)
    args = ", ".join(f"{k}={_short(kwargs[k])}" for k in keys)
    label = f"{type_}({args})"
    cond = _condition_text(kwargs.get("row_condition"))
    return f"{label} where {cond}" if cond else label


# --------------------------------------------------------------------------- GX engine


def _fmt(value: Any) -> str:
    if value is None:
        return "null"
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        try:
            value = value.item()
        except (AttributeError, ValueError):
            pass
    if isinstance(value, float):
        return format(value, ".10g")
    if isinstance(value, (list, tuple)):
        return _short(list(value), 8)
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _num(value: float | None) -> str:
    return "null" if value is None else format(value, ".6g")


def _exception_message(er: Any) -> str | None:
    """The error of a check that could not run (GX gives it flat or keyed by metric)."""
    info = er.exception_info or {}
    if not isinstance(info, dict):
        return None
    for entry in (info, *info.values()):
        if isinstance(entry, dict) and entry.get("raised_exception"):
            return str(entry.get("exception_message") or "exception").splitlines()[0][:160]
    return None


_COUNT_KEYS = ("element_count", "unexpected_count", "unexpected_percent", "missing_count",
               "missing_percent", "unexpected_percent_total", "unexpected_percent_nonmissing")


def _pii_columns(kwargs: dict) -> set[str]:
    cols = [kwargs.get(k) for k in ("column", "column_A", "column_B")]
    cols += list(kwargs.get("column_list") or [])
    return {c for c in cols if isinstance(c, str)} & PII_COLUMNS


def _scrub_pii(er: Any) -> None:
    """Keep only the counts of a result on a personal-data column (in place: the same object
    goes to ops.dq_results and, through the validation result, to the Data Docs)."""
    if not _pii_columns(er.expectation_config.kwargs or {}):
        return
    result = er.result or {}
    er.result = {k: result[k] for k in _COUNT_KEYS if k in result}


_SHOWN_VALUES = 3  # unknown enum codes named in an observed value


def _frame_values(spec: dict, success: bool, df: pd.DataFrame) -> list | None:
    """Values an observed value names, read from the batch itself: the unknown codes of a
    failed in-set check (sorted, one more than shown), the
    missing values of a distinct-values check. Never for a personal-data column."""
    kwargs = spec["kwargs"]
    column = kwargs.get("column")
    if _pii_columns(kwargs) or column not in df.columns:
        return None
    if spec["type"] == "expect_column_values_to_be_in_set" and not success:
        allowed = {str(v) for v in kwargs["value_set"]}
        unknown = {str(v)[:20] for v in df[column].dropna() if str(v) not in allowed}
        return sorted(unknown)[:_SHOWN_VALUES + 1]
    if spec["type"] == "expect_column_distinct_values_to_contain_set":
        seen = {str(v) for v in df[column].dropna().unique()}
        return [v for v in kwargs["value_set"] if str(v) not in seen]
    return None


def _observed(spec: dict, er: Any, suite: Suite, frame_row: dict, values: list | None) -> str:
    error = _exception_message(er)
    if error:
        return "error: " + error
    result = er.result or {}
    kwargs = spec["kwargs"]
    type_ = spec["type"]
    if type_ == "expect_table_columns_to_match_set":
        details = (result.get("details") or {}).get("mismatched") or {}
        missing = details.get("missing") or sorted(
            set(kwargs["column_set"]) - set(result.get("observed_value") or [])
        )
        return f"missing columns: {_short(sorted(missing), 10)}" if missing else "all present"
    if type_ == "expect_column_distinct_values_to_contain_set":
        if values is None:  # GX 1.x gives only the number of missing values
            return "all present" if er.success else f"{result.get('missing_count')} missing"
        return f"missing values: {_short(values, 10)}" if values else "all present"
    if "unexpected_count" in result:
        text = (
            f"{result.get('unexpected_count')} of {result.get('element_count')} unexpected"
            f" ({(result.get('unexpected_percent') or 0):.3g}%)"
        )
        if type_ == "expect_column_values_to_be_in_set" and not er.success and values:
            # enum codes, never personal data (_frame_values): name a few unknown values
            text += f"; unknown values {_short(values, _SHOWN_VALUES)}"
        return text
    if "observed_value" in result:
        text = _fmt(result["observed_value"])
        column = kwargs.get("column")
        extra = dict(suite.context).get(column or "")
        if extra:
            text += " (" + ", ".join(f"{c}={_fmt(frame_row.get(c))}" for c in extra) + ")"
        return text
    return ""


class _Engine:
    """One ephemeral GX context (in memory, nothing written or downloaded) per validation
    call; every batch gets its own dataframe asset."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        self.gx = gx
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            progress_bars=ProgressBarsConfig(globally=False),
            analytics_enabled=False,
        )
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.datasource = self.context.data_sources.add_pandas(_GX_DATASOURCE)
        self._count: dict[str, int] = {}

    def _definition(self, suite: Suite, indices: Sequence[int], batch_definition: Any,
                    gx_name: str) -> tuple[Any, dict[str, int]]:
        """A GX validation definition of the expectations ``indices`` of ``suite``, and the
        suite index of each GX expectation id."""
        gx = self.gx
        expectations = []
        for i in indices:
            spec = suite.expectations[i]
            e = {k: v for k, v in spec.items() if k in ("type", "kwargs", "meta", "severity",
                                                         "notes", "description")}
            # a failing check (e.g. a missing column) is a failed result, not an abort
            e["kwargs"] = {**spec["kwargs"], "catch_exceptions": True}
            expectations.append(e)
        gx_suite = self.context.suites.add(
            gx.ExpectationSuite(name=gx_name, expectations=expectations,
                                meta=dict(suite.spec.get("meta") or {}))
        )
        if len(gx_suite.expectations) != len(expectations):
            raise ValueError(f"suite {suite.name}: GX rejected an expectation (see log)")
        position = {exp.id: i for exp, i in zip(gx_suite.expectations, indices)}
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=gx_name, data=batch_definition, suite=gx_suite)
        )
        return definition, position

    def _run(self, definition: Any, position: dict[str, int], suite: Suite, df: pd.DataFrame,
             run_id: str, checked_at: datetime) -> tuple[Any, dict[int, Any]]:
        """Run a validation definition on one DataFrame: GX's result and its expectation
        results by suite index."""
        from great_expectations.core.run_identifier import RunIdentifier

        result = definition.run(
            batch_parameters={"dataframe": df},
            result_format=_RESULT_FORMAT,
            run_id=RunIdentifier(run_name=run_id, run_time=checked_at),
        )
        # GX's execution engine keeps every batch's DataFrame cached: let this one go
        batches = self.datasource.get_execution_engine().batch_manager
        batches.batch_data_cache.clear()
        batches.reset_batch_cache()
        by_index: dict[int, Any] = {}
        for er in result.results:
            i = position.get(er.expectation_config.id)
            if i is None:  # should not happen; fall back to matching by label
                label = expectation_label(er.expectation_config.type, er.expectation_config.kwargs)
                i = suite.labels().index(label)
            by_index[i] = er
        return result, by_index

    def validate(self, suite: Suite, df: pd.DataFrame, run_id: str, batch: str, table: str
                 ) -> QualityReport:
        """Validate one batch (a DataFrame) with ``suite``, one result per expectation."""
        asset_name = f"{table}@{batch}"
        self._count[asset_name] = n = self._count.get(asset_name, 0) + 1
        if n > 1:  # the same batch validated twice in one call: keep GX names unique
            asset_name += f"#{n}"
        batch_definition = self.datasource.add_dataframe_asset(
            asset_name
        ).add_batch_definition_whole_dataframe("whole")
        gx_name = f"{suite.name}@{asset_name.split('@', 1)[1]}"
        checked_at = datetime.now(timezone.utc)
        specs = suite.expectations
        definition = self._definition(suite, range(len(specs)), batch_definition, gx_name)
        result, ers = self._run(*definition, suite, df, run_id, checked_at)
        frame_row = df.iloc[0].to_dict() if len(df) == 1 else {}
        rows: list[tuple[int, QualityResult]] = []
        for i, er in sorted(ers.items()):
            spec = specs[i]
            _scrub_pii(er)
            raised = _exception_message(er) is not None
            rows.append((i, QualityResult(
                run_id=run_id,
                suite=suite.name,
                table=table,
                batch=batch,
                expectation=expectation_label(spec["type"], spec["kwargs"]),
                severity=spec["severity"],
                success=bool(er.success) and not raised,
                observed_value=_observed(spec, er, suite, frame_row,
                                         _frame_values(spec, er.success, df)),
                checked_at=checked_at,
            )))
        report = QualityReport(run_id, [r for _, r in rows])
        report.validations.append(
            _Validation(suite.spec, f"{_GX_DATASOURCE}-{asset_name}", result)
        )
        return report


def _failure(run_id: str, suite: Suite, table: str, batch: str, what: str, error: str
             ) -> QualityReport:
    """A batch that could not be read: one critical failure instead of the suite's checks."""
    return QualityReport(run_id, [QualityResult(
        run_id=run_id, suite=suite.name, table=table, batch=batch, expectation=what,
        severity=CRITICAL, success=False, observed_value=("error: " + error)[:200],
        checked_at=datetime.now(timezone.utc),
    )])


def validate_frame(
    suite: Suite | str,
    df: pd.DataFrame,
    run_id: str,
    batch: str = "all",
    table: str | None = None,
    suites: dict[str, Suite] | None = None,
) -> QualityReport:
    """Validate an in-memory DataFrame with a suite (by name or object)."""
    if isinstance(suite, str):
        suite = (suites or load_suites())[suite]
    return _Engine().validate(suite, df, run_id, batch, table or suite.table)


# --------------------------------------------------------------------------- reading


def _sql_date(day: date) -> str:
    return f"DATE '{day.isoformat()}'"


def _fill(expr: str, day: date | None = None, as_of: date | None = None, tz: str | None = None
          ) -> str:
    if day is not None:
        expr = expr.replace("{day}", _sql_date(day))
    if as_of is not None:
        expr = expr.replace("{as_of}", _sql_date(as_of))
    if tz is not None:
        ZoneInfo(tz)  # a valid zone name only
        expr = expr.replace("{tz}", tz.replace("'", "''"))
    return expr


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select(relation: str, suite: Suite, where: str = "", **params: Any) -> str:
    derived = "".join(
        f", ({_fill(expr, **params)}) AS {_q(name)}" for name, expr in suite.derived_columns
    )
    return f"SELECT *{derived} FROM {relation} {where}".strip()


def _relation_exists(con: duckdb.DuckDBPyConnection, schema: str | None, table: str) -> bool:
    if schema:
        sql = ("SELECT count(*) FROM information_schema.tables"
               " WHERE table_schema = ? AND table_name = ?")
        return bool(con.execute(sql, [schema, table]).fetchone()[0])
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = ?"
    return bool(con.execute(sql, [table]).fetchone()[0])


# --------------------------------------------------------------------------- raw


def validate_raw_day(
    settings: Settings,
    source: str,
    day: date,
    run_id: str,
    entities: Sequence[str] | None = None,
    suites: dict[str, Suite] | None = None,
) -> QualityReport:
    """Validate the rows of delivery day ``day`` (``_dt = day``) of every entity of ``source``
    (or only ``entities``) in its raw file, opened read-only, with each entity's suite."""
    suites = suites or load_suites()
    t0 = time.perf_counter()
    report = QualityReport(run_id)
    path = settings.raw_db(source)
    wanted = [e for e in C.entities_of(source) if entities is None or e.name in entities]
    if not path.exists():
        for e in wanted:
            suite = suites[raw_suite_name(source, e.name)]
            report.extend(_failure(run_id, suite, f"{source}.{e.table}", day.isoformat(),
                                   "raw database exists", f"{path} does not exist"))
        return report
    engine = _Engine()
    con = db.connect(path, read_only=True)
    try:
        for e in wanted:
            suite = suites[raw_suite_name(source, e.name)]
            table = f"{source}.{e.table}"
            if not _relation_exists(con, None, e.table):
                report.extend(_failure(run_id, suite, table, day.isoformat(), "table exists",
                                       f"no table {e.table} in {path.name}"))
                continue
            sql = _select(_q(e.table), suite, "WHERE _dt = ?", day=day, tz=settings.timezone)
            try:
                df = con.execute(sql, [day]).df()
            except duckdb.Error as exc:
                report.extend(_failure(run_id, suite, table, day.isoformat(), "batch readable",
                                       str(exc).splitlines()[0]))
                continue
            report.extend(engine.validate(suite, df, run_id, day.isoformat(), table))
    finally:
        con.close()
    log.info("raw %s %s validated in %.2fs: %s", source, day, time.perf_counter() - t0,
             report.summary())
    return report


# --------------------------------------------------------------------------- business


VOLUME_SQL = {
    "new_contacts": "SELECT CAST(created_at AS DATE) AS d, count(*) AS n"
                    " FROM staging.stg_crm__contacts GROUP BY 1",
    "orders": "SELECT CAST(created_at AS DATE) AS d, count(*) AS n FROM marts.fct_orders GROUP BY 1",
    "messages": "SELECT CAST(sent_at AS DATE) AS d, count(*) AS n"
                " FROM staging.stg_community__messages"
                " WHERE NOT coalesce(is_revoked, false) AND NOT coalesce(is_bot, false) GROUP BY 1",
}


def volume_drop_threshold() -> Fraction:
    """The drop that raises a volume warning: SIYU_VOLUME_DROP_THRESHOLD, a fraction strictly
    between 0 and 1 (``0.2``, or ``20%``), default 0.20. Exact: ``0.2`` is the decimal 1/5."""
    raw = (os.environ.get("SIYU_VOLUME_DROP_THRESHOLD") or "").strip()
    if not raw:
        return Fraction(str(VOLUME_DROP))
    try:
        value = Fraction(raw[:-1]) / 100 if raw.endswith("%") else Fraction(raw)
    except (ValueError, ZeroDivisionError):
        value = None
    if value is None or not 0 < value < 1:
        raise ValueError(f"SIYU_VOLUME_DROP_THRESHOLD must be a fraction between 0 and 1 such as"
                         f" 0.2 or 20%, not {raw!r}")
    return value


def is_volume_drop(previous: int, current: int, threshold: float | Fraction | None = None) -> bool:
    """True when ``current`` is at least ``threshold`` (default: ``volume_drop_threshold()``)
    below ``previous`` (exact arithmetic: with 0.2 a 20% drop counts, 19% does not; nothing
    to compare against when previous is 0)."""
    if previous <= 0:
        return False
    if threshold is None:
        threshold = volume_drop_threshold()
    ratio = Fraction(str(threshold))  # the decimal 0.2, not the binary float above it
    return (previous - current) * ratio.denominator >= previous * ratio.numerator


def business_warnings(db_path: Path, as_of: date) -> list[BusinessWarning]:
    """Business-side warnings of day ``as_of`` (warnings, never a failed run):

    * KPIs of ``marts.kpi_department_daily`` with status red or yellow that day (the message
      gives the unit and direction of the KPI catalog, ``siyu.kpi_catalog``);
    * day-over-day drops of 20% (SIYU_VOLUME_DROP_THRESHOLD) or more: new contacts (staging
      contacts by created_at date),
      orders (fct_orders by created_at date) and messages (staging messages by sent_at date,
      revoked and bot messages aside), ``as_of`` compared with the day before.
    """
    out: list[BusinessWarning] = []
    con = db.connect(db_path, read_only=True)
    try:
        if _relation_exists(con, "marts", "kpi_department_daily"):
            rows = con.execute(
                """SELECT department, kpi, value, target, status FROM marts.kpi_department_daily
                   WHERE date = ? AND status IN ('red', 'yellow')
                   ORDER BY status = 'red' DESC, department, kpi""",
                [as_of],
            ).fetchall()
            facts = {k.kpi: k for k in kpi_catalog.kpis()}
            for department, kpi, value, target, status in rows:
                known = facts.get(kpi)  # the unit and direction: the KPI catalog
                out.append(BusinessWarning(
                    kind="kpi_status", as_of=as_of, metric=kpi, value=value, reference=target,
                    status=status, department=department,
                    message=f"{kpi} of {department} on {as_of} is {status}:"
                            f" {_num(value)} vs target {_num(target)}"
                            + (f" ({known.unit}, {known.direction.replace('_', ' ')})"
                               if known else ""),
                ))
        previous_day = as_of - timedelta(days=1)
        threshold = volume_drop_threshold()
        for metric, sql in VOLUME_SQL.items():
            schema, table = sql.split(" FROM ")[1].split()[0].split(".")
            if not _relation_exists(con, schema, table):
                continue
            counts = dict(con.execute(
                f"SELECT d, n FROM ({sql}) WHERE d IN (?, ?)", [as_of, previous_day]
            ).fetchall())
            prev, cur = int(counts.get(previous_day, 0)), int(counts.get(as_of, 0))
            if is_volume_drop(prev, cur, threshold):
                out.append(BusinessWarning(
                    kind="volume_drop", as_of=as_of, metric=metric, value=float(cur),
                    reference=float(prev), status="drop",
                    message=f"{metric} on {as_of}: {cur} vs {prev} the day before"
                            f" ({(cur - prev) / prev:+.0%})",
                ))
    finally:
        con.close()
    return out


# --------------------------------------------------------------------------- data docs


DATA_DOCS_SITE = "siyu_quality"


def build_data_docs(out_dir: Path, reports: Iterable[QualityReport]) -> Path:
    """Render GX Data Docs (HTML) of the validations in ``reports`` into ``out_dir``.

    A file-backed GX project lives next to it (``out_dir/../gx``, created on first use) and
    keeps the validation results, so the index lists earlier runs too; only this run's
    pages and the index are (re)built, then made to work offline (``siyu.offline_docs``:
    the CDN scripts and styles, vendored at ``make setup``, copied to ``out_dir/static/vendor``).
    Returns ``out_dir/index.html``.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(out_dir.parent))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    site_config = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(out_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    for name in list(context.get_config().data_docs_sites or {}):
        context.delete_data_docs_site(name)
    context.add_data_docs_site(site_name=DATA_DOCS_SITE, site_config=site_config)

    resources: list[Any] = []
    for report in reports:
        for v in report.validations:
            suite_id = ExpectationSuiteIdentifier(name=v.result.suite_name)
            run = v.result.meta["run_id"]
            key = ValidationResultIdentifier(
                expectation_suite_identifier=suite_id, run_id=run,
                batch_identifier=v.batch_identifier,
            )
            context.validation_results_store.set(key, v.result)
            resources.append(key)
    context.build_data_docs(site_names=[DATA_DOCS_SITE], resource_identifiers=resources or None)
    index = out_dir / "index.html"
    if not index.exists():
        raise FileNotFoundError(f"GX did not write {index}")
    # GX's pages load their scripts and styles from CDNs: point them at local copies, so the
    # docs open from disk with no network (siyu.offline_docs; the copies come with `make setup`)
    from .offline_docs import OfflineDocsError, make_offline

    try:
        make_offline(out_dir)
    except OfflineDocsError as exc:  # the docs still work online; the run goes on
        log.warning("Data Docs left on the CDNs: %s", exc)
    return index
