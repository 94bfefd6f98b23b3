"""Department extracts (issue 5): the tables' dbt views (schema `reports`) on hand-made marts,
the tables' SQL (one select of a view each), then the files built from a warehouse that
`siyu run` published, checked against the marts they were read from."""

from __future__ import annotations

import csv
import re
import zipfile
from html import unescape
from datetime import date, timedelta
from pathlib import Path

import duckdb
import openpyxl
import pytest
from siyu.extracts import AUDIENCES, build_extracts
from siyu.extracts import tables as T
from siyu.extracts.definitions import DEFINITIONS
from siyu.extracts.formats import STATUS_COLOURS, display, resolve
from siyu.extracts.i18n import LABELS, t
from siyu.extracts.xlsx import FIRST_DATA_ROW, HEADER_ROW
from siyu import kpi_catalog
import yaml

from .extracts_fixtures import REPORTS, create_report_views


DAY = date(2025, 6, 28)  # end of the day: 2025-06-29 00:00


# ---------------------------------------------------------------- table SQL on hand-made marts

@pytest.fixture
def tiny(tmp_path) -> duckdb.DuckDBPyConnection:
    """A few users whose lead quality was worked out by hand (see each row's comment)."""
    con = duckdb.connect(str(tmp_path / "tiny.duckdb"))
    con.execute("CREATE SCHEMA marts")
    con.execute("""CREATE TABLE marts.dim_users (user_id VARCHAR, source_channel VARCHAR,
        owner_staff_id VARCHAR, department VARCHAR, first_seen_at TIMESTAMP,
        first_purchase_at TIMESTAMP, primary_contact_id VARCHAR)""")
    con.executemany("""INSERT INTO marts.dim_users VALUES (?, ?, ?, ?, ?, ?,
        CASE WHEN ? = 'unknown' THEN NULL ELSE 'C' || ? END)""", [(*u, u[1], u[0]) for u in [
        # matured (seen > 30 days before the end) and bought 19 days later: converted
        ("u1", "douyin_ad", "sales_000", "sales", "2025-05-01 10:00", "2025-05-20 10:00"),
        # matured, bought 36 days later: not converted
        ("u2", "douyin_ad", "sales_000", "sales", "2025-05-10 10:00", "2025-06-15 10:00"),
        # seen 8 days before: a lead, not matured
        ("u3", "douyin_ad", "sales_001", "sales", "2025-06-20 10:00", None),
        # seen + 30 days = 06-28 23:00 <= end: matured; bought within 30 days: converted
        ("u4", "referral", "sales_001", "sales", "2025-05-29 23:00", "2025-06-28 22:00"),
        # seen before the 90-day window (starts 2025-03-31 00:00): not a lead
        ("u5", "referral", "sales_001", "sales", "2025-03-01 10:00", "2025-03-02 10:00"),
        # seen + 30 days = 06-29 00:30 > end: a lead, not matured
        ("u6", "referral", "sales_001", "sales", "2025-05-30 00:30", None),
        # first seen by a purchase, no CRM contact: not a lead (would convert by construction)
        ("u7", "unknown", None, None, "2025-05-02 10:00", "2025-05-02 10:00"),
    ]])
    con.execute("""CREATE TABLE marts.dim_staff (staff_id VARCHAR, name_masked VARCHAR,
        department VARCHAR)""")
    con.executemany("INSERT INTO marts.dim_staff VALUES (?, ?, ?)", [
        ("sales_000", "周*", "sales"), ("sales_001", "林*", "sales"), ("svc_000", "高*", "service"),
    ])
    con.execute("""CREATE TABLE marts.fct_orders (user_id VARCHAR, order_date DATE,
        net_revenue DECIMAL(18, 2), is_paid BOOLEAN, is_qualifying BOOLEAN)""")
    con.executemany("INSERT INTO marts.fct_orders VALUES (?, ?, ?, ?, ?)", [
        ("u1", "2025-06-01", 100, True, True), ("u2", "2025-06-15", 50, True, True),
        ("u4", "2025-06-28", 300, True, True),
        ("u4", "2025-05-01", 999, True, True),  # before the 30 days: not counted
    ])
    con.execute("""CREATE TABLE marts.kpi_repurchase_90d_by_owner (cohort_month DATE,
        department VARCHAR, owner_staff_id VARCHAR, repurchase_rate_90d DOUBLE)""")
    con.executemany("INSERT INTO marts.kpi_repurchase_90d_by_owner VALUES (?, ?, ?, ?)", [
        # matured when the month's last possible first purchase has had 90 days:
        ("2025-02-01", "sales", "sales_000", 0.25),  # 03-01 + 90 days = 05-30 <= 06-29
        ("2025-03-01", "sales", "sales_000", 0.5),  # 04-01 + 90 days = 06-30 > 06-29 00:00
        ("2025-04-01", "sales", "sales_000", 0.9),
    ])
    # the calendar and the KPI days: the report days are 2025-03-01 .. DAY
    con.execute("""CREATE TABLE marts.dim_dates AS SELECT CAST(range AS DATE) AS date_day
        FROM range(DATE '2025-01-01', DATE '2025-06-29', INTERVAL 1 DAY)""")
    con.execute("CREATE TABLE marts.kpi_department_daily (date DATE, department VARCHAR)")
    con.execute("INSERT INTO marts.kpi_department_daily VALUES ('2025-03-01', 'all'), (?, 'all')",
                [DAY])
    # the dbt views the two tables read (dbt_project/models/reports), inputs first
    create_report_views(con, "rpt_report_days", "rpt_leads_90d", "rpt_marketing__lead_quality",
                        "rpt_sales__staff_ranking")
    yield con
    con.close()


