"""Weekly and monthly department reports (issue 15, item 8) from ``marts.kpi_department_period``.

    build_period_extracts(warehouse, period, outbox, day=None, audiences=AUDIENCES,
                          language="zh", progress=None) -> list[Extract]

writes ``outbox/<period>-<period_start>/<audience>/`` (e.g. ``outbox/week-2025-10-27/sales/``):
the same three files as the daily extract (XLSX, CSVs, self-contained HTML report) with

* ``period_headline``: the audience's KPIs over the period (``executive``: the company's) with
  target, status, the previous period, the same period last year and the changes;
* ``period_trends``: the last 13 weeks / months of those KPIs (charts);
* ``period_departments`` (executive only): every KPI of the period per department.

Every number is read from the mart (one home for every number): Python picks the period,
selects and formats. The period is the last complete ISO week / calendar month as of the
warehouse's as-of day, or, when ``day`` is given, the period that contains it (then possibly
the current, partial one: the report says so).
"""

from __future__ import annotations

import shutil
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from .. import db
from .build import _definitions, write_csvs
from .definitions import DEFINITIONS
from .formats import STATUS_COLOURS, display, resolve
from .html import _definition_note, _pill, _render, write_report
from .i18n import LABELS, t
from .model import AUDIENCES, LANGUAGES, Extract
from .tables import (
    _KPI_FORMAT,
    _TREND_SCALE,
    DEPARTMENT,
    DEPARTMENTS,
    OWN_KPIS,
    Column,
    Table,
    TableSpec,
    fetch,
    trend_target,
)
from .xlsx import write_workbook

PERIOD_TYPES = ("week", "month")
TREND_PERIODS = 13  # a quarter of weeks, a year and a month of months

# Labels of the period reports (zh, en), kept with the code that uses them.
LABELS.update({
    "report_week": ("私域周报", "Private-domain weekly report"),
    "report_month": ("私域月报", "Private-domain monthly report"),
    "period_headline": ("本期核心指标", "KPIs of the period"),
    "period_trends": ("近13期趋势", "Last 13 periods"),
    "period_departments": ("各部门本期指标", "KPIs by department"),
    "period_start": ("期初", "Period start"),
    "previous_value": ("上期", "Previous period"),
    "change_vs_previous": ("较上期", "Change vs previous"),
    "change_vs_previous_ratio": ("较上期变化率", "Change vs previous (%)"),
    "previous_year_value": ("去年同期", "Same period last year"),
    "change_vs_previous_year": ("较去年同期", "Change vs last year"),
    "change_vs_previous_year_ratio": ("较去年同期变化率", "Change vs last year (%)"),
    "is_complete": ("本期已结束", "Period complete"),
    "days_covered": ("覆盖天数", "Days covered"),
    "contacts": ("人", "contacts"),
    "vs_previous_week": ("较上周", "vs previous week"),
    "vs_previous_month": ("较上月", "vs previous month"),
    "vs_last_year": ("较去年同期", "vs same period last year"),
    "partial_period": ("本期未结束：数据截至 {day}", "Period not over: data to {day}"),
    "week_title": ("{year} 年第 {week} 周（{start} 至 {end}）", "ISO week {year}-W{week} ({start} to {end})"),
    "month_title": ("{month}（{start} 至 {end}）", "{month} ({start} to {end})"),
})

def headline_spec(period: str, kpis: tuple[str, ...]) -> TableSpec:
    listed = ", ".join(f"'{k}'" for k in kpis)

    def minutes(c: str) -> str:
        return f"CASE WHEN unit = 'seconds' THEN {c} / 60 ELSE {c} END AS {c}"

    return TableSpec(
        "period_headline",
        f"""
        SELECT kpi, {minutes('value')}, {minutes('target')}, status,
               CASE WHEN unit = 'seconds' THEN 'minutes' ELSE unit END AS unit,
               {minutes('previous_value')}, {minutes('change_vs_previous')},
               change_vs_previous_ratio,
               {minutes('previous_year_value')}, {minutes('change_vs_previous_year')},
               change_vs_previous_year_ratio,
               is_complete, days_covered
        FROM marts.kpi_department_period
        WHERE period_type = '{period}' AND period_start = $day AND department = $dept
          AND kpi IN ({listed})
        ORDER BY list_position([{listed}], kpi)
        """,
        (Column("kpi", "kpi"), Column("value", "by_unit"), Column("target", "by_unit"),
         Column("status", "status"), Column("unit", "label"),
         Column("previous_value", "by_unit"), Column("change_vs_previous", "by_unit"),
         Column("change_vs_previous_ratio", "pct"), Column("previous_year_value", "by_unit"),
         Column("change_vs_previous_year", "by_unit"),
         Column("change_vs_previous_year_ratio", "pct"), Column("is_complete", "bool"),
         Column("days_covered", "int")),
        kpis=kpis + ("status",),
    )


