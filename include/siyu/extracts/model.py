"""What an extract is: the audiences, the languages and ``Extract`` (the files written for one
audience and day), shared by the builder (``build.py``) and the delivery code."""

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
    directory: Path  # outbox/<day>/<audience>/ (a period's: outbox/<period>-<start>/<audience>/)
    xlsx: Path
    html: Path
    csvs: list[Path] = field(default_factory=list)
    subject: str = ""  # e-mail subject, in the extract's language
    html_body: str = ""  # short HTML e-mail body: headline KPIs, target, status
    period: str = "day"  # day, week or month (siyu.extracts.period): then day is its first day

    @property
    def attachments(self) -> list[Path]:
        """What an e-mail carries: the workbook and the HTML report."""
        return [self.xlsx, self.html]