def test_lead_quality_by_channel_on_hand_made_users(tiny):
    table = T.fetch(tiny, T.LEAD_QUALITY, DAY, "all")
    got = {row[0]: row[1:] for row in table.rows}
    assert got == {
        # channel: leads in 90 days, matured leads, converted within 30 days, lead quality
        "douyin_ad": (3, 2, 1, 0.5),
        "referral": (2, 1, 1, 1.0),
        "all": (5, 3, 2, pytest.approx(2 / 3)),
    }
    assert [row[0] for row in table.rows][-1] == "all"


def test_sales_staff_ranking_conversion_revenue_and_masked_names(tiny):
    table = T.fetch(tiny, T.SALES_STAFF_RANKING, DAY, "sales")
    names = [c.name for c in table.columns]
    rows = [dict(zip(names, row, strict=True)) for row in table.rows]
    # sales_001: 300 (u4 in the 30 days; its 999 of 05-01 is older); sales_000: 100 + 50
    assert [(r["rank"], r["staff_id"], r["staff_name"]) for r in rows] == [
        (1, "sales_001", "林*"), (2, "sales_000", "周*")]  # masked names of marts.dim_staff
    s1, s0 = rows
    assert (float(s1["net_revenue_30d"]), s1["purchases_30d"], float(s1["aov_30d"])) == (
        300.0, 1, 300.0)
    assert (float(s0["net_revenue_30d"]), s0["purchases_30d"], float(s0["aov_30d"])) == (
        150.0, 2, 75.0)
    # sales_000 owns u1 (converted) and u2 (not): 1/2; sales_001 owns u4 (converted) and the
    # immature u3/u6: 1/1
    assert (s0["matured_leads"], s0["converted_30d"], s0["conversion"]) == (2, 1, 0.5)
    assert (s1["matured_leads"], s1["converted_30d"], s1["conversion"]) == (1, 1, 1.0)
    # the latest cohort month matured by the end of the day: February, not March
    assert s0["repurchase_rate_90d"] == 0.25 and s1["repurchase_rate_90d"] is None


