"""Data Docs that open from disk with no network: the CDN assets, vendored and linked locally.

Great Expectations' Data Docs templates (GX 1.24) load bootstrap, jQuery, bootstrap-table,
bootstrap-datepicker, popper.js, Font Awesome and vega/vega-lite/vega-embed from five CDNs
(jsdelivr, cdnjs, unpkg, code.jquery.com, bootstrapcdn). Opened offline, or behind a firewall
that blocks those CDNs (common in mainland China), the pages stay blank.

* ``vendor(dest)`` -- at ``make setup`` (``python -m siyu.offline_docs vendor``): downloads
  each npm package of ``PACKAGES`` from the npm registry, checks the tarball against the
  registry's sha512 pinned here, and keeps only the files the pages use (plus the licence).
  Never called at run time.
* ``make_offline(docs_dir)`` -- after GX has built the docs (``quality.build_data_docs``):
  copies the vendored files to ``<docs_dir>/static/vendor/`` and rewrites every page's CDN
  links to relative local paths (SRI ``integrity``/``crossorigin`` attributes go too: a
  browser does not allow CORS on ``file://``). Returns the external resources left, if any
  (a GX upgrade that adds a CDN link shows up there, and in ``tests/test_offline_docs.py``).

The vendored files live in ``include/siyu/_vendor/docs/`` (about 3 MB, not committed: git
keeps the versions and hashes here; the wheel carries the folder as an artifact).
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import re
import shutil
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

VENDOR_DIR = Path(__file__).resolve().parent / "_vendor" / "docs"
REGISTRY = "https://registry.npmjs.org"
SITE_SUBDIR = "static/vendor"  # under the Data Docs folder, next to GX's own static/
GX_ASSETS = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str  # the registry's dist.integrity of the tarball
    files: tuple[str, ...]  # paths inside the package; a path ending in "/" is a folder

    @property
    def key(self) -> str:  # folder name under the vendor dir
        return f"{self.name.replace('/', '+')}@{self.version}"

    @property
    def tarball(self) -> str:
        short = self.name.rsplit("/", 1)[-1]
        return f"{REGISTRY}/{self.name}/-/{short}-{self.version}.tgz"


# Versions: the ones the templates name; "vega@5", "vega-lite@5", "vega-embed@6" (a floating
# major on jsdelivr) are pinned to the newest release of that major when this was written.
PACKAGES = (
    Package("bootstrap", "4.3.1",
            "sha512-rXqOmH1VilAt2DyPzluTi2blhk17bO7ef+zLLPlWvG494pDxcM234pJ8wTc/6R40UWizAIIMgxjvxZg5kmsbag==",
            ("dist/css/bootstrap.min.css", "dist/js/bootstrap.min.js")),
    Package("bootstrap-table", "1.19.1",
            "sha512-WvV+l1AI/C+zThaKmfHmi/IuayVNB0qdFyEhFx1jyZhO0oLtNJNANkCR3rvJf6Dkh72dsLElxpE/bzK9seEQLA==",
            ("dist/bootstrap-table.min.css", "dist/bootstrap-table.min.js",
             "dist/extensions/filter-control/bootstrap-table-filter-control.min.js")),
    Package("bootstrap-table", "1.19.0",
            "sha512-L+USHm3X9FKocx/6yngGu12yF6r6s1Ntuc+hoIK2a2QQJjHw5kcySLiE2HY/9sEaSGAOfPbfQOtBH3uKkcpqEA==",
            ("dist/extensions/filter-control/bootstrap-table-filter-control.css",
             "dist/extensions/filter-control/bootstrap-table-filter-control.min.css")),
    Package("bootstrap-datepicker", "1.9.0",
            "sha512-9rYYbaVOheGYxjOr/+bJCmRPihfy+LkLSg4fIFMT9Od8WwWB/MB50w0JO1eBgKUMbb7PFHQD5uAfI3ArAxZRXA==",
            ("dist/css/bootstrap-datepicker.min.css", "dist/js/bootstrap-datepicker.min.js")),
    Package("@forevolve/bootstrap-dark", "1.1.0",
            "sha512-A3ucpEpxPoTVO490lZZCfjPXxv832l7mm1IxX3bXyxvgwnPGXDLyh7dWrphXKO8YBAu3EswbBEu3VSW8NRMW3A==",
            ("dist/css/bootstrap-prefers-dark.css",)),
    Package("vega", "5.33.1",
            "sha512-1fArfVDUqVbb5z8n+/nVQb+VNBzx8svY6CrsyTK4Ujm4yrd9I1auoKxBAPXLCavY1LcrbHUskQbGUP8gXOzyQw==",
            ("build/vega.min.js",)),
    Package("vega-lite", "5.23.0",
            "sha512-l4J6+AWE3DIjvovEoHl2LdtCUkfm4zs8Xxx7INwZEAv+XVb6kR6vIN1gt3t2gN2gs/y4DYTs/RPoTeYAuEg6mA==",
            ("build/vega-lite.min.js",)),
    Package("vega-embed", "6.29.0",
            "sha512-PmlshTLtLFLgWtF/b23T1OwX53AugJ9RZ3qPE2c01VFAbgt3/GSNI/etzA/GzdrkceXFma+FDHNXUppKuM0U6Q==",
            ("build/vega-embed.min.js",)),
    Package("@fortawesome/fontawesome-free", "6.6.0",
            "sha512-60G28ke/sXdtS9KZCpZSHHkCbdsOGEhIUGlwq6yhY74UpTiToIh8np7A8yphhM4BWsvNFtIvLpi4co+h9Mr9Ow==",
            ("css/all.min.css", "webfonts/")),
    Package("jquery", "3.7.1",
            "sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==",
            ("dist/jquery.min.js",)),
    Package("popper.js", "1.12.9",
            "sha512-s0EEi9xiSCdqz9lV4IiVH5yIZnDX/U1t0tCjB+0jXx9jW8lrR7kOpVupiUg175ogqVoudpDXHF1p6dKATCHMeg==",
            ("dist/umd/popper.min.js",)),
)
_BY_KEY = {(p.name, p.version): p for p in PACKAGES}

# every CDN URL of GX 1.24's templates -> (package, version, file inside it)
CDN = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
        ("bootstrap", "4.3.1", "dist/css/bootstrap.min.css"),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js":
        ("bootstrap", "4.3.1", "dist/js/bootstrap.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        ("bootstrap-table", "1.19.1", "dist/bootstrap-table.min.css"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        ("bootstrap-table", "1.19.1", "dist/bootstrap-table.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        ("bootstrap-table", "1.19.1",
         "dist/extensions/filter-control/bootstrap-table-filter-control.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        ("bootstrap-table", "1.19.0",
         "dist/extensions/filter-control/bootstrap-table-filter-control.css"),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        ("bootstrap-table", "1.19.0",
         "dist/extensions/filter-control/bootstrap-table-filter-control.min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        ("bootstrap-datepicker", "1.9.0", "dist/css/bootstrap-datepicker.min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        ("bootstrap-datepicker", "1.9.0", "dist/js/bootstrap-datepicker.min.js"),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        ("@forevolve/bootstrap-dark", "1.1.0", "dist/css/bootstrap-prefers-dark.css"),
    "https://cdn.jsdelivr.net/npm/vega@5": ("vega", "5.33.1", "build/vega.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-lite@5": ("vega-lite", "5.23.0", "build/vega-lite.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-embed@6":
        ("vega-embed", "6.29.0", "build/vega-embed.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        ("@fortawesome/fontawesome-free", "6.6.0", "css/all.min.css"),
    "https://code.jquery.com/jquery-3.7.1.min.js": ("jquery", "3.7.1", "dist/jquery.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js":
        ("popper.js", "1.12.9", "dist/umd/popper.min.js"),
}

LICENCE_NAMES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "license", "LICENSE-MIT")


class OfflineDocsError(RuntimeError):
    pass


# --------------------------------------------------------------------------- vendoring


def _wanted(pkg: Package, member: str) -> bool:
    if member in LICENCE_NAMES:
        return True
    return any(member == f or (f.endswith("/") and member.startswith(f)) for f in pkg.files)


def _complete(dest: Path, pkg: Package) -> bool:
    marker = dest / pkg.key / ".integrity"
    return marker.is_file() and marker.read_text().strip() == pkg.integrity


def vendor(dest: Path = VENDOR_DIR, *, timeout: float = 60.0, say=print) -> Path:
    """Download (once) and unpack the files of ``PACKAGES`` into ``dest/<name>@<version>/``.
    Each tarball must match its pinned sha512; an existing complete folder is kept."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for pkg in PACKAGES:
        if _complete(dest, pkg):
            continue
        with urllib.request.urlopen(pkg.tarball, timeout=timeout) as response:  # noqa: S310
            data = response.read()
        algo, _, expected = pkg.integrity.partition("-")
        got = base64.b64encode(hashlib.new(algo, data).digest()).decode()
        if got != expected:
            raise OfflineDocsError(f"{pkg.tarball}: {algo} {got} is not the pinned {expected}")
        target = dest / pkg.key
        shutil.rmtree(target, ignore_errors=True)
        found = set()
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                if not member.isfile():
                    continue
                inner = member.name.split("/", 1)[1] if "/" in member.name else member.name
                if ".." in Path(inner).parts or not _wanted(pkg, inner):
                    continue
                out = target / inner
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(tar.extractfile(member).read())
                found.add(inner)
        missing = [f for f in pkg.files
                   if not (f in found or (f.endswith("/") and any(x.startswith(f) for x in found)))]
        if missing:
            raise OfflineDocsError(f"{pkg.name}@{pkg.version} has no {', '.join(missing)}")
        (target / ".integrity").write_text(pkg.integrity + "\n")
        say(f"vendored {pkg.name}@{pkg.version} ({len(found)} files, {len(data) // 1024} KiB tarball)")
    return dest


