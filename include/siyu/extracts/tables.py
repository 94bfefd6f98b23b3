"""The tables of each department extract: their presentation, and one select each.

Every number of the extracts is computed by a dbt model: each table reads its view
``reports.rpt_<audience>__<table>`` (dbt_project/models/reports, one row set per report day and,
where the table is per department, per department), documented and in dbt's lineage like the
marts. This module keeps what is presentation only: the columns and their formats, the period a
table covers, chart flags, which tables (and which KPIs) each audience gets, and the order rows
show in (the model's ``sort_key``, or the KPI catalog's order). The XLSX, CSV and HTML
renderers draw the same ``Table`` objects, so a number can differ between the three files only
if a renderer is wrong. Python only masks staff names (siyu.pii; the models already read the
masked ``name_masked`` of marts.dim_staff, the mask here is a safety net) and formats.

Parameters: ``$day`` (the report day) and ``$dept`` (the audience's department; ``all`` for the
executive summary). Values are as known to the warehouse's build (its as_of): a report for an
earlier day shows that day as the latest build sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb

from siyu import kpi_catalog
from siyu.pii import mask_name

DEPARTMENT = {"marketing": "marketing", "operations": "operations", "sales": "sales",
              "service": "service", "executive": "all"}
# kpi_department_daily KPIs each audience is measured on (the headline sheet and trends), in
# the KPI catalog's order: its `departments` column (the executive summary has every KPI)
OWN_KPIS: dict[str, tuple[str, ...]] = {
    audience: kpi_catalog.of_department(department) for audience, department in DEPARTMENT.items()
}
DEPARTMENTS = ("marketing", "operations", "sales", "service", "all")
TREND_DAYS = 30
# the source material's three-dimensional model: short, mid and long term
HEADLINE_TRENDS = ("response_rate_48h", "repurchase_rate_90d", "buyer_ltv")
MASKED_COLUMNS = ("staff_name",)  # masked with siyu.pii.mask_name before anything renders


# What a table covers, shown under its title (zh, en); {day}, {start} (first of the 30 trend
# days) and {month} are filled in for the report's day.
PERIODS: dict[str, tuple[str, str]] = {
    "day": ("当日：{day}", "The day: {day}"),
    "latest": ("每项指标的最新值（数据日期见各项）", "Each KPI's latest value (its day is shown)"),
    "last_30d": ("近30天：{start} 至 {day}", "Last 30 days: {start} to {day}"),
    "day_7d_30d": ("当日、近7天与近30天（截至 {day}）", "The day, the last 7 and 30 days (to {day})"),
    "month": ("当月：{month}（月初至 {day}）", "The month {month} (to {day})"),
    "as_of": ("截至 {day} 日末", "As of the end of {day}"),
    "leads_90d": ("近90天的线索（截至 {day}），30天内成交", "Leads of the last 90 days (to {day}), converted within 30 days"),
    "leads_90d_sales_30d": ("线索：近90天；成交：近30天（截至 {day}）", "Leads: last 90 days; purchases: last 30 days (to {day})"),
    "cohorts_6m": ("近6个月的同期群（截至 {day}）", "Cohorts of the last 6 months (to {day})"),
    "cohorts": ("全部同期群（截至 {day}）", "Every cohort (to {day})"),
    "months_6": ("近6个月（截至 {day}）", "The last 6 months (to {day})"),
    "next_90d": ("{day} 日末之后90天的预测", "Predicted for the 90 days after the end of {day}"),
}


def period_text(period: str, day: date, language: str) -> str:
    """What a table covers, in words, for the report's day."""
    zh, en = PERIODS[period]
    start = day - timedelta(days=TREND_DAYS - 1)
    return (zh if language == "zh" else en).format(
        day=day.isoformat(), start=start.isoformat(), month=day.strftime("%Y-%m"))


@dataclass(frozen=True)
class Column:
    name: str
    fmt: str = "text"  # text|label|kpi|status|int|pct|money|ratio|num|date|month|by_unit|bool
    definition: str | None = None  # key of siyu.extracts.definitions shown with the column