def test_the_lead_quality_view_holds_every_report_day(tiny):
    """The view's grain is report day x channel: an earlier day counts its own 90 days (on
    06-01 u1, u2, u4 and u6 are leads, none of u4/u6 matured; u3 is not seen yet)."""
    rows = tiny.execute("SELECT report_date, channel, leads_90d, matured_leads, converted_30d "
                        "FROM reports.rpt_marketing__lead_quality WHERE report_date = '2025-06-01' "
                        "ORDER BY sort_key").fetchall()
    assert [r[1:] for r in rows] == [("douyin_ad", 2, 1, 1), ("referral", 2, 0, 0),
                                     ("all", 4, 1, 1)]
    days = tiny.execute("SELECT min(report_date), max(report_date), count(DISTINCT report_date) "
                        "FROM reports.rpt_marketing__lead_quality").fetchone()
    assert days == (date(2025, 3, 1), DAY, (DAY - date(2025, 3, 1)).days + 1)  # 'all' every day


# an extract table's SQL: the rows of one reports view for the day (and department), in its
# order; every computation is in the view (dbt), none here
ONE_SELECT = re.compile(
    r"SELECT (?P<columns>\* EXCLUDE \([a-z_, ]+\)|[a-z0-9_, ]+) FROM reports\.(?P<model>rpt_[a-z0-9_]+)"
    r" WHERE report_date = \$day( AND department = \$dept)?"
    r" ORDER BY (sort_key|date|list_position\(\[[a-z0-9_', ]+\], kpi\))")


def test_every_extract_table_is_one_select_of_a_reports_view():
    models = {p.stem for p in REPORTS.glob("rpt_*.sql")}
    used = set()
    for audience in AUDIENCES:
        for spec in T.specs(audience):
            sql = " ".join(spec.sql.split())
            match = ONE_SELECT.fullmatch(sql)
            assert match, (spec.name, sql)
            assert not re.search(r"\b(JOIN|GROUP|WITH|UNION|HAVING|FILTER|OVER|LIMIT)\b|\(SELECT|"
                                 r"\bmarts\.", sql, re.IGNORECASE), (spec.name, sql)
            assert match["model"] in models, (spec.name, match["model"])
            used.add(match["model"])
    # the trend charts' targets: one select of a view as well
    assert " ".join(T.TARGETS_SQL.split()) == (
        "SELECT department, trend_column, target, status FROM reports.rpt_shared__kpi_targets "
        "WHERE report_date = $day AND department IN ($dept, 'all')")
    used.add("rpt_shared__kpi_targets")
    # every view but the helpers is some extract table's, named after its audience
    assert models - used == {"rpt_report_days", "rpt_leads_90d"}
    audiences = "|".join((*AUDIENCES, "shared"))
    assert all(re.fullmatch(rf"rpt_({audiences})__[a-z0-9_]+", m) for m in used), used


def test_the_one_select_check_sees_computation():
    good = ("SELECT * EXCLUDE (report_date, sort_key) FROM reports.rpt_sales__ltv_cohorts "
            "WHERE report_date = $day ORDER BY sort_key")
    assert ONE_SELECT.fullmatch(good)
    for bad in (
        good.replace("reports.rpt_sales__ltv_cohorts", "marts.kpi_ltv_cohorts"),
        good.replace("ORDER BY sort_key", "GROUP BY 1 ORDER BY sort_key"),
        good.replace(" WHERE", " JOIN marts.dim_users USING (user_id) WHERE"),
        "SELECT channel, sum(x) AS y FROM reports.rpt_a WHERE report_date = $day ORDER BY date",
    ):
        assert not ONE_SELECT.fullmatch(bad), bad


def test_every_catalog_kpi_has_its_trend_column_in_the_view():
    sql = (REPORTS / "rpt_shared__kpi_trends.sql").read_text()
    for kpi in kpi_catalog.names():
        column, _ = T.trend_target(kpi, None)
        scale = " / 60" if kpi in T._TREND_SCALE else ""
        assert f"max(k.value{scale}) filter (where k.kpi = '{kpi}') as {column}" in sql, kpi