def missing_assets(source: Path = VENDOR_DIR) -> list[str]:
    """The packages not (completely) vendored in ``source``."""
    return [f"{p.name}@{p.version}" for p in PACKAGES if not _complete(Path(source), p)]


# --------------------------------------------------------------------------- rewriting

_TAG = re.compile(r"<(?:script|link)\b[^>]*>", re.IGNORECASE)
_SRI = re.compile(r"\s+(?:integrity|crossorigin)(?:=(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?",
                  re.IGNORECASE)
_GX_ASSET = re.compile(re.escape(GX_ASSETS) + r"([\w.-]+)(\?[^\"')\s]*)?")
_GX_STATIC = re.compile(r'\b(src|href)="(?:\./|(?:\.\./)+)?static/(images|styles|fonts|scripts)/')
# what a browser would fetch from the network on its own: scripts, styles, images, fonts
_EXTERNAL = re.compile(
    r"<(?:script|img|iframe|source)\b[^>]*\ssrc=[\"']?(https?:)?//[^\"'\s>]+"
    r"|<link\b[^>]*\shref=[\"']?(https?:)?//[^\"'\s>]+"
    r"|url\(\s*[\"']?(https?:)?//[^)\"']+"
    r"|@import\s+[\"'](https?:)?//[^\"']+",
    re.IGNORECASE)