@dataclass(frozen=True)
class TableSpec:
    name: str  # file and i18n key
    sql: str
    columns: tuple[Column, ...]
    chart: bool = False  # a trend: first column dates, one line chart per other column
    company_wide: bool = False  # read for department 'all' whatever the audience
    period: str = "day"  # what the table covers: a key of PERIODS, shown under its title
    kpis: tuple[str, ...] = ()  # definitions this table shows (besides its columns')


@dataclass
class Table:
    spec: TableSpec
    rows: list[tuple] = field(default_factory=list)
    day: date | None = None  # the report's day

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.spec.columns


C = Column


def _select(model: str, per_department: bool = True, order_by: str = "sort_key") -> str:
    """The one select of an extract table: the rows of its rpt_ model for the report day (and
    the audience's department), without the grain and order columns, in the model's order."""
    hidden = ["report_date", "department"] if per_department else ["report_date"]
    if order_by == "sort_key":
        hidden.append("sort_key")
    where = "report_date = $day AND department = $dept" if per_department else "report_date = $day"
    return (f"SELECT * EXCLUDE ({', '.join(hidden)}) FROM reports.{model} "
            f"WHERE {where} ORDER BY {order_by}")


def _catalog_order(kpis: tuple[str, ...]) -> str:
    """ORDER BY of a table with one row per KPI: the KPI catalog's order (the seed keeps none)."""
    return f"list_position([{', '.join(repr(k) for k in kpis)}], kpi)"


def _headline(kpis: tuple[str, ...]) -> TableSpec:
    return TableSpec(
        "headline",
        # the latest value of each of the department's KPIs and the day it refers to (a rate
        # of the as-of day is often not matured yet), or why it has none
        _select("rpt_shared__headline", order_by=_catalog_order(kpis)),
        (C("kpi", "kpi"), C("value", "by_unit"), C("target", "by_unit"), C("status", "status"),
         C("unit", "label"), C("value_date", "date"), C("no_value_reason", "label"),
         C("first_value_on", "date")),
        kpis=kpis + ("status",),
        period="latest",
    )


def _kpi_trends(kpis: tuple[str, ...]) -> TableSpec:
    columns = ", ".join(["date"] + [_trend_column(k) for k in kpis])
    return TableSpec(
        "kpi_trends",
        # the model has a column per KPI of the catalog: the audience's KPIs are selected
        f"SELECT {columns} FROM reports.rpt_shared__kpi_trends "
        "WHERE report_date = $day AND department = $dept ORDER BY date",
        (C("date", "date"),) + tuple(C(_trend_column(k), _KPI_FORMAT[k], k) for k in kpis),
        chart=True,
        period="last_30d",
    )


# durations (KPI catalog unit `seconds`) show in minutes in the extracts (the marts keep
# seconds): column and scale
_TREND_SCALE = {k.kpi: " / 60" for k in kpi_catalog.kpis() if k.is_duration}


def _trend_column(kpi: str) -> str:
    return kpi.removesuffix("_seconds") + "_minutes" if kpi in _TREND_SCALE else kpi


def trend_target(kpi: str, target: float | None) -> tuple[str, float | None]:
    """The trend column of a KPI and its target in that column's unit (FRT in minutes)."""
    if kpi in _TREND_SCALE and target is not None:
        return _trend_column(kpi), target / 60
    return _trend_column(kpi), target


# The trend charts' target lines and colours: each KPI's target (in its trend column's unit)
# and status of the day, for the audience's department and `all` (the headline trends).
TARGETS_SQL = ("SELECT department, trend_column, target, status "
               "FROM reports.rpt_shared__kpi_targets "
               "WHERE report_date = $day AND department IN ($dept, 'all')")

# display format of each KPI's value (the KPI catalog's value_format) and of buyer_ltv, the
# headline trend that is not a department KPI
_KPI_FORMAT = {k.kpi: k.value_format for k in kpi_catalog.kpis()} | {"buyer_ltv": "money"}