def test_every_kpi_and_column_shown_has_a_definition_and_labels():
    for audience in AUDIENCES:
        for spec in T.specs(audience):
            assert spec.name in LABELS, spec.name
            for column in spec.columns:
                assert column.name in LABELS, (spec.name, column.name)
                assert column.definition is None or column.definition in DEFINITIONS
            for key in spec.kpis:
                assert key in DEFINITIONS and key in LABELS, key
    for key, d in DEFINITIONS.items():
        assert d.zh and d.en and "docs/kpi-book.md#" in d.section, key


# ---------------------------------------------------------------- a published warehouse

@pytest.fixture(scope="module")
def extracts(published_warehouse, tmp_path_factory):  # noqa: F811
    warehouse, as_of = published_warehouse
    messages: list[str] = []
    out = tmp_path_factory.mktemp("outbox")
    zh = build_extracts(warehouse, as_of, out / "zh", progress=messages.append)
    en = build_extracts(warehouse, as_of, out / "en", language="en")
    return {"warehouse": warehouse, "day": as_of, "zh": zh, "en": en, "messages": messages}


def test_every_reports_view_has_its_documented_columns(extracts):
    """The published warehouse holds every view of models/reports, with exactly the columns
    _reports__models.yml documents, in that order."""
    documented = {m["name"]: [c["name"] for c in m["columns"]] for m in yaml.safe_load(
        (REPORTS / "_reports__models.yml").read_text())["models"]}
    assert set(documented) == {p.stem for p in REPORTS.glob("*.sql")}
    con = duckdb.connect(str(extracts["warehouse"]), read_only=True)
    try:
        built: dict[str, list[str]] = {}
        for view, column in con.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'reports' ORDER BY table_name, ordinal_position").fetchall():
            built.setdefault(view, []).append(column)
        kinds = {k for (k,) in con.execute("SELECT DISTINCT table_type FROM "
                                           "information_schema.tables WHERE table_schema = 'reports'").fetchall()}
    finally:
        con.close()
    assert built == documented
    assert kinds == {"VIEW"}


def test_the_chart_targets_name_the_trend_columns(extracts):
    """rpt_shared__kpi_targets names each KPI's column of rpt_shared__kpi_trends as the
    extracts do (durations: `<kpi>_minutes`), with the target in that column's unit."""
    con = duckdb.connect(str(extracts["warehouse"]), read_only=True)
    try:
        rows = con.execute("SELECT t.kpi, t.trend_column, t.target, k.target "
                           "FROM reports.rpt_shared__kpi_targets t JOIN marts.kpi_department_daily k "
                           "ON k.date = t.report_date AND k.department = t.department AND k.kpi = t.kpi "
                           "WHERE t.report_date = ?", [extracts["day"]]).fetchall()
        trend_columns = {c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'reports' "
            "AND table_name = 'rpt_shared__kpi_trends'").fetchall()}
    finally:
        con.close()
    assert {kpi for kpi, *_ in rows} == set(kpi_catalog.names())
    for kpi, column, target, mart_target in rows:
        assert (column, target) == T.trend_target(kpi, mart_target), kpi
        assert column in trend_columns, kpi


