"""Department extracts built from the published marts (issue 5).

Interface shared by the extract builder and the delivery code:

    build_extracts(warehouse, day, outbox, audiences=AUDIENCES, language="zh", progress=None)
        -> list[Extract]

writes ``outbox/<day>/<audience>/`` (an XLSX workbook, the same tables as CSV, a
self-contained HTML report) and returns one ``Extract`` per audience.
"""

from __future__ import annotations

from .build import build_extracts
from .model import AUDIENCES, LANGUAGES, Extract

__all__ = ["AUDIENCES", "LANGUAGES", "Extract", "build_extracts"]
