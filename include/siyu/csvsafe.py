"""CSV files that are safe to open in a spreadsheet (formula injection).

Excel, WPS and LibreOffice execute a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula, also in a CSV file (``=HYPERLINK("http://x","y")``, ``+cmd|' /C calc'!A0``), and a
leading tab or carriage return can hide such a prefix. Channel, tag, group and campaign names
come from staff and source systems, so every CSV Siyu writes goes through ``writer`` here: a
text cell that starts with one of those characters gets a leading apostrophe (shown as text,
never run; the OWASP advice). Numbers stay numbers: an ``int``/``float``/``Decimal`` is written
as is, and so is a text that is a plain number (``-3.5``, ``+7``), which a spreadsheet reads as
that number and cannot run.

Not covered on purpose: the landing files ``siyu generate`` writes (synthetic *source* data,
loaded by the loader, must stay byte-for-byte what a source system sends) and the transfer file
of ``siyu.postgres`` (read back by PostgreSQL's COPY, never by a person).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, TextIO

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet shows it without running it: text starting with a formula
    character is prefixed with ``'``; numbers and everything else are unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) \
            and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose rows are passed through ``safe_cell``."""

    def __init__(self, fh: TextIO, **fmtparams: Any) -> None:
        self._writer = csv.writer(fh, **fmtparams)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(fh: TextIO, **fmtparams: Any) -> SafeWriter:
    """The CSV writer of every file Siyu writes for people (see the module doc)."""
    return SafeWriter(fh, **fmtparams)
