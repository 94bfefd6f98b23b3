"""Department extracts built from the published marts (issue 5).

Interface shared by the extract builder and the delivery code:

    build_extracts(warehouse, day, outbox, audiences=AUDIENCES, language="zh", progress=None)
        -> list[Extract]

writes ``outbox/<day>/<audience>/`` (an XLSX workbook, the same tables as CSV, a
self-contained HTML report) and returns one ``Extract`` per audience.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

AUDIENCES = ("marketing", "operations", "sales", "service", "executive")
LANGUAGES = ("zh", "en")


@dataclass
class Extract:
    audience: str  # one of AUDIENCES
    day: date
    language: str  # "zh" or "en"
    directory: Path  # outbox/<day>/<audience>/
    xlsx: Path
    html: Path
    csvs: list[Path] = field(default_factory=list)
    subject: str = ""  # e-mail subject, in the extract's language
    html_body: str = ""  # short HTML e-mail body: headline KPIs, target, status

    @property
    def attachments(self) -> list[Path]:
        """What an e-mail carries: the workbook and the HTML report."""
        return [self.xlsx, self.html]



# after Extract and AUDIENCES: build.py imports them from this package
from .build import build_extracts  # noqa: E402

__all__ = ["AUDIENCES", "LANGUAGES", "Extract", "build_extracts"]