def _local(url: str) -> str:
    name, version, path = CDN[url]
    return f"{SITE_SUBDIR}/{_BY_KEY[(name, version)].key}/{path}"


def rewrite_html(html: str, prefix: str, images: set[str]) -> tuple[str, int]:
    """``html`` with every known CDN link pointing at ``prefix + static/vendor/...`` (``prefix``:
    the relative path from the page to the Data Docs folder, "" or "../../"), and GX's logo
    from its S3 bucket pointing at ``static/images/`` (``images``: the files there). Returns
    the new text and the number of links rewritten."""
    count = 0

    def tag(match: re.Match) -> str:
        nonlocal count
        text = match.group(0)
        for url in CDN:
            for quote in ('"', "'"):
                if f"{quote}{url}{quote}" in text:
                    text = text.replace(f"{quote}{url}{quote}", f"{quote}{prefix}{_local(url)}{quote}")
                    text = _SRI.sub("", text)
                    count += 1
        return text

    html = _TAG.sub(tag, html)

    def gx_image(match: re.Match) -> str:
        nonlocal count
        count += 1
        # the dark-mode logo (full_logo_dark.png) is not shipped with GX: the light one stands in
        name = match.group(1) if match.group(1) in images else "logo-long.png"
        return f"{prefix}static/images/{name}"

    html = _GX_ASSET.sub(gx_image, html)
    # GX's own static files, at the page's real depth (GX counts a suite's dots to climb to the
    # site root and misses the batch folder: a validation page's favicon link goes one short)
    html = _GX_STATIC.sub(lambda m: f'{m.group(1)}="{prefix}static/{m.group(2)}/', html)
    return html, count


