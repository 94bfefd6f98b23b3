"""Weekly and monthly reports (issue 15, item 8): ``siyu deliver --period week|month`` from
``marts.kpi_department_period``, the workbooks' print settings (daily and period extracts), and
the HTML report on a 390-px-wide phone screen (headless Chromium).

The period values themselves are worked out by hand in the dbt unit test
``department_period_sums_rates_stock_and_comparisons`` (models/marts/health/
_health_period__unit_tests.yml, run by tests/test_dbt_unit_tests.py); here the reports must show
the mart's numbers, for the right period, in files that print and read well."""

from __future__ import annotations

import csv
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import duckdb
import openpyxl
import pytest
from siyu.extracts import build_extracts, build_period_extracts
from siyu.extracts.i18n import t
from siyu.extracts.period import period_bounds, period_dir
from siyu.extracts.tables import Column, Table, TableSpec
from siyu.extracts.xlsx import HEADER_ROW, TITLE_ROW, write_workbook

SIYU = Path(sys.executable).with_name("siyu")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE_WIDTH = 390


# --- print settings (no warehouse) ------------------------------------------------------------


def assert_prints_well(path: Path) -> None:
    """Every sheet: landscape, fit to one page wide (any height), header rows repeated."""
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        setup = sheet.page_setup
        assert setup.orientation == "landscape", sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert (setup.fitToWidth or 1) == 1, sheet.title  # absent = 1, OOXML's default
        assert setup.fitToHeight == 0, sheet.title  # 0 = as many pages tall as needed
        rows = (sheet.print_title_rows or "").replace("$", "")
        assert rows == f"{TITLE_ROW + 1}:{HEADER_ROW + 1}", sheet.title


def test_every_sheet_prints_landscape_one_page_wide_with_the_header_repeated(tmp_path):
    spec = TableSpec("wide", "SELECT 1", tuple(Column(f"c{i}", "int") for i in range(30)))
    table = Table(spec, [tuple(range(30)) for _ in range(200)])
    path = tmp_path / "book.xlsx"
    write_workbook(path, [table], [], "title", "en")
    assert len(openpyxl.load_workbook(path).worksheets) == 2  # the table and the definitions
    assert_prints_well(path)


