"""The HTML report as a browser shows it: headless Chromium, offline, renders the charts and the
status colours (a report that only passes string checks could still be a blank page)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from PIL import Image
from siyu.extracts import build_extracts
from siyu.extracts import tables as T
from siyu.extracts.formats import STATUS_COLOURS


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH, HEIGHT = 1280, 2000
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test "
                                "installs it)")


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium with nothing that reaches the network."""
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp / 'profile'}", *args],
        capture_output=True, text=True, timeout=120, check=True,
    )


@pytest.fixture(scope="module")
def reports(published_warehouse, tmp_path_factory):  # noqa: F811
    warehouse, day = published_warehouse
    out = tmp_path_factory.mktemp("render")
    built = build_extracts(warehouse, day, out / "en", audiences=("service", "executive"),
                           language="en")
    built += build_extracts(warehouse, day, out / "zh", audiences=("sales",))
    con = duckdb.connect(str(warehouse), read_only=True)
    statuses = {e.audience: {s for (s,) in con.execute(
        "SELECT status FROM marts.kpi_department_daily WHERE date = ? AND department = ? "
        "AND status IS NOT NULL AND list_contains(?, kpi)",
        [day, T.DEPARTMENT[e.audience], list(T.OWN_KPIS[e.audience])]).fetchall()}
        for e in built}
    con.close()
    return built, statuses


@pytest.mark.parametrize("index", [0, 1, 2], ids=["service-en", "executive-en", "sales-zh"])
def test_the_report_renders_charts_and_status_colours(reports, tmp_path, index):
    built, statuses = reports
    e = built[index]
    png = tmp_path / f"{e.audience}.png"
    chromium(tmp_path, f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}",
             e.html.as_uri())
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(png).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    colours = image.getcolors(maxcolors=WIDTH * HEIGHT)
    assert len(colours) > 200, "the page looks blank"
    present = {c for _, c in colours}
    for status in statuses[e.audience]:  # the headline cards' status pills, at the top
        fill = STATUS_COLOURS[status][0]
        rgb = tuple(int(fill[i:i + 2], 16) for i in (1, 3, 5))
        assert rgb in present, f"no {status} pill ({fill}) on the screenshot"
    assert statuses[e.audience], "the day has no judged KPI to show"

    dom = chromium(tmp_path, "--dump-dom", e.html.as_uri()).stdout
    assert dom.count("<svg") >= 3 + len(T.OWN_KPIS[e.audience])  # headline + department trends
    assert "<polyline" in dom and 'class="target"' in dom
    assert dom.count('class="card"') == len(T.OWN_KPIS[e.audience])