def external_resources(text: str) -> list[str]:
    """The network resources a browser would load for ``text`` (HTML or CSS)."""
    return [m.group(0) for m in _EXTERNAL.finditer(text)]


@dataclass
class OfflineResult:
    pages: int
    links: int
    external: dict[str, list[str]]  # page (relative) -> resources still on the network


def make_offline(docs_dir: Path, source: Path = VENDOR_DIR) -> OfflineResult:
    """Copy the vendored assets next to the Data Docs in ``docs_dir`` and point every page's
    CDN links at them. Raises ``OfflineDocsError`` when the assets were never vendored."""
    docs_dir = Path(docs_dir)
    missing = missing_assets(source)
    if missing:
        raise OfflineDocsError(
            f"the Data Docs' scripts and styles are not vendored in {source} ({', '.join(missing)}):"
            " run `make setup` (or `python -m siyu.offline_docs vendor`)")
    target = docs_dir / SITE_SUBDIR
    for pkg in PACKAGES:
        shutil.copytree(Path(source) / pkg.key, target / pkg.key, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".integrity"))
    images_dir = docs_dir / "static" / "images"
    images = {p.name for p in images_dir.iterdir()} if images_dir.is_dir() else set()
    pages = links = 0
    external: dict[str, list[str]] = {}
    for page in sorted(docs_dir.rglob("*.html")):
        if target in page.parents:
            continue
        rel = os.path.relpath(docs_dir, page.parent)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        text = page.read_text(encoding="utf-8")
        new, n = rewrite_html(text, prefix, images)
        if new != text:
            page.write_text(new, encoding="utf-8")
        pages += 1
        links += n
        left = external_resources(new)
        if left:
            external[page.relative_to(docs_dir).as_posix()] = left
    for css in sorted((docs_dir / "static" / "styles").glob("*.css")):
        text = css.read_text(encoding="utf-8")
        new, n = rewrite_html(text, "../../", images)  # static/styles/x.css -> docs root
        if new != text:
            css.write_text(new, encoding="utf-8")
        links += n
        left = external_resources(new)
        if left:
            external[css.relative_to(docs_dir).as_posix()] = left
    if external:
        log.warning("Data Docs still load from the network: %s", external)
    return OfflineResult(pages=pages, links=links, external=external)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m siyu.offline_docs", description=__doc__.split(
        "\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("vendor", help="download the Data Docs' assets from npm (make setup)")
    v.add_argument("--dest", type=Path, default=VENDOR_DIR)
    o = sub.add_parser("rewrite", help="make a built Data Docs folder work offline")
    o.add_argument("docs_dir", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "vendor":
            vendor(args.dest)
            return 0
        result = make_offline(args.docs_dir)
    except (OfflineDocsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{result.pages} pages, {result.links} links made local")
    for page, left in result.external.items():
        print(f"still on the network: {page}: {left}", file=sys.stderr)
    return 2 if result.external else 0


if __name__ == "__main__":
    raise SystemExit(main())