def trends_spec(period: str, kpis: tuple[str, ...]) -> TableSpec:
    pivots = ",\n".join(
        f"max(value{_TREND_SCALE.get(k, '')}) FILTER (WHERE kpi = '{k}') "
        f"AS {trend_target(k, None)[0]}" for k in kpis)
    return TableSpec(
        "period_trends",
        f"""
        SELECT period_start, {pivots}
        FROM marts.kpi_department_period
        WHERE period_type = '{period}' AND department = $dept AND period_start <= $day
          AND period_start > $day - INTERVAL {TREND_PERIODS * (7 if period == 'week' else 1)}
              {'DAY' if period == 'week' else 'MONTH'}
        GROUP BY period_start ORDER BY period_start
        """,
        (Column("period_start", "date"),)
        + tuple(Column(trend_target(k, None)[0], _KPI_FORMAT[k], k) for k in kpis),
        chart=True,
    )


def departments_spec(period: str) -> TableSpec:
    kpis = OWN_KPIS["executive"]
    listed = ", ".join(f"'{k}'" for k in kpis)
    cols = ",\n".join(
        f"max(CASE WHEN unit = 'seconds' THEN value / 60 ELSE value END) "
        f"FILTER (WHERE department = '{d}') AS {d}, "
        f"max(status) FILTER (WHERE department = '{d}') AS {d}_status"
        for d in DEPARTMENTS)
    columns: tuple[Column, ...] = (Column("kpi", "kpi"), Column("unit", "label"))
    for d in DEPARTMENTS:
        columns += (Column(d, "by_unit"), Column(f"{d}_status", "status"))
    return TableSpec(
        "period_departments",
        f"""
        SELECT kpi, any_value(CASE WHEN unit = 'seconds' THEN 'minutes' ELSE unit END) AS unit,
               {cols}
        FROM marts.kpi_department_period
        WHERE period_type = '{period}' AND period_start = $day AND kpi IN ({listed})
        GROUP BY kpi ORDER BY list_position([{listed}], kpi)
        """,
        columns,
        kpis=kpis,
    )


def specs(period: str, audience: str) -> tuple[TableSpec, ...]:
    kpis = OWN_KPIS[audience]
    extra = (departments_spec(period),) if audience == "executive" else ()
    return (headline_spec(period, kpis), trends_spec(period, kpis)) + extra


def period_bounds(period: str, day: date) -> tuple[date, date]:
    """The ISO week (Monday to Sunday) or calendar month that contains ``day``."""
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following - timedelta(days=1)


def resolve_period(con: duckdb.DuckDBPyConnection, period: str,
                   day: date | None = None) -> tuple[date, date, date]:
    """(period_start, period_end, as_of): the period containing ``day``, or the last complete
    one as of the warehouse's as-of day. ValueError when the warehouse has no such period."""
    if period not in PERIOD_TYPES:
        raise ValueError(f"unknown period {period!r}: periods are day, {', '.join(PERIOD_TYPES)}")
    first, as_of = con.execute("SELECT min(date), max(date) FROM marts.kpi_department_daily").fetchone()
    if as_of is None:
        raise ValueError("no KPIs in the warehouse")
    if day is None:
        start = con.execute(
            "SELECT max(period_start) FROM marts.kpi_department_period "
            "WHERE period_type = $p AND is_complete", {"p": period}).fetchone()[0]
        if start is None:
            raise ValueError(f"no complete {period} as of {as_of} (the warehouse starts {first}); "
                             f"name a day of the wanted {period} with --date")
        return *period_bounds(period, start), as_of
    start, end = period_bounds(period, day)
    if day > as_of or end < first:
        raise ValueError(f"no KPIs for the {period} of {day}: the warehouse has {first} .. {as_of}")
    return start, end, as_of


def period_title(audience: str, period: str, start: date, end: date, language: str) -> str:
    if period == "week":
        year, week, _ = start.isocalendar()
        when = t("week_title", language).format(year=year, week=f"{week:02d}",
                                               start=start.isoformat(), end=end.isoformat())
    else:
        when = t("month_title", language).format(month=start.strftime("%Y-%m"),
                                                start=start.isoformat(), end=end.isoformat())
    return f"{t(f'report_{period}', language)} · {t(audience, language)} · {when}"


def _change_text(change, ratio, fmt: str, language: str) -> str:
    if change is None:
        return t("empty_value", language)
    sign = "+" if change > 0 else ("−" if change < 0 else "±")
    if fmt == "pct":  # a change of a rate is in percentage points
        return t("alert_points", language).format(sign=sign, value=f"{abs(change) * 100:.1f}")
    text = sign + display(abs(change), fmt, language)
    if ratio is not None and fmt != "pct":  # the relative change of a rate would read oddly
        text += f" ({'+' if ratio > 0 else ('−' if ratio < 0 else '±')}{abs(ratio) * 100:.1f}%)"
    return text