# The source material's anchor KPIs, company-wide in every report: they are what every
# department is measured against, and a department alone may have none (marketing owns no
# inquiries or buyers); each department's own values are in its KPI trends.
HEADLINE_TREND_TABLE = TableSpec(
    "headline_trends",
    "SELECT * EXCLUDE (report_date) FROM reports.rpt_shared__headline_trends "
    "WHERE report_date = $day ORDER BY date",
    (C("date", "date"),) + tuple(C(k, _KPI_FORMAT[k], k) for k in HEADLINE_TRENDS),
    chart=True,
    company_wide=True,
    period="last_30d",
)

NEW_CONTACTS_BY_CHANNEL = TableSpec(
    "new_contacts_by_channel",
    _select("rpt_marketing__new_contacts_by_channel", per_department=False),
    (C("channel", "label"), C("new_contacts_day", "int"), C("new_contacts_7d", "int"),
     C("new_contacts_30d", "int")),
    kpis=("new_contacts",),
    period="day_7d_30d",
)

CAC_BY_CHANNEL = TableSpec(
    "cac_by_channel",
    _select("rpt_marketing__cac_by_channel", per_department=False),
    (C("channel", "label"), C("month", "month"), C("spend_cny", "money"),
     C("new_contacts", "int"), C("cac", "money", "cac")),
    period="month",
)

LTV_CAC = TableSpec(
    "ltv_cac",
    _select("rpt_marketing__ltv_cac", per_department=False),
    (C("channel", "label"), C("ltv_horizon_days", "int"), C("ltv_users", "int"),
     C("ltv", "money", "ltv"), C("cac", "money"), C("ltv_cac_ratio", "ratio", "ltv_cac"),
     C("meets_ltv_cac_bar", "bool")),
    period="as_of",
)

LEAD_QUALITY = TableSpec(
    "lead_quality",
    _select("rpt_marketing__lead_quality", per_department=False),
    (C("channel", "label"), C("leads_90d", "int"), C("matured_leads", "int"),
     C("converted_30d", "int"), C("lead_quality", "pct", "lead_quality")),
    period="leads_90d",
)

SALES_STAFF_RANKING = TableSpec(
    "staff_ranking",
    _select("rpt_sales__staff_ranking"),
    (C("rank", "int"), C("staff_id"), C("staff_name"), C("net_revenue_30d", "money"),
     C("purchases_30d", "int"), C("aov_30d", "money", "aov"), C("matured_leads", "int"),
     C("converted_30d", "int"), C("conversion", "pct", "conversion"),
     C("repurchase_rate_90d", "pct", "repurchase_rate_90d")),
    period="leads_90d_sales_30d",
)

SALES_BY_CHANNEL = TableSpec(
    "sales_by_channel",
    _select("rpt_sales__sales_by_channel", per_department=False),
    (C("channel", "label"), C("paid_orders", "int"), C("qualifying_purchases", "int"),
     C("net_revenue", "money", "net_revenue"), C("aov", "money", "aov")),
    period="last_30d",
)

REPURCHASE_BY_CHANNEL = TableSpec(
    "repurchase_by_channel",
    _select("rpt_sales__repurchase_by_channel", per_department=False),
    (C("cohort_month", "month"), C("channel", "label"), C("cohort_users", "int"),
     C("matured_users", "int"), C("repurchased_users", "int"),
     C("repurchase_rate_90d", "pct", "repurchase_rate_90d"), C("immature_users", "int")),
    period="cohorts_6m",
)

LTV_COHORTS = TableSpec(
    "ltv_cohorts",
    _select("rpt_sales__ltv_cohorts", per_department=False),
    (C("cohort_month", "month"), C("users", "int"), C("ltv_30d", "money", "ltv"),
     C("ltv_90d", "money"), C("ltv_180d", "money"), C("ltv_365d", "money")),
    period="cohorts",
)

SERVICE_STAFF = TableSpec(
    "staff_response",
    _select("rpt_service__staff_response"),
    (C("staff_id"), C("staff_name"), C("inquiries", "int"),
     C("response_rate_2h", "pct", "response_rate_2h"),
     C("response_rate_48h", "pct", "response_rate_48h"),
     C("sla_breaches", "int", "sla_breaches"), C("frt_p50_minutes", "num", "frt_p50_seconds"),
     C("frt_p90_minutes", "num", "frt_p90_seconds")),
    period="last_30d",
)