def test_period_bounds_are_iso_weeks_and_calendar_months():
    assert period_bounds("week", date(2025, 6, 1)) == (date(2025, 5, 26), date(2025, 6, 1))
    assert period_bounds("week", date(2025, 6, 2)) == (date(2025, 6, 2), date(2025, 6, 8))
    assert period_bounds("month", date(2024, 2, 10)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert period_bounds("month", date(2025, 12, 31)) == (date(2025, 12, 1), date(2025, 12, 31))
    assert period_dir("week", date(2025, 6, 2)) == "week-2025-06-02"


# --- the period extracts of the session's warehouse --------------------------------------------


@pytest.fixture(scope="module")
def period_extracts(published_warehouse, tmp_path_factory):  # noqa: F811
    warehouse, as_of = published_warehouse
    out = tmp_path_factory.mktemp("period_outbox")
    week = build_period_extracts(warehouse, "week", out, audiences=("sales", "executive"))
    month = build_period_extracts(warehouse, "month", out, day=as_of, audiences=("service",),
                                  language="en")
    daily = build_extracts(warehouse, as_of, out, audiences=("executive",))
    return warehouse, as_of, out, week, month, daily


def _mart(warehouse: Path, sql: str, params: list):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def test_the_last_complete_week_by_default(period_extracts):
    warehouse, as_of, out, week, _month, _daily = period_extracts
    (start,), = _mart(warehouse, "SELECT max(period_start) FROM marts.kpi_department_period "
                      "WHERE period_type = 'week' AND is_complete", [])
    assert start.weekday() == 0 and start + timedelta(days=6) <= as_of < start + timedelta(days=14)
    for e in week:
        assert e.period == "week" and e.day == start
        assert e.directory == out / f"week-{start.isoformat()}" / e.audience
        assert e.xlsx.is_file() and e.html.is_file() and e.csvs
    assert (out / f"week-{start.isoformat()}" / "executive" / "period_departments.csv").is_file()


def test_the_headline_shows_the_mart_values_and_changes(period_extracts):
    warehouse, _as_of, _out, week, _month, _daily = period_extracts
    sales = next(e for e in week if e.audience == "sales")
    expected = {kpi: row for kpi, *row in _mart(
        warehouse,
        "SELECT kpi, value, previous_value, change_vs_previous, previous_year_value, status "
        "FROM marts.kpi_department_period WHERE period_type = 'week' AND period_start = ? "
        "AND department = 'sales' AND unit <> 'seconds'", [sales.day])}
    with (sales.directory / "period_headline.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert rows
    labels = {t(k, "zh"): k for k in expected}
    for row in rows:
        kpi = labels[row[t("kpi", "zh")]]
        value, previous, change, _ly, status = expected[kpi]
        for column, want in (("value", value), ("previous_value", previous),
                             ("change_vs_previous", change)):
            got = row[t(column, "zh")]
            assert (got == "" if want is None else float(got) == pytest.approx(want)), (kpi, column)
        assert row[t("status", "zh")] == (t(status, "zh") if status else "")
    page = sales.html.read_text()
    assert page.count('class="card"') == len(rows) and page.count('class="change"') == len(rows)
    assert t("vs_previous_week", "zh") in page and t("vs_last_year", "zh") in page


def test_a_month_named_by_a_day_is_partial_and_says_so(period_extracts):
    _warehouse, as_of, out, _week, month, _daily = period_extracts
    (e,) = month
    assert e.day == as_of.replace(day=1) and e.directory == out / f"month-{e.day}" / "service"
    with (e.directory / "period_headline.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    complete = {r[t("is_complete", "en")] for r in rows}
    last_day = period_bounds("month", as_of)[1]
    assert complete == {t("true" if last_day <= as_of else "false", "en")}
    if last_day > as_of:
        assert "Period not over" in e.html.read_text()


def test_daily_and_period_workbooks_print_well(period_extracts):
    _warehouse, _as_of, _out, week, month, daily = period_extracts
    for e in week + month + daily:
        assert_prints_well(e.xlsx)


def test_siyu_deliver_period_cli(published_warehouse, tmp_path):
    warehouse, as_of = published_warehouse
    env = {**os.environ, "SIYU_LOG_DIR": str(tmp_path / "logs")}
    proc = subprocess.run(
        [SIYU, "deliver", "--warehouse", warehouse, "--period", "week", "--date",
         as_of.isoformat(), "--outbox", tmp_path / "out", "--audience", "marketing"],
        env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    start = period_bounds("week", as_of)[0]
    manifest = json.loads((tmp_path / "out" / f"week-{start}" / "delivery.json").read_text())
    assert "marketing" in manifest["audiences"]
    bad = subprocess.run(
        [SIYU, "deliver", "--warehouse", warehouse, "--period", "month", "--date",
         (as_of + timedelta(days=400)).isoformat(), "--outbox", tmp_path / "out"],
        env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "no KPIs for the month" in bad.stderr + bad.stdout
    no_date = subprocess.run([SIYU, "deliver", "--warehouse", warehouse, "--outbox",
                              tmp_path / "out"], env=env, capture_output=True, text=True)
    assert no_date.returncode == 2 and "--date is required" in no_date.stderr + no_date.stdout


# --- the report on a phone ---------------------------------------------------------------------

# Injected into a copy of the report: after layout, every element outside a sideways-scrolling
# box must end within the screen's width; the numbers go to the host page, which --dump-dom prints.
PROBE = """<script>
window.addEventListener('load', function () {
  var width = document.documentElement.clientWidth, outside = [];
  document.querySelectorAll('body *').forEach(function (el) {
    if (el.closest('.scroll') && !el.classList.contains('scroll')) return;
    var r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > width + 0.5)
      outside.push(el.tagName + '.' + el.getAttribute('class') + ' right=' + Math.round(r.right));
  });
  parent.document.getElementById('probe').textContent = JSON.stringify({
    width: width, scroll_width: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight, outside: outside.slice(0, 20)});
});
</script>"""


def _phone_page(report: Path, host: Path) -> None:
    """Headless Chromium's window is at least 500 px wide: the report is shown in a
    390-px-wide frame (srcdoc: same origin as the host page, so the probe can report)."""
    page = report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>")
    host.write_text(
        '<!DOCTYPE html><html><body style="margin:0;background:#fff">'
        f'<iframe scrolling="no" style="border:0;display:block" width="{PHONE_WIDTH}" '
        f'height="2400" srcdoc="{html.escape(page, quote=True)}"></iframe>'
        '<pre id="probe"></pre></body></html>', encoding="utf-8")


def _chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp / 'profile'}", *args],
        capture_output=True, text=True, timeout=120, check=True)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make system-deps)")
@pytest.mark.parametrize("which", ["daily-executive", "week-sales", "month-service-en"])
def test_the_report_fits_a_390_px_phone_screen(period_extracts, tmp_path_factory, which):
    _warehouse, _as_of, _out, week, month, daily = period_extracts
    report = {"daily-executive": daily[0], "week-sales": week[0], "month-service-en": month[0]}[which]
    work = tmp_path_factory.mktemp(f"phone-{which}")
    host = work / "phone.html"
    _phone_page(report.html, host)
    dom = _chromium(work, "--window-size=500,2400", "--dump-dom", host.as_uri()).stdout
    probe = json.loads(html.unescape(dom.split('<pre id="probe">', 1)[1].split("</pre>", 1)[0]))
    assert probe["width"] == PHONE_WIDTH, probe
    assert probe["scroll_width"] <= PHONE_WIDTH, probe  # no sideways scrolling of the page
    assert probe["outside"] == [], probe  # nothing cut off at the right edge
    assert probe["height"] > 1000, probe  # the page rendered its content

    # the screenshot, cropped to the phone's width, kept as an artifact: pytest's own temporary
    # folders are pruned after three runs, so in SIYU_TEST_ARTIFACTS (default <tmp>/siyu-artifacts)
    from PIL import Image

    png = work / "window.png"
    _chromium(work, "--window-size=500,2400", f"--screenshot={png}", host.as_uri())
    artifacts = Path(os.environ.get("SIYU_TEST_ARTIFACTS")
                     or Path(tempfile.gettempdir()) / "siyu-artifacts") / "phone"
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / f"phone-{which}-{PHONE_WIDTH}px.png"
    Image.open(png).crop((0, 0, PHONE_WIDTH, 2400)).save(shot)
    image = Image.open(shot).convert("RGB")
    assert image.size == (PHONE_WIDTH, 2400)
    assert len(image.getcolors(maxcolors=PHONE_WIDTH * 2400)) > 100, "the page looks blank"
    print(f"phone screenshot: {shot}")