def _changes(row: tuple, period: str, language: str) -> str:
    (_kpi, _value, _target, _status, unit, _prev, change, ratio, _ly, ly_change, ly_ratio,
     _complete, _days) = row
    fmt = resolve("by_unit", unit)
    return (f"{t(f'vs_previous_{period}', language)} {_change_text(change, ratio, fmt, language)}"
            f" · {t('vs_last_year', language)} {_change_text(ly_change, ly_ratio, fmt, language)}")


def cards(headline: Table, period: str, as_of: date, language: str) -> list[dict]:
    """The headline cards: value, target and status, the changes, a note when partial."""
    out = []
    for row in headline.rows:
        kpi, value, target, status, unit = row[:5]
        fmt = resolve("by_unit", unit)
        definition = DEFINITIONS.get(kpi)
        out.append({
            "definition": definition.text(language) if definition else "",
            "label": t(kpi, language),
            "value": display(value, fmt, language),
            "note": "" if row[11] else t("partial_period", language).format(day=as_of.isoformat()),
            "changes": _changes(row, period, language),
            "target": display(target, fmt, language),
            "pill": _pill(status, language),
            "definition_note": _definition_note(definition, language),
        })
    return out


def email_body(headline: Table, period: str, title: str, language: str) -> str:
    rows = []
    for row in headline.rows:
        kpi, value, target, status, unit = row[:5]
        fmt = resolve("by_unit", unit)
        fill, font = STATUS_COLOURS.get(status or "", ("#FFFFFF", "#666666"))
        rows.append({
            "label": t(kpi, language),
            "value": f"{display(value, fmt, language)} ({_changes(row, period, language)})",
            "target": display(target, fmt, language), "fill": fill, "font": font,
            "status": t(status, language) if status else t("empty_value", language),
        })
    return str(_render("email.html.j2", language, title=title, rows=rows))


def period_dir(period: str, start: date) -> str:
    """The outbox folder of a period: ``week-2025-10-27``, ``month-2025-10-01``."""
    return f"{period}-{start.isoformat()}"


def build_period_extracts(
    warehouse: Path,
    period: str,
    outbox: Path,
    day: date | None = None,
    audiences: tuple[str, ...] = AUDIENCES,
    language: str = "zh",
    progress=None,
) -> list[Extract]:
    """Write ``outbox/<period>-<period_start>/<audience>/`` per audience; one Extract each
    (its ``day`` is the period's first day, its ``period`` the period type)."""
    say = progress or (lambda _msg: None)
    unknown = [a for a in audiences if a not in AUDIENCES]
    if unknown or language not in LANGUAGES:
        raise ValueError(f"unknown audience {unknown} or language {language!r}: "
                         f"audiences are {AUDIENCES}, languages {LANGUAGES}")
    con = db.connect(warehouse, read_only=True)
    try:
        start, end, as_of = resolve_period(con, period, day)
        fetched = {}
        for audience in audiences:
            tables = [fetch(con, spec, start, DEPARTMENT[audience]) for spec in specs(period, audience)]
            for table in tables:
                table.day = None  # what a table covers is the period, named in the title
            fetched[audience] = tables
    finally:
        con.close()

    extracts = []
    for audience in audiences:
        t0 = time.perf_counter()
        tables = fetched[audience]
        directory = Path(outbox) / period_dir(period, start) / audience
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        title = period_title(audience, period, start, end, language)
        definitions = _definitions(tables)
        stem = f"siyu_{audience}_{period_dir(period, start)}"
        xlsx, html = directory / f"{stem}.xlsx", directory / f"{stem}.html"
        headline = tables[0]
        targets = {DEPARTMENT[audience]: {
            trend_target(r[0], None)[0]: (r[2], r[3]) for r in headline.rows}}
        write_workbook(xlsx, tables, definitions, title, language)
        write_report(html, tables, targets, DEPARTMENT[audience], definitions, title, language,
                     cards=cards(headline, period, as_of, language))
        csvs = write_csvs(directory, tables, language)
        extracts.append(Extract(
            audience=audience, day=start, language=language, directory=directory, xlsx=xlsx,
            html=html, csvs=csvs, subject=title,
            html_body=email_body(headline, period, title, language), period=period,
        ))
        say(f"extract {audience} ({period} {start}..{end}): {len(tables)} tables, "
            f"{sum(len(tb.rows) for tb in tables)} rows, {time.perf_counter() - t0:.2f}s "
            f"-> {directory}")
    return extracts
