"""Which files of the landing zone are loadable, and what else lies there.

The landing contract (``siyu.contract``; README, "Ingestion") allows exactly
``<source>/<entity>/dt=YYYY-MM-DD/part*.(csv|jsonl)[.gz]`` for a known entity, with the
entity's own format. Anything else under a source folder (a malformed ``dt=`` folder, a file
outside any ``dt=`` folder, an unknown entity, a ``.txt`` in a partition, ...) and any
unknown folder at the landing root is *not loaded* and is reported as a ``LayoutIssue``, so
nothing lies in the landing zone unseen. Files directly at the landing root (the generator's
``_manifest.json``) are not under a source folder and are ignored.

The scan walks folders only (no file is opened), so it runs on every ingest, whatever dates
the ingest loads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from . import contract as C
from .contract import Entity

_DT_FOLDER = re.compile(r"dt=(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class LayoutIssue:
    path: str  # relative to the landing root, POSIX separators
    reason: str
    at_landing_root: bool = False  # an unknown source folder: seen by every source's scan


def part_file_pattern(entity: Entity) -> re.Pattern[str]:
    """File names a partition of ``entity`` may hold: ``part*.<fmt>`` or ``part*.<fmt>.gz``."""
    return re.compile(rf"part[^/]*\.{re.escape(entity.fmt)}(\.gz)?")


def partition_dir(landing_root: Path, entity: Entity, dt: date) -> Path:
    return Path(landing_root) / entity.source / entity.name / f"dt={dt.isoformat()}"


def partition_files(landing_root: Path, entity: Entity, dt: date) -> list[Path]:
    """The loadable files of one partition now (none when the folder is empty or gone)."""
    folder = partition_dir(landing_root, entity, dt)
    if not folder.is_dir():
        return []
    pattern = part_file_pattern(entity)
    return sorted(p for p in folder.iterdir() if p.is_file() and pattern.fullmatch(p.name))


def _dt_of(folder_name: str) -> date | None:
    m = _DT_FOLDER.fullmatch(folder_name)
    if not m:
        return None
    try:
        return date.fromisoformat(m[1])
    except ValueError:
        return None


def entity_dates(landing_root: Path, entity: Entity) -> list[date]:
    """The days of an entity's well-formed ``dt=`` partition folders (empty ones too: a day
    may hold zero part files)."""
    base = Path(landing_root) / entity.source / entity.name
    if not base.is_dir():
        return []
    return sorted(d for d in (_dt_of(p.name) for p in base.iterdir() if p.is_dir()) if d)


def landed_dates(landing_root: Path, source: str) -> list[date]:
    """Every well-formed ``dt=`` partition of a source's known entities."""
    found: set[date] = set()
    for e in C.entities_of(source):
        found.update(entity_dates(landing_root, e))
    return sorted(found)


def scan_source(landing_root: Path, source: str) -> list[LayoutIssue]:
    """Every path under ``<landing_root>/<source>`` that is not a loadable partition file,
    plus the unknown folders at the landing root. A bad folder is reported once, not per file."""
    root = Path(landing_root)
    issues = [_issue(root, p, f"unknown source folder (expected one of {', '.join(C.SOURCES)})",
                     at_landing_root=True)
              for p in sorted(root.iterdir()) if p.is_dir() and p.name not in C.SOURCES]
    base = root / source
    if not base.is_dir():
        return issues
    entities = {e.name: e for e in C.entities_of(source)}
    for p in sorted(base.iterdir()):
        if p.is_file():
            issues.append(_issue(root, p, "file outside any entity folder"))
        elif p.name not in entities:
            issues.append(_issue(root, p, f"unknown entity {p.name!r} of source {source}"))
        else:
            issues += _scan_entity(root, p, entities[p.name])
    return issues


def _scan_entity(root: Path, folder: Path, entity: Entity) -> list[LayoutIssue]:
    issues = []
    pattern = part_file_pattern(entity)
    for p in sorted(folder.iterdir()):
        if p.is_file():
            issues.append(_issue(root, p, "file outside any dt=YYYY-MM-DD folder"))
        elif _dt_of(p.name) is None:
            issues.append(_issue(root, p, "malformed partition folder (expected dt=YYYY-MM-DD)"))
        else:
            for f in sorted(p.iterdir()):
                if f.is_dir():
                    issues.append(_issue(root, f, "folder inside a partition"))
                elif not pattern.fullmatch(f.name):
                    issues.append(_issue(
                        root, f, f"not a part file of {entity.path} "
                        f"(expected part*.{entity.fmt} or part*.{entity.fmt}.gz)"))
    return issues


def _issue(root: Path, path: Path, reason: str, at_landing_root: bool = False) -> LayoutIssue:
    return LayoutIssue(path.relative_to(root).as_posix(), reason, at_landing_root)