def _kpi_rows(warehouse: Path, day: date, department: str) -> dict[str, tuple]:
    """(value, target, status, unit) of each KPI as the extracts show it: the latest value
    (kpi_department_latest), durations in minutes like every FRT column of the extracts."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT kpi, value, target, status, unit FROM marts.kpi_department_latest "
            "WHERE as_of = ? AND department = ?", [day, department]).fetchall()
    finally:
        con.close()
    out = {}
    for kpi, value, target, status, unit in rows:
        if unit == "seconds":
            value, target, unit = (None if value is None else value / 60), target / 60, "minutes"
        out[kpi] = (value, target, status, unit)
    return out


def test_every_audience_has_a_workbook_csvs_and_a_report(extracts):
    day = extracts["day"]
    for language in ("zh", "en"):
        assert [e.audience for e in extracts[language]] == list(AUDIENCES)
        for e in extracts[language]:
            assert e.directory.name == e.audience and e.directory.parent.name == day.isoformat()
            assert e.xlsx.suffix == ".xlsx" and e.xlsx.stat().st_size > 0
            assert e.html.suffix == ".html" and e.html.stat().st_size > 0
            assert len(e.csvs) == len(T.specs(e.audience))
            for path in e.csvs:
                assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM for Excel
            assert e.attachments == [e.xlsx, e.html]
    assert extracts["zh"][1].subject == f"私域日报 · 运营部 · {day.isoformat()}"
    assert extracts["en"][1].subject == f"Private-domain daily report · Operations · {day}"
    assert len(extracts["messages"]) == len(AUDIENCES)
    assert all(re.search(r"\d+ rows.*\d+\.\d\ds", m) for m in extracts["messages"])


def test_headline_values_and_status_colours_are_those_of_the_mart(extracts):
    warehouse, day = extracts["warehouse"], extracts["day"]
    checked = 0
    for e in extracts["zh"]:
        expected = _kpi_rows(warehouse, day, T.DEPARTMENT[e.audience])
        by_label = {t(kpi, "zh"): kpi for kpi in expected}
        sheet = openpyxl.load_workbook(e.xlsx).worksheets[0]
        assert sheet.title == "核心指标"
        header = [c.value for c in sheet[HEADER_ROW + 1]]
        assert header[:4] == ["指标", "数值", "目标", "状态"]
        rows = list(sheet.iter_rows(min_row=FIRST_DATA_ROW + 1))
        assert [by_label[r[0].value] for r in rows] == list(T.OWN_KPIS[e.audience])
        for kpi_cell, value_cell, target_cell, status_cell, *_ in rows:
            value, target, status, _ = expected[by_label[kpi_cell.value]]
            assert value_cell.value == (pytest.approx(value) if value is not None else None)
            assert target_cell.value == pytest.approx(target)
            if status is None:
                assert status_cell.value is None
            else:
                assert status_cell.value == t(status, "zh")
                assert status_cell.fill.fgColor.rgb == "FF" + STATUS_COLOURS[status][0][1:]
                checked += 1
    assert checked >= 5  # a day with judged KPIs, not only empty ones
    # a rate reads as a percent, money as yuan
    sheet = openpyxl.load_workbook(extracts["zh"][-1].xlsx).worksheets[0]
    formats = {r[0].value: r[1].number_format for r in
               sheet.iter_rows(min_row=FIRST_DATA_ROW + 1)}
    assert formats[t("tag_completeness", "zh")] == "0.0%"
    assert "¥" in formats[t("aov", "zh")]
    assert sheet.freeze_panes is not None
    # native line charts beside the trend tables: one per series
    with zipfile.ZipFile(extracts["zh"][-1].xlsx) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == len(T.HEADLINE_TRENDS) + len(T.OWN_KPIS["executive"])


def test_the_report_cards_show_the_mart_values(extracts):
    warehouse, day = extracts["warehouse"], extracts["day"]
    e = extracts["en"][-1]  # executive
    cards = re.findall(r'<div class="card".*?<div class="label">(.*?)</div>'
                       r'<div class="value">(.*?)</div>', e.html.read_text())
    expected = _kpi_rows(warehouse, day, "all")
    assert len(cards) == len(T.OWN_KPIS["executive"])
    for kpi, (label, value) in zip(T.OWN_KPIS["executive"], cards, strict=True):
        mart_value, _, _, unit = expected[kpi]
        assert unescape(label) == t(kpi, "en")
        assert unescape(value) == display(mart_value, resolve("by_unit", unit), "en")


def test_every_headline_kpi_shows_a_value_and_its_day_or_why_it_has_none(extracts):
    """A rate of the as-of day is often not matured (48h response rate): the headline shows
    the latest value and the day it refers to (kpi_department_latest), never an empty card
    without a word. The repurchase rate of the 40-day session landing has no matured cohort:
    it says so and names the first day it will have one."""
    warehouse, day = extracts["warehouse"], extracts["day"]
    con = duckdb.connect(str(warehouse), read_only=True)
    latest = {(d, k): (v, vd, why, first) for d, k, v, vd, why, first in con.execute(
        "SELECT department, kpi, value, value_date, no_value_reason, first_value_on "
        "FROM marts.kpi_department_latest WHERE as_of = ?", [day]).fetchall()}
    behind = con.execute(
        "SELECT count(*) FROM marts.kpi_department_daily WHERE date = ? AND department = 'all' "
        "AND kpi = 'response_rate_48h' AND value IS NULL", [day]).fetchone()[0]
    con.close()
    assert behind == 1  # the as-of day's own 48h rate is not matured yet...
    rate, rate_day, _, _ = latest[("all", "response_rate_48h")]
    assert rate is not None and rate_day < day  # ...the headline shows an earlier day's
    repurchase = latest[("all", "repurchase_rate_90d")]
    assert repurchase[0] is None and repurchase[2] == "no_cohort_matured" and repurchase[3] > day
    for key, (value, _, why, _) in latest.items():
        assert (value is None) == (why is not None), key  # a value, or a reason: never neither
    page = extracts["en"][-1].html.read_text()  # executive: department all
    assert f"value of {rate_day}" in page
    assert f"No cohort has matured yet, first on {repurchase[3]}" in page
    body = extracts["zh"][-1].html_body
    assert f"数据日期 {rate_day}" in body and "尚无成熟的同期群" in body


def test_the_headline_trends_agree_with_the_marts_computed_another_way(extracts):
    warehouse, day = extracts["warehouse"], extracts["day"]
    sheet = openpyxl.load_workbook(extracts["en"][2].xlsx)["Company headline trends"]
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=FIRST_DATA_ROW + 1)]
    assert len(rows) == T.TREND_DAYS and rows[-1][0].date() == day
    con = duckdb.connect(str(warehouse), read_only=True)
    # user LTV (dim_users.ltv, as of the build's day) summed over users = net revenue of all
    # paid orders; divided by the buyers, it is the buyer LTV of the last trend day
    (buyer_ltv,) = con.execute(
        "SELECT sum(ltv) / count(first_purchase_at) FROM marts.dim_users").fetchone()
    rate_48h = dict(con.execute(
        "SELECT date, value FROM marts.kpi_department_daily "
        "WHERE department = 'all' AND kpi = 'response_rate_48h'").fetchall())
    con.close()
    assert rows[-1][3] == pytest.approx(float(buyer_ltv), abs=0.005)
    for when, response_rate_48h, _, _ in rows:
        assert response_rate_48h == (None if rate_48h.get(when.date()) is None
                                     else pytest.approx(rate_48h[when.date()]))


def test_csv_holds_the_same_numbers_as_the_workbook(extracts):
    e = extracts["en"][3]  # service
    sheet = openpyxl.load_workbook(e.xlsx)["Staff response"]
    from_xlsx = [[c.value for c in row] for row in sheet.iter_rows(min_row=FIRST_DATA_ROW + 1)]
    with (e.directory / "staff_response.csv").open(encoding="utf-8-sig") as f:
        header, *from_csv = list(csv.reader(f))
    assert header == [c.value for c in sheet[HEADER_ROW + 1]]
    assert len(from_csv) == len(from_xlsx) > 0
    for a, b in zip(from_xlsx, from_csv, strict=True):
        assert a[0] == b[0]  # staff_id
        assert [pytest.approx(float(x)) if x != "" else None for x in b[2:]] == a[2:]


def test_english_labels_and_sheet_names_differ_from_chinese(extracts):
    for zh, en in zip(extracts["zh"], extracts["en"], strict=True):
        zh_sheets = openpyxl.load_workbook(zh.xlsx, read_only=True).sheetnames
        en_sheets = openpyxl.load_workbook(en.xlsx, read_only=True).sheetnames
        assert en_sheets[0] == "Headline" and en_sheets[-1] == "Definitions"
        assert all(name.isascii() for name in en_sheets)
        assert not any(name.isascii() for name in zh_sheets)
        assert zh.subject != en.subject
        assert "Headline KPIs" in en.html.read_text() and "核心指标" in zh.html.read_text()


def test_definitions_are_in_the_workbook_and_the_report(extracts):
    e = extracts["en"][3]  # service
    sheet = openpyxl.load_workbook(e.xlsx)["Definitions"]
    shown = {r[0].value: (r[1].value, r[2].value)
             for r in sheet.iter_rows(min_row=FIRST_DATA_ROW + 1)}
    d = DEFINITIONS["response_rate_48h"]
    assert shown["48-hour response rate"] == (d.en, "KPI book: docs/kpi-book.md#response-rates")
    html = e.html.read_text()
    assert d.en in html and "KPI book: docs/kpi-book.md#response-rates" in html
    headline = openpyxl.load_workbook(e.xlsx)["Headline"]
    notes = {r[0].value: r[0].comment.text for r in
             headline.iter_rows(min_row=FIRST_DATA_ROW + 1)}
    assert notes["48-hour response rate"] == f"{d.en} (KPI book: docs/kpi-book.md#response-rates)"
    assert DEFINITIONS["lead_quality"].zh in extracts["zh"][0].html.read_text()


def test_reports_and_mails_are_self_contained(extracts):
    for e in extracts["zh"] + extracts["en"]:
        html = e.html.read_text()
        assert not re.search(r"https?://", html), e.html
        assert not re.search(r"<script|<link|<img|@import|url\(", html), e.html
        assert html.count("<svg") >= 3  # the three headline trends at least
        assert "<style" not in e.html_body and "https://" not in e.html_body
        assert "style=" in e.html_body


def test_the_mail_body_carries_the_headline_status_colours(extracts):
    warehouse, day = extracts["warehouse"], extracts["day"]
    e = extracts["zh"][-1]  # executive
    statuses = {s for _, _, s, _ in _kpi_rows(warehouse, day, "all").values() if s}
    for status in statuses:
        assert f"background:{STATUS_COLOURS[status][0]}" in e.html_body
        assert t(status, "zh") in e.html_body


def _produced_text(e) -> str:
    parts = [e.html.read_text(), e.html_body, e.subject]
    parts += [p.read_text(encoding="utf-8-sig") for p in e.csvs]
    with zipfile.ZipFile(e.xlsx) as z:  # every XML part of the workbook: cells, sheets, charts
        parts += [z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml")]
    return "\n".join(parts)


def test_no_clear_name_or_phone_leaves_in_any_file(extracts):
    warehouse = extracts["warehouse"]
    raw = warehouse.parent / f"{warehouse.stem}_raw"
    names, phones = set(), set()
    for source, sql in (
        ("crm", "SELECT name, phone FROM contacts UNION ALL SELECT name, NULL FROM staff"),
        ("shop", "SELECT nickname, phone FROM customers UNION ALL "
                 "SELECT NULL, buyer_phone FROM orders"),
    ):
        con = duckdb.connect(str(raw / f"{source}.duckdb"), read_only=True)
        for name, phone in con.execute(sql).fetchall():
            if name and len(name.strip()) >= 2:
                names.add(name.strip())
            digits = re.sub(r"\D", "", phone or "")
            if len(digits) >= 11:
                phones.add(digits[-11:])
        con.close()
    assert len(names) > 20 and len(phones) > 20  # the raw layer does hold personal data
    staff_masked_seen = False
    for e in extracts["zh"] + extracts["en"]:
        text = _produced_text(e)
        # numbers as written, separators allowed (+86 138-0013-8000)
        numbers = [re.sub(r"\D", "", run) for run in re.findall(r"\d[\d -]{9,}\d", text)]
        assert not [n for n in names if n in text], e.directory
        assert not [p for p in phones if any(p in number for number in numbers)], e.directory
        staff_masked_seen |= bool(re.search(r"[\u4e00-\u9fff]\*", text))
    assert staff_masked_seen  # names are there, masked


def test_a_day_outside_the_warehouse_raises_with_the_range(extracts, tmp_path):
    warehouse, day = extracts["warehouse"], extracts["day"]
    with pytest.raises(ValueError, match=rf"\.\. {day.isoformat()}"):
        build_extracts(warehouse, day + timedelta(days=1), tmp_path)
    with pytest.raises(ValueError, match="warehouse has"):
        build_extracts(warehouse, date(2020, 1, 1), tmp_path)
    with pytest.raises(ValueError, match="unknown audience"):
        build_extracts(warehouse, day, tmp_path, audiences=("finance",))
    assert not (tmp_path / (day + timedelta(days=1)).isoformat()).exists()


def test_the_warehouse_is_not_held_after_the_build(extracts):
    # the publish step replaces the file: a writer must be able to open it right away
    duckdb.connect(str(extracts["warehouse"])).close()  # raises while another process holds it


def test_each_department_gets_its_staff_to_do_lists(extracts):
    """The to-do sheet lists the department's open tasks of fct_activation_tasks, most urgent
    first, and todo/<staff_id>.csv holds exactly each staff member's tasks."""
    warehouse, day = extracts["warehouse"], extracts["day"]
    con = duckdb.connect(str(warehouse), read_only=True)
    tasks = con.execute(
        "SELECT department, staff_id, task_type, reference_id FROM marts.fct_activation_tasks "
        "WHERE as_of = ?", [day]).fetchall()
    con.close()
    assert len(tasks) > 20  # the 40-day landing has untagged contacts and open inquiries
    checked = 0
    for e in extracts["en"]:
        if e.audience == "executive":
            continue
        department = T.DEPARTMENT[e.audience]
        expected = {(s or "unassigned", ref) for d, s, _, ref in tasks if d == department}
        with (e.directory / "todo.csv").open(encoding="utf-8-sig") as f:
            header, *rows = list(csv.reader(f))
        assert header[:3] == ["Staff ID", "Staff (masked)", "Task"]
        assert {(r[0] or "unassigned", r[4]) for r in rows} == expected
        priorities = [int(r[3]) for r in rows]
        assert priorities == sorted(priorities)  # most urgent first
        per_staff = {}
        for path in sorted((e.directory / "todo").glob("*.csv")):
            with path.open(encoding="utf-8-sig") as f:
                _, *staff_rows = list(csv.reader(f))
            assert staff_rows and {r[0] or "unassigned" for r in staff_rows} == {path.stem}
            per_staff.update({(r[0] or "unassigned", r[4]): path.stem for r in staff_rows})
        assert set(per_staff) == expected
        checked += bool(expected)
    assert checked >= 2


def test_each_table_says_the_period_it_covers(extracts):
    """Under each table's title, in the workbook and the report: the period it covers, filled
    in for the report's day (a department head reading 'the day' vs 'the last 30 days')."""
    day = extracts["day"]
    for e in extracts["en"]:
        book = openpyxl.load_workbook(e.xlsx)
        page = e.html.read_text()
        for spec in T.specs(e.audience):
            assert spec.period in T.PERIODS, spec.name
            text = T.period_text(spec.period, day, "en")
            assert day.isoformat() in text or spec.period == "latest"
            assert unescape(page).count(text) >= 1, (e.audience, spec.name)
        sheets = {ws.title: ws for ws in book.worksheets}
        staff = sheets.get("Staff response")
        if staff is not None:
            assert staff.cell(row=2, column=1).value == T.period_text("last_30d", day, "en")
    start = (day - timedelta(days=T.TREND_DAYS - 1)).isoformat()
    assert T.period_text("last_30d", day, "zh") == f"近30天：{start} 至 {day}"