SLA_BREACHES = TableSpec(
    "sla_breaches",
    _select("rpt_service__sla_breaches"),
    (C("inquiry_id"), C("staff_id"), C("staff_name"), C("started_at", "datetime"),
     C("responded_at", "datetime"), C("frt_minutes", "num")),
    kpis=("sla_breaches",),
)

RESPONSE_BY_DEPARTMENT = TableSpec(
    "response_by_department",
    _select("rpt_service__response_by_department", per_department=False),
    (C("department", "label"), C("inquiries", "int"),
     C("response_rate_2h", "pct", "response_rate_2h"),
     C("response_rate_48h", "pct", "response_rate_48h"),
     C("frt_p50_minutes", "num", "frt_p50_seconds"),
     C("frt_p90_minutes", "num", "frt_p90_seconds")),
)

NPS_MONTHLY = TableSpec(
    "nps_monthly",
    _select("rpt_service__nps_monthly", per_department=False),
    (C("month", "month"), C("department", "label"), C("responses", "int"),
     C("promoters", "int"), C("passives", "int"), C("detractors", "int"),
     C("nps", "num", "nps")),
    period="months_6",
)

TAGS_BY_DEPARTMENT = TableSpec(
    "tags_by_department",
    _select("rpt_operations__tags_by_department", per_department=False),
    (C("department", "label"), C("active_contacts", "int"), C("complete_contacts", "int"),
     C("tag_completeness", "pct", "tag_completeness"), C("contacts_created_30d", "int"),
     C("matured_6h", "int"), C("tagged_within_6h", "int"),
     C("tagging_sla_6h_30d", "pct", "tagging_sla_6h")),
)

CONTENT_BY_CHANNEL = TableSpec(
    "content_by_channel",
    _select("rpt_operations__content_by_channel"),
    (C("channel", "label"), C("pushes", "int"), C("reached_recipients", "int"),
     C("openers", "int"), C("clickers", "int"), C("open_rate", "pct", "content_open_rate"),
     C("click_rate", "pct", "click_rate")),
    period="last_30d",
)

GROUP_SPEAKING = TableSpec(
    "group_speaking",
    _select("rpt_operations__group_speaking"),
    (C("roomid"), C("members", "int"), C("speakers", "int"),
     C("speaking_rate", "pct", "group_speaking_rate"), C("speaking_rate_30d_avg", "pct")),
)

LIFECYCLE = TableSpec(
    "lifecycle",
    _select("rpt_operations__lifecycle", per_department=False),
    (C("department", "label"), C("users", "int"), C("new", "pct", "lifecycle"),
     C("active", "pct"), C("high_value", "pct"), C("churn_risk", "pct"), C("silent", "pct")),
    period="as_of",
)

OPS_STAFF = TableSpec(
    "staff_effective",
    _select("rpt_operations__staff_effective"),
    (C("rank", "int"), C("staff_id"), C("staff_name"), C("outreaches", "int"),
     C("matured_outreaches", "int"), C("effective_outreaches", "int"),
     C("effective_rate_48h", "pct", "one_on_one_effective_rate")),
    period="last_30d",
)


# Predictive KPIs (marts.pred_customer_90d, docs/kpi-book.md#predictive-kpis): scores of the
# build's as_of; a report for another day shows none (they are not kept per day).
PRED_TOP_CUSTOMERS = TableSpec(
    "pred_top_customers",
    _select("rpt_sales__pred_top_customers"),
    (C("rank", "int"), C("user_id"), C("staff_id"), C("staff_name"),
     C("p_purchase_90d", "pct", "p_purchase_90d"), C("expected_purchases_90d", "num"),
     C("expected_net_revenue_90d", "money", "expected_net_revenue_90d"), C("ltv", "money")),
    period="next_90d",
)

# churn-risk and silent buyers (lifecycle stage of dim_users) ranked by the revenue at risk:
# the operations team's win-back list, company-wide
PRED_CHURN_RISK_VALUE = TableSpec(
    "pred_churn_risk_value",
    _select("rpt_operations__pred_churn_risk_value", per_department=False),
    (C("rank", "int"), C("user_id"), C("lifecycle_stage", "label"), C("department", "label"),
     C("p_purchase_90d", "pct", "p_purchase_90d"), C("net_revenue_last_90d", "money"),
     C("value_at_risk_90d", "money", "value_at_risk_90d"),
     C("expected_net_revenue_90d", "money", "expected_net_revenue_90d")),
    period="next_90d",
)


