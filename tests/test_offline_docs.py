"""Data Docs that need no network (siyu.offline_docs): every CDN link of GX's templates has a
vendored local copy, the copies are the CDN's bytes, and built docs reference only local files.
The browser side (pages rendered offline in Chromium) is tests/test_offline_docs_browser.py."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import great_expectations
import pandas as pd
import pytest
from siyu import offline_docs as O
from siyu import quality as Q

TEMPLATES = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
_TAG_URL = re.compile(r"<(?:script|link)\b[^>]*\s(?:src|href)=\"(https?://[^\"]+)\"[^>]*>")


@pytest.fixture(scope="module")
def vendored() -> Path:
    missing = O.missing_assets()
    if missing:
        pytest.fail(f"not vendored: {missing}: run `make setup` (python -m siyu.offline_docs vendor)")
    return O.VENDOR_DIR


def template_tags() -> list[str]:
    return [m.group(0) for t in sorted(TEMPLATES.glob("*.j2"))
            for m in _TAG_URL.finditer(t.read_text())]


def test_every_cdn_link_of_the_gx_templates_has_a_local_copy(vendored):
    urls = {_TAG_URL.match(tag).group(1) for tag in template_tags()}
    assert len(urls) == 16  # GX 1.24: a GX upgrade that changes them fails here first
    assert urls == set(O.CDN)
    for url in urls:
        assert (vendored / O._local(url).removeprefix(O.SITE_SUBDIR + "/")).is_file(), url


def test_vendored_files_are_the_bytes_the_cdn_serves(vendored):
    """The templates pin popper.js and bootstrap.js with SRI hashes: the vendored copies match
    them (so they are the very files the CDN would have served)."""
    pinned = {re.search(r'src="([^"]+)"', t).group(1): re.search(r'integrity="([^"]+)"', t).group(1)
              for t in template_tags() if "integrity=" in t}
    assert len(pinned) == 2
    for url, integrity in pinned.items():
        algo, _, digest = integrity.partition("-")
        local = vendored / O._local(url).removeprefix(O.SITE_SUBDIR + "/")
        assert base64.b64encode(hashlib.new(algo, local.read_bytes()).digest()).decode() == digest


def test_vendored_styles_find_their_fonts(vendored):
    css = vendored / "@fortawesome+fontawesome-free@6.6.0" / "css" / "all.min.css"
    fonts = set(re.findall(r"url\((\.\./webfonts/[^)]+)\)", css.read_text()))
    assert len(fonts) == 8  # solid, regular, brands, v4 compatibility; woff2 and ttf each
    for font in fonts:
        assert (css.parent / font).resolve().is_file(), font
    for sheet in vendored.rglob("*.css"):
        assert not O.external_resources(sheet.read_text()), sheet


def test_rewrite_points_cdn_links_at_the_local_copies_and_drops_sri():
    html = (
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/'
        'bootstrap.min.css"/>\n'
        '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>\n'
        '<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js" '
        'integrity="sha384-abc" crossorigin="anonymous"></script>\n'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png'
        '?d=1&dataContextId=x"/>\n'
        "<style>.a { background: url('https://great-expectations-web-assets.s3.us-east-2."
        "amazonaws.com/full_logo_dark.png') }</style>\n"
        '<link rel="icon" href="../../../static/images/favicon.ico" type="image/x-icon"/>\n'
        '<a href="https://greatexpectations.io">Great Expectations</a>\n')
    out, count = O.rewrite_html(html, "../../", {"logo-long.png"})
    assert count == 5
    assert out == (
        '<link rel="stylesheet" href="../../static/vendor/bootstrap@4.3.1/dist/css/'
        'bootstrap.min.css"/>\n'
        '<script src="../../static/vendor/vega@5.33.1/build/vega.min.js"></script>\n'
        '<script src="../../static/vendor/popper.js@1.12.9/dist/umd/popper.min.js"></script>\n'
        '<img src="../../static/images/logo-long.png"/>\n'
        "<style>.a { background: url('../../static/images/logo-long.png') }</style>\n"
        '<link rel="icon" href="../../static/images/favicon.ico" type="image/x-icon"/>\n'
        '<a href="https://greatexpectations.io">Great Expectations</a>\n')
    assert O.external_resources(out) == []  # a link to a web page is not a resource
    assert len(O.external_resources(html)) == 5
    assert O.rewrite_html(out, "../../", {"logo-long.png"}) == (out, 0)  # idempotent


def test_make_offline_refuses_without_vendored_assets(tmp_path):
    (tmp_path / "index.html").write_text("<html></html>")
    with pytest.raises(O.OfflineDocsError, match="make setup"):
        O.make_offline(tmp_path, source=tmp_path / "nothing")


def test_built_data_docs_reference_only_local_files(tmp_path, vendored):
    suite = Q.Suite(name="raw.shop.orders", kind="raw", table="orders", spec={
        "name": "raw.shop.orders", "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "order_id"},
             "severity": "critical"},
            {"type": "expect_column_values_to_be_in_set",
             "kwargs": {"column": "status", "value_set": ["paid", "refunded"]},
             "severity": "warning"}]})
    df = pd.DataFrame({"order_id": ["O1", "O2", None], "status": ["paid", "lost", "paid"]})
    report = Q.validate_frame(suite, df, "run-offline", batch="2025-03-10")
    assert [r.success for r in report.results] == [False, False]
    docs = tmp_path / "quality" / "data_docs"
    index = Q.build_data_docs(docs, [report])
    pages = sorted(docs.rglob("*.html"))
    validation = [p for p in pages if "validations" in p.parts]
    assert index in pages and len(validation) == 1
    for page in pages:
        html = page.read_text()
        assert O.external_resources(html) == [], page
        assert "cdn" not in html and "unpkg" not in html and "amazonaws" not in html
        local = re.findall(r"<(?:script|link|img)\b[^>]*\s(?:src|href)=\"([^\"#]+)\"", html)
        assert sum("static/vendor/" in ref for ref in local) == 15, page  # 9 scripts, 6 styles
        for ref in local:  # every script, style and image the page loads is there
            assert (page.parent / unquote(urlsplit(ref).path)).resolve().is_file(), (page, ref)
    again = O.make_offline(docs)  # idempotent; nothing left on the network, styles included
    assert (again.pages, again.links, again.external) == (2, 0, {})
    # a second build (the next run) keeps the pages local and the vendored copies in place
    Q.build_data_docs(docs, [report])
    assert O.external_resources(index.read_text()) == []
    assert (docs / "static" / "vendor" / "jquery@3.7.1" / "dist" / "jquery.min.js").is_file()
