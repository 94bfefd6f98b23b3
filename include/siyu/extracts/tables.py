"""The tables of each department extract: one place for their SQL and column formats.

The XLSX, CSV and HTML renderers draw the same ``Table`` objects, so a number can differ
between the three files only if a renderer is wrong. All computation is SQL inside DuckDB over
the published marts; Python only masks staff names (siyu.pii) and formats.

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


def _headline(kpis: tuple[str, ...]) -> TableSpec:
    listed = ", ".join(f"'{k}'" for k in kpis)
    return TableSpec(
        "headline",
        # the latest value of each KPI and the day it refers to (a rate of the as-of day is
        # often not matured yet), or why it has none: marts.kpi_department_latest. Durations
        # show in minutes, as in every table of the extracts (the mart keeps seconds).
        f"""
        SELECT kpi,
               CASE WHEN unit = 'seconds' THEN value / 60 ELSE value END AS value,
               CASE WHEN unit = 'seconds' THEN target / 60 ELSE target END AS target,
               status,
               CASE WHEN unit = 'seconds' THEN 'minutes' ELSE unit END AS unit,
               value_date, no_value_reason, first_value_on
        FROM marts.kpi_department_latest
        WHERE as_of = $day AND department = $dept AND kpi IN ({listed})
        ORDER BY list_position([{listed}], kpi)
        """,
        (C("kpi", "kpi"), C("value", "by_unit"), C("target", "by_unit"), C("status", "status"),
         C("unit", "label"), C("value_date", "date"), C("no_value_reason", "label"),
         C("first_value_on", "date")),
        kpis=kpis + ("status",),
        period="latest",
    )


def _kpi_trends(kpis: tuple[str, ...]) -> TableSpec:
    pivots = ",\n".join(
        f"max(k.value{_TREND_SCALE.get(k, '')}) FILTER (WHERE k.kpi = '{k}') AS {_trend_column(k)}"
        for k in kpis)
    return TableSpec(
        "kpi_trends",
        f"""
        SELECT d.date_day AS date, {pivots}
        FROM marts.dim_dates d
        LEFT JOIN marts.kpi_department_daily k
          ON k.date = d.date_day AND k.department = $dept
        WHERE d.date_day > $day - {TREND_DAYS} AND d.date_day <= $day
        GROUP BY d.date_day ORDER BY d.date_day
        """,
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


# display format of each KPI's value (the KPI catalog's value_format) and of buyer_ltv, the
# headline trend that is not a department KPI
_KPI_FORMAT = {k.kpi: k.value_format for k in kpi_catalog.kpis()} | {"buyer_ltv": "money"}

# The source material's anchor KPIs, company-wide in every report: they are what every
# department is measured against, and a department alone may have none (marketing owns no
# inquiries or buyers); each department's own values are in its KPI trends.
HEADLINE_TREND_TABLE = TableSpec(
    "headline_trends",
    f"""
    WITH days AS (
        SELECT date_day AS date FROM marts.dim_dates
        WHERE date_day > $day - {TREND_DAYS} AND date_day <= $day
    ),
    kpis AS (
        SELECT date,
               max(value) FILTER (WHERE kpi = 'response_rate_48h') AS response_rate_48h,
               max(value) FILTER (WHERE kpi = 'repurchase_rate_90d') AS repurchase_rate_90d
        FROM marts.kpi_department_daily
        WHERE department = 'all' AND date > $day - {TREND_DAYS} AND date <= $day
        GROUP BY date
    ),
    revenue AS (  -- net revenue of paid orders per day, summed up to each day below
        SELECT order_date AS date, sum(net_revenue) AS net_revenue
        FROM marts.fct_orders WHERE is_paid AND order_date <= $day GROUP BY 1
    ),
    buyers AS (
        SELECT CAST(first_purchase_at AS DATE) AS date, count(*) AS buyers
        FROM marts.dim_users WHERE CAST(first_purchase_at AS DATE) <= $day GROUP BY 1
    )
    SELECT d.date, k.response_rate_48h, k.repurchase_rate_90d,
           CAST((SELECT sum(net_revenue) FROM revenue r WHERE r.date <= d.date)
                / nullif((SELECT sum(buyers) FROM buyers b WHERE b.date <= d.date), 0)
                AS DECIMAL(18, 2)) AS buyer_ltv
    FROM days d LEFT JOIN kpis k USING (date)
    ORDER BY d.date
    """,
    (C("date", "date"),) + tuple(C(k, _KPI_FORMAT[k], k) for k in HEADLINE_TRENDS),
    chart=True,
    company_wide=True,
    period="last_30d",
)

# Staff: current version of each staff member; the name is masked before rendering.
_STAFF = """
    staff AS (  -- the BI view: current version per staff member, name already masked
        SELECT staff_id, name_masked AS staff_name, department FROM marts.dim_staff
    )"""

# New users ("leads") of the 90 days up to the day, matured when first seen 30 days before its
# end; converted when the first qualifying purchase came within 30 days of first seen.
_LEADS = """
    leads AS (
        SELECT u.source_channel AS channel, u.owner_staff_id,
               u.first_seen_at + INTERVAL 30 DAY <= CAST($day + 1 AS TIMESTAMP) AS matured,
               coalesce(u.first_purchase_at <= u.first_seen_at + INTERVAL 30 DAY, false)
                   AS converted
        FROM marts.dim_users u
        -- a lead is a person the CRM holds a contact for: a buyer first seen by a purchase
        -- (no contact, channel 'unknown') was never a lead and would convert by construction
        WHERE u.primary_contact_id IS NOT NULL
          AND u.first_seen_at > CAST($day + 1 AS TIMESTAMP) - INTERVAL 90 DAY
          AND u.first_seen_at < CAST($day + 1 AS TIMESTAMP)
    )"""

NEW_CONTACTS_BY_CHANNEL = TableSpec(
    "new_contacts_by_channel",
    f"""
    SELECT source_channel AS channel,
           sum(new_contacts) FILTER (WHERE date = $day) AS new_contacts_day,
           sum(new_contacts) FILTER (WHERE date > $day - 7) AS new_contacts_7d,
           sum(new_contacts) AS new_contacts_30d
    FROM marts.kpi_new_contacts_daily
    WHERE department = 'all' AND date > $day - {TREND_DAYS} AND date <= $day
    GROUP BY source_channel
    ORDER BY source_channel = 'all', new_contacts_30d DESC, channel
    """,
    (C("channel", "label"), C("new_contacts_day", "int"), C("new_contacts_7d", "int"),
     C("new_contacts_30d", "int")),
    kpis=("new_contacts",),
    period="day_7d_30d",
)

CAC_BY_CHANNEL = TableSpec(
    "cac_by_channel",
    """
    SELECT channel, month, spend_cny, new_contacts, cac
    FROM marts.kpi_cac_monthly
    WHERE month = date_trunc('month', $day)
    ORDER BY channel = 'all', cac DESC NULLS LAST, channel
    """,
    (C("channel", "label"), C("month", "month"), C("spend_cny", "money"),
     C("new_contacts", "int"), C("cac", "money", "cac")),
    period="month",
)

LTV_CAC = TableSpec(
    "ltv_cac",
    """
    SELECT channel, ltv_horizon_days, ltv_users, ltv, cac, ltv_cac_ratio, meets_ltv_cac_bar
    FROM marts.kpi_ltv_cac
    ORDER BY channel = 'all', ltv_cac_ratio DESC NULLS LAST, channel
    """,
    (C("channel", "label"), C("ltv_horizon_days", "int"), C("ltv_users", "int"),
     C("ltv", "money", "ltv"), C("cac", "money"), C("ltv_cac_ratio", "ratio", "ltv_cac"),
     C("meets_ltv_cac_bar", "bool")),
    period="as_of",
)

LEAD_QUALITY = TableSpec(
    "lead_quality",
    f"""
    WITH {_LEADS}
    SELECT coalesce(channel, 'all') AS channel, count(*) AS leads_90d,
           count(*) FILTER (WHERE matured) AS matured_leads,
           count(*) FILTER (WHERE matured AND converted) AS converted_30d,
           converted_30d / nullif(matured_leads, 0) AS lead_quality
    FROM leads
    GROUP BY GROUPING SETS ((channel), ())
    ORDER BY channel IS NULL, lead_quality DESC NULLS LAST, channel
    """,
    (C("channel", "label"), C("leads_90d", "int"), C("matured_leads", "int"),
     C("converted_30d", "int"), C("lead_quality", "pct", "lead_quality")),
    period="leads_90d",
)

SALES_STAFF_RANKING = TableSpec(
    "staff_ranking",
    f"""
    WITH {_STAFF}, {_LEADS},
    conversion AS (
        SELECT owner_staff_id AS staff_id, count(*) FILTER (WHERE matured) AS matured_leads,
               count(*) FILTER (WHERE matured AND converted) AS converted_30d
        FROM leads GROUP BY 1
    ),
    revenue AS (
        SELECT u.owner_staff_id AS staff_id, sum(o.net_revenue) AS net_revenue_30d,
               count(*) FILTER (WHERE o.is_qualifying) AS purchases_30d
        FROM marts.fct_orders o JOIN marts.dim_users u USING (user_id)
        WHERE o.is_paid AND o.order_date > $day - {TREND_DAYS} AND o.order_date <= $day
        GROUP BY 1
    ),
    repurchase AS (  -- the latest cohort month fully matured by the end of the day
        SELECT owner_staff_id AS staff_id,
               arg_max(repurchase_rate_90d, cohort_month) AS repurchase_rate_90d
        FROM marts.kpi_repurchase_90d_by_owner
        WHERE cohort_month + INTERVAL 1 MONTH + INTERVAL 90 DAY <= CAST($day + 1 AS TIMESTAMP)
        GROUP BY 1
    )
    SELECT rank() OVER (ORDER BY coalesce(r.net_revenue_30d, 0) DESC) AS rank,
           s.staff_id, s.staff_name, coalesce(r.net_revenue_30d, 0) AS net_revenue_30d,
           coalesce(r.purchases_30d, 0) AS purchases_30d,
           CAST(r.net_revenue_30d / nullif(r.purchases_30d, 0) AS DECIMAL(18, 2)) AS aov_30d,
           c.matured_leads, c.converted_30d,
           c.converted_30d / nullif(c.matured_leads, 0) AS conversion,
           p.repurchase_rate_90d
    FROM staff s
    LEFT JOIN revenue r USING (staff_id)
    LEFT JOIN conversion c USING (staff_id)
    LEFT JOIN repurchase p USING (staff_id)
    WHERE s.department = $dept
    ORDER BY rank, s.staff_id
    """,
    (C("rank", "int"), C("staff_id"), C("staff_name"), C("net_revenue_30d", "money"),
     C("purchases_30d", "int"), C("aov_30d", "money", "aov"), C("matured_leads", "int"),
     C("converted_30d", "int"), C("conversion", "pct", "conversion"),
     C("repurchase_rate_90d", "pct", "repurchase_rate_90d")),
    period="leads_90d_sales_30d",
)

SALES_BY_CHANNEL = TableSpec(
    "sales_by_channel",
    f"""
    SELECT coalesce(channel, 'all') AS channel, count(*) AS paid_orders,
           count(*) FILTER (WHERE is_qualifying) AS qualifying_purchases,
           sum(net_revenue) AS net_revenue,
           CAST(sum(net_revenue) / nullif(qualifying_purchases, 0) AS DECIMAL(18, 2)) AS aov
    FROM marts.fct_orders
    WHERE is_paid AND order_date > $day - {TREND_DAYS} AND order_date <= $day
    GROUP BY GROUPING SETS ((channel), ())
    ORDER BY channel IS NULL, net_revenue DESC
    """,
    (C("channel", "label"), C("paid_orders", "int"), C("qualifying_purchases", "int"),
     C("net_revenue", "money", "net_revenue"), C("aov", "money", "aov")),
    period="last_30d",
)

REPURCHASE_BY_CHANNEL = TableSpec(
    "repurchase_by_channel",
    """
    SELECT cohort_month, channel, cohort_users, matured_users, repurchased_users,
           repurchase_rate_90d, immature_users
    FROM marts.kpi_repurchase_90d
    WHERE cohort_month <= $day AND cohort_month > $day - INTERVAL 6 MONTH
    ORDER BY cohort_month DESC, channel = 'all' DESC, channel
    """,
    (C("cohort_month", "month"), C("channel", "label"), C("cohort_users", "int"),
     C("matured_users", "int"), C("repurchased_users", "int"),
     C("repurchase_rate_90d", "pct", "repurchase_rate_90d"), C("immature_users", "int")),
    period="cohorts_6m",
)

LTV_COHORTS = TableSpec(
    "ltv_cohorts",
    """
    SELECT cohort_month, max(users) AS users,
           max(avg_ltv) FILTER (WHERE horizon_days = 30) AS ltv_30d,
           max(avg_ltv) FILTER (WHERE horizon_days = 90) AS ltv_90d,
           max(avg_ltv) FILTER (WHERE horizon_days = 180) AS ltv_180d,
           max(avg_ltv) FILTER (WHERE horizon_days = 365) AS ltv_365d
    FROM marts.kpi_ltv_cohorts
    WHERE channel = 'all' AND cohort_month <= $day
    GROUP BY cohort_month ORDER BY cohort_month DESC
    """,
    (C("cohort_month", "month"), C("users", "int"), C("ltv_30d", "money", "ltv"),
     C("ltv_90d", "money"), C("ltv_180d", "money"), C("ltv_365d", "money")),
    period="cohorts",
)

SERVICE_STAFF = TableSpec(
    "staff_response",
    f"""
    WITH {_STAFF},
    rates AS (
        SELECT staff_id, sum(inquiries) AS inquiries, sum(matured_2h) AS matured_2h,
               sum(answered_2h) AS answered_2h, sum(matured_48h) AS matured_48h,
               sum(answered_48h) AS answered_48h
        FROM marts.kpi_response_daily
        WHERE date > $day - {TREND_DAYS} AND date <= $day GROUP BY 1
    ),
    frt AS (
        SELECT staff_id, quantile_cont(frt_seconds, 0.5) / 60 AS frt_p50_minutes,
               quantile_cont(frt_seconds, 0.9) / 60 AS frt_p90_minutes
        FROM marts.fct_inquiries
        WHERE responded_at IS NOT NULL
          AND started_date > $day - {TREND_DAYS} AND started_date <= $day
        GROUP BY 1
    )
    SELECT s.staff_id, s.staff_name, coalesce(r.inquiries, 0) AS inquiries,
           r.answered_2h / nullif(r.matured_2h, 0) AS response_rate_2h,
           r.answered_48h / nullif(r.matured_48h, 0) AS response_rate_48h,
           r.matured_2h - r.answered_2h AS sla_breaches,
           f.frt_p50_minutes, f.frt_p90_minutes
    FROM staff s LEFT JOIN rates r USING (staff_id) LEFT JOIN frt f USING (staff_id)
    WHERE s.department = $dept
    ORDER BY response_rate_2h DESC NULLS LAST, s.staff_id
    """,
    (C("staff_id"), C("staff_name"), C("inquiries", "int"),
     C("response_rate_2h", "pct", "response_rate_2h"),
     C("response_rate_48h", "pct", "response_rate_48h"),
     C("sla_breaches", "int", "sla_breaches"), C("frt_p50_minutes", "num", "frt_p50_seconds"),
     C("frt_p90_minutes", "num", "frt_p90_seconds")),
    period="last_30d",
)

SLA_BREACHES = TableSpec(
    "sla_breaches",
    f"""
    WITH {_STAFF}
    SELECT i.inquiry_id, i.staff_id, s.staff_name, i.started_at, i.responded_at,
           i.frt_seconds / 60 AS frt_minutes
    FROM marts.fct_inquiries i LEFT JOIN staff s USING (staff_id)
    WHERE i.started_date = $day AND i.is_matured_2h AND NOT i.is_answered_2h
      AND ($dept = 'all' OR i.department = $dept)
    ORDER BY i.started_at, i.inquiry_id
    """,
    (C("inquiry_id"), C("staff_id"), C("staff_name"), C("started_at", "datetime"),
     C("responded_at", "datetime"), C("frt_minutes", "num")),
    kpis=("sla_breaches",),
)

RESPONSE_BY_DEPARTMENT = TableSpec(
    "response_by_department",
    """
    SELECT department, inquiries, response_rate_2h, response_rate_48h,
           frt_p50_seconds / 60 AS frt_p50_minutes, frt_p90_seconds / 60 AS frt_p90_minutes
    FROM marts.kpi_response_department_daily
    WHERE date = $day
    ORDER BY department = 'all', department
    """,
    (C("department", "label"), C("inquiries", "int"),
     C("response_rate_2h", "pct", "response_rate_2h"),
     C("response_rate_48h", "pct", "response_rate_48h"),
     C("frt_p50_minutes", "num", "frt_p50_seconds"),
     C("frt_p90_minutes", "num", "frt_p90_seconds")),
)

NPS_MONTHLY = TableSpec(
    "nps_monthly",
    """
    SELECT month, department, responses, promoters, passives, detractors, nps
    FROM marts.kpi_nps_monthly
    WHERE month <= $day AND month > $day - INTERVAL 6 MONTH
    ORDER BY month DESC, department = 'all' DESC, department
    """,
    (C("month", "month"), C("department", "label"), C("responses", "int"),
     C("promoters", "int"), C("passives", "int"), C("detractors", "int"),
     C("nps", "num", "nps")),
    period="months_6",
)

TAGS_BY_DEPARTMENT = TableSpec(
    "tags_by_department",
    f"""
    WITH sla AS (
        SELECT department, sum(contacts_created) AS contacts_created_30d,
               sum(matured_6h) AS matured_6h, sum(tagged_within_6h) AS tagged_within_6h
        FROM marts.kpi_tagging_sla_daily
        WHERE date > $day - {TREND_DAYS} AND date <= $day GROUP BY 1
    )
    SELECT t.department, t.active_contacts, t.complete_contacts, t.tag_completeness,
           s.contacts_created_30d, s.matured_6h, s.tagged_within_6h,
           s.tagged_within_6h / nullif(s.matured_6h, 0) AS tagging_sla_6h_30d
    FROM marts.kpi_tag_completeness_daily t LEFT JOIN sla s USING (department)
    WHERE t.date = $day
    ORDER BY t.department = 'all', t.department
    """,
    (C("department", "label"), C("active_contacts", "int"), C("complete_contacts", "int"),
     C("tag_completeness", "pct", "tag_completeness"), C("contacts_created_30d", "int"),
     C("matured_6h", "int"), C("tagged_within_6h", "int"),
     C("tagging_sla_6h_30d", "pct", "tagging_sla_6h")),
)

CONTENT_BY_CHANNEL = TableSpec(
    "content_by_channel",
    f"""
    SELECT channel, sum(pushes) AS pushes, sum(reached_recipients) AS reached_recipients,
           sum(openers) AS openers, sum(clickers) AS clickers,
           sum(openers) / nullif(sum(reached_recipients), 0) AS open_rate,
           sum(clickers) / nullif(sum(reached_recipients), 0) AS click_rate
    FROM marts.kpi_content_daily
    WHERE department = $dept AND date > $day - {TREND_DAYS} AND date <= $day
    GROUP BY channel ORDER BY channel = 'all', channel
    """,
    (C("channel", "label"), C("pushes", "int"), C("reached_recipients", "int"),
     C("openers", "int"), C("clickers", "int"), C("open_rate", "pct", "content_open_rate"),
     C("click_rate", "pct", "click_rate")),
    period="last_30d",
)

GROUP_SPEAKING = TableSpec(
    "group_speaking",
    f"""
    SELECT roomid, members, speakers, speaking_rate,
           (SELECT avg(g30.speaking_rate) FROM marts.kpi_group_speaking_daily g30
            WHERE g30.roomid = g.roomid AND g30.date > $day - {TREND_DAYS}
              AND g30.date <= $day) AS speaking_rate_30d_avg
    FROM marts.kpi_group_speaking_daily g
    WHERE date = $day AND (department = $dept OR $dept = 'all')
    ORDER BY speaking_rate DESC NULLS LAST, roomid
    """,
    (C("roomid"), C("members", "int"), C("speakers", "int"),
     C("speaking_rate", "pct", "group_speaking_rate"), C("speaking_rate_30d_avg", "pct")),
)

LIFECYCLE = TableSpec(
    "lifecycle",
    """
    SELECT department, sum(users) AS users,
           sum(share_of_users) FILTER (WHERE lifecycle_stage = 'new') AS new,
           sum(share_of_users) FILTER (WHERE lifecycle_stage = 'active') AS active,
           sum(share_of_users) FILTER (WHERE lifecycle_stage = 'high_value') AS high_value,
           sum(share_of_users) FILTER (WHERE lifecycle_stage = 'churn_risk') AS churn_risk,
           sum(share_of_users) FILTER (WHERE lifecycle_stage = 'silent') AS silent
    FROM marts.kpi_lifecycle_daily
    WHERE date = $day
    GROUP BY department ORDER BY department = 'all', department
    """,
    (C("department", "label"), C("users", "int"), C("new", "pct", "lifecycle"),
     C("active", "pct"), C("high_value", "pct"), C("churn_risk", "pct"), C("silent", "pct")),
    period="as_of",
)

OPS_STAFF = TableSpec(
    "staff_effective",
    f"""
    WITH {_STAFF},
    e AS (
        SELECT staff_id, sum(outreaches) AS outreaches,
               sum(matured_outreaches) AS matured_outreaches,
               sum(effective_outreaches) AS effective_outreaches
        FROM marts.kpi_one_on_one_effective_daily
        WHERE date > $day - {TREND_DAYS} AND date <= $day GROUP BY 1
    )
    SELECT rank() OVER (ORDER BY e.effective_outreaches / nullif(e.matured_outreaches, 0)
                        DESC NULLS LAST) AS rank,
           s.staff_id, s.staff_name, coalesce(e.outreaches, 0) AS outreaches,
           e.matured_outreaches, e.effective_outreaches,
           e.effective_outreaches / nullif(e.matured_outreaches, 0) AS effective_rate_48h
    FROM staff s LEFT JOIN e USING (staff_id)
    WHERE s.department = $dept
    ORDER BY rank, s.staff_id
    """,
    (C("rank", "int"), C("staff_id"), C("staff_name"), C("outreaches", "int"),
     C("matured_outreaches", "int"), C("effective_outreaches", "int"),
     C("effective_rate_48h", "pct", "one_on_one_effective_rate")),
    period="last_30d",
)


# Predictive KPIs (marts.pred_customer_90d, docs/kpi-book.md#predictive-kpis): scores of the
# build's as_of; a report for another day shows none (they are not kept per day).
PRED_TOP_CUSTOMERS = TableSpec(
    "pred_top_customers",
    f"""
    WITH {_STAFF}
    SELECT rank() OVER (ORDER BY p.expected_net_revenue_90d DESC, p.user_id) AS rank,
           p.user_id, u.owner_staff_id AS staff_id, s.staff_name,
           p.p_purchase_90d, p.expected_purchases_90d, p.expected_net_revenue_90d, u.ltv
    FROM marts.pred_customer_90d p
    JOIN marts.dim_users u USING (user_id)
    LEFT JOIN staff s ON s.staff_id = u.owner_staff_id
    WHERE p.as_of = $day AND ($dept = 'all' OR p.department = $dept)
    ORDER BY rank
    LIMIT 50
    """,
    (C("rank", "int"), C("user_id"), C("staff_id"), C("staff_name"),
     C("p_purchase_90d", "pct", "p_purchase_90d"), C("expected_purchases_90d", "num"),
     C("expected_net_revenue_90d", "money", "expected_net_revenue_90d"), C("ltv", "money")),
    period="next_90d",
)

# churn-risk and silent buyers (lifecycle stage of dim_users) ranked by the revenue at risk:
# the operations team's win-back list, company-wide
PRED_CHURN_RISK_VALUE = TableSpec(
    "pred_churn_risk_value",
    """
    SELECT rank() OVER (ORDER BY p.value_at_risk_90d DESC, p.user_id) AS rank,
           p.user_id, u.lifecycle_stage, p.department, p.p_purchase_90d,
           p.net_revenue_last_90d, p.value_at_risk_90d, p.expected_net_revenue_90d
    FROM marts.pred_customer_90d p
    JOIN marts.dim_users u USING (user_id)
    WHERE p.as_of = $day AND u.lifecycle_stage IN ('churn_risk', 'silent')
      AND p.value_at_risk_90d > 0
    ORDER BY rank
    LIMIT 50
    """,
    (C("rank", "int"), C("user_id"), C("lifecycle_stage", "label"), C("department", "label"),
     C("p_purchase_90d", "pct", "p_purchase_90d"), C("net_revenue_last_90d", "money"),
     C("value_at_risk_90d", "money", "value_at_risk_90d"),
     C("expected_net_revenue_90d", "money", "expected_net_revenue_90d")),
    period="next_90d",
)


def _department_matrix() -> TableSpec:
    kpis = OWN_KPIS["executive"]
    listed = ", ".join(f"'{k}'" for k in kpis)
    cols = ",\n".join(
        f"max(value) FILTER (WHERE department = '{d}') AS {d}, "
        f"max(status) FILTER (WHERE department = '{d}') AS {d}_status"
        for d in DEPARTMENTS)
    columns: tuple[Column, ...] = (C("kpi", "kpi"), C("unit", "label"))
    for d in DEPARTMENTS:
        columns += (C(d, "by_unit"), C(f"{d}_status", "status"))
    return TableSpec(
        "department_matrix",
        f"""
        SELECT kpi, any_value(unit) AS unit, {cols}
        FROM marts.kpi_department_daily
        WHERE date = $day AND kpi IN ({listed})
        GROUP BY kpi ORDER BY list_position([{listed}], kpi)
        """,
        columns,
        kpis=kpis,
    )


# The department's staff's open SOP tasks at the end of the day (marts.fct_activation_tasks),
# most urgent first; `siyu deliver` also writes them as one CSV per staff member (todo/).
# A task about a buyer shows the buyer's predicted chance to buy again and value at risk
# (marts.pred_customer_90d); tasks of one priority and due time go by value at risk.
TODO = TableSpec(
    "todo",
    """
    SELECT t.staff_id, s.name_masked AS staff_name, t.task_type, t.priority, t.reference_id,
           t.user_id, t.due_at, t.age_hours, p.p_purchase_90d, p.value_at_risk_90d
    FROM marts.fct_activation_tasks t
    LEFT JOIN marts.dim_staff s USING (staff_id)
    LEFT JOIN marts.pred_customer_90d p ON p.user_id = t.user_id AND p.as_of = t.as_of
    WHERE t.as_of = $day AND t.department = $dept
    ORDER BY t.priority, t.due_at, p.value_at_risk_90d DESC NULLS LAST, t.reference_id
    """,
    (C("staff_id", "text"), C("staff_name", "text"), C("task_type", "label"),
     C("priority", "int"), C("reference_id", "text"), C("user_id", "text"),
     C("due_at", "datetime"), C("age_hours", "num"),
     C("p_purchase_90d", "pct", "p_purchase_90d"),
     C("value_at_risk_90d", "money", "value_at_risk_90d")),
    period="as_of",
)

TODO_SUMMARY = TableSpec(
    "todo_summary",
    """
    SELECT department, task_type, count(*) AS tasks, max(age_hours) AS oldest_hours
    FROM marts.fct_activation_tasks
    WHERE as_of = $day
    GROUP BY department, task_type
    ORDER BY department, min(priority), task_type
    """,
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