def _department_matrix() -> TableSpec:
    kpis = OWN_KPIS["executive"]
    columns: tuple[Column, ...] = (C("kpi", "kpi"), C("unit", "label"))
    for d in DEPARTMENTS:
        columns += (C(d, "by_unit"), C(f"{d}_status", "status"))
    return TableSpec(
        "department_matrix",
        _select("rpt_executive__department_matrix", per_department=False,
                order_by=_catalog_order(kpis)),
        columns,
        kpis=kpis,
    )


# The department's staff's open SOP tasks at the end of the day (marts.fct_activation_tasks),
# most urgent first; `siyu deliver` also writes them as one CSV per staff member (todo/).
# A task about a buyer shows the buyer's predicted chance to buy again and value at risk
# (marts.pred_customer_90d); tasks of one priority and due time go by value at risk.
TODO = TableSpec(
    "todo",
    _select("rpt_shared__todo"),
    (C("staff_id", "text"), C("staff_name", "text"), C("task_type", "label"),
     C("priority", "int"), C("reference_id", "text"), C("user_id", "text"),
     C("due_at", "datetime"), C("age_hours", "num"),
     C("p_purchase_90d", "pct", "p_purchase_90d"),
     C("value_at_risk_90d", "money", "value_at_risk_90d")),
    period="as_of",
)

TODO_SUMMARY = TableSpec(
    "todo_summary",
    _select("rpt_executive__todo_summary", per_department=False),
    (C("department", "label"), C("task_type", "label"), C("tasks", "int"),
     C("oldest_hours", "num")),
    company_wide=True,
    period="as_of",
)

_SPECIFIC: dict[str, tuple[TableSpec, ...]] = {
    "marketing": (NEW_CONTACTS_BY_CHANNEL, LEAD_QUALITY, CAC_BY_CHANNEL, LTV_CAC, TODO),
    "operations": (TAGS_BY_DEPARTMENT, CONTENT_BY_CHANNEL, GROUP_SPEAKING, LIFECYCLE, OPS_STAFF,
                   PRED_CHURN_RISK_VALUE, TODO),
    "sales": (SALES_STAFF_RANKING, SALES_BY_CHANNEL, REPURCHASE_BY_CHANNEL, LTV_COHORTS,
              PRED_TOP_CUSTOMERS, TODO),
    "service": (SERVICE_STAFF, RESPONSE_BY_DEPARTMENT, SLA_BREACHES, NPS_MONTHLY, TODO),
    "executive": (_department_matrix(), LEAD_QUALITY, LTV_CAC, LTV_COHORTS, LIFECYCLE,
                  TODO_SUMMARY),
}


def specs(audience: str) -> tuple[TableSpec, ...]:
    """The tables of an audience's extract, headline first, then trends, then details."""
    kpis = OWN_KPIS[audience]
    return (_headline(kpis), HEADLINE_TREND_TABLE, _kpi_trends(kpis)) + _SPECIFIC[audience]


def fetch(con: duckdb.DuckDBPyConnection, spec: TableSpec, day: date, dept: str) -> Table:
    """Run a table's SQL for the day and department; staff names leave masked (PIPL)."""
    dept = "all" if spec.company_wide else dept
    params = {k: v for k, v in (("day", day), ("dept", dept)) if f"${k}" in spec.sql}
    cursor = con.execute(spec.sql, params)
    names = [d[0] for d in cursor.description]
    expected = [c.name for c in spec.columns]
    if names != expected:
        raise RuntimeError(f"table {spec.name}: SQL returns {names}, the spec lists {expected}")
    rows = cursor.fetchall()
    masked = [i for i, n in enumerate(names) if n in MASKED_COLUMNS]
    if masked:
        rows = [tuple(mask_name(v) if i in masked else v for i, v in enumerate(row))
                for row in rows]
    return Table(spec, rows, day)
