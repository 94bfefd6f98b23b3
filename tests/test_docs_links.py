"""The documentation's links resolve: every relative link of README.md and docs/*.md names an
existing file (and, for a Markdown page, an existing heading), and every ``docs/<page>.md#...``
that user-facing text cites (the KPI definitions of the extracts, the dbt descriptions that
become the bi views' comments) names a page and heading of the book. Plain text, no network."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
PAGES = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
CITING = [REPO / "include" / "siyu" / "extracts" / "definitions.py",
          *sorted((REPO / "dbt_project" / "models").rglob("*.yml"))]

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_CITED = re.compile(r"docs/([\w.-]+\.md)(?:#([\w-]+))?")


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in _FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"#{1,6}\s+(.+)$", line)
        if m:
            a = anchor(m.group(1))
            n = seen.get(a, 0)
            seen[a] = n + 1
            found.add(a if n == 0 else f"{a}-{n}")
    return found


def test_anchor_is_githubs():
    assert anchor("Personal data (PIPL)") == "personal-data-pipl"
    assert anchor("One run at a time: the lock and the lease") == (
        "one-run-at-a-time-the-lock-and-the-lease")
    assert anchor("1v1 effective communication rate") == "1v1-effective-communication-rate"


def test_every_relative_link_of_the_readme_and_the_book_resolves():
    assert (DOCS / "README.md").is_file()
    broken = []
    for page in PAGES:
        for target in _LINK.findall(_FENCE.sub("", page.read_text(encoding="utf-8"))):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, fragment = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            if not dest.exists():
                broken.append(f"{page.relative_to(REPO)}: {target} (no such file)")
            elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
                broken.append(f"{page.relative_to(REPO)}: {target} (no such heading)")
    assert broken == []


def test_user_facing_citations_name_a_page_and_heading_of_the_book():
    broken = []
    for f in CITING:
        for m in _CITED.finditer(f.read_text(encoding="utf-8")):
            page = DOCS / m.group(1)
            if not page.is_file():
                broken.append(f"{f.relative_to(REPO)}: docs/{m.group(1)} (no such page)")
            elif m.group(2) and m.group(2) not in anchors(page):
                broken.append(f"{f.relative_to(REPO)}: {m.group(0)} (no such heading)")
    assert broken == []
