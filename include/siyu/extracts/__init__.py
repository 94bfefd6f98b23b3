"""Department extracts built from the published marts (issue 5).

Interface shared by the extract builder and the delivery code:

    build_extracts(warehouse, day, outbox, audiences=AUDIENCES, language="zh", progress=None)
        -> list[Extract]

writes ``outbox/<day>/<audience>/`` (an XLSX workbook, the same tables as CSV, a
self-contained HTML report) and returns one ``Extract`` per audience;

    build_period_extracts(warehouse, period, outbox, day=None, ...) -> list[Extract]

the weekly / monthly reports into ``outbox/<period>-<period_start>/<audience>/``
(``siyu.extracts.period``).
"""

from __future__ import annotations

from .build import build_extracts
from .model import AUDIENCES, LANGUAGES, Extract
from .period import PERIOD_TYPES, build_period_extracts

__all__ = ["AUDIENCES", "LANGUAGES", "PERIOD_TYPES", "Extract", "build_extracts",
           "build_period_extracts"]
