"""The package's layers (docs/architecture.md#the-python-package), checked by import-linter
against the contracts in pyproject.toml ([tool.importlinter]): each layer imports only from
the layers below it, every module of ``siyu`` is in a layer (``exhaustive``), no production
module imports ``siyu.devtools``, the ``siyu`` command imports no Airflow module, and the
warehouse engines stay apart. Imports inside functions count.

The second test runs the same contracts on a copy of the package with one import made wrong
(and one module left out of the layers), so the check is known to fail when it should."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "include" / "siyu"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(source_root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` of this venv with the repository's contracts, on the ``siyu`` package
    found in ``source_root`` (no cache: every run reads the source)."""
    assert LINT_IMPORTS.is_file(), f"{LINT_IMPORTS} missing: `make setup` installs import-linter"
    env = {**os.environ, "PYTHONPATH": str(source_root)}
    return subprocess.run(
        [LINT_IMPORTS, "--config", REPO / "pyproject.toml", "--no-cache", "--no-logo"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_the_package_keeps_its_import_contracts():
    run = lint_imports(PACKAGE.parent)
    report = run.stdout + run.stderr
    if run.returncode != 0:
        pytest.fail(f"import-linter: a contract is broken\n{report}", pytrace=False)
    assert "0 broken" in report and "siyu: each layer imports only" in report


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """A copy of the package's code (no vendored assets) that a test may break."""
    shutil.copytree(PACKAGE, tmp_path / "siyu",
                    ignore=shutil.ignore_patterns("_vendor", "__pycache__"))
    return tmp_path


def _append(path: Path, code: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + code, encoding="utf-8")


# (what is done to the copy, a line import-linter must print)
BREAKAGES = {
    "core imports delivery, inside a function": (
        lambda root: _append(root / "siyu" / "db.py",
                             "def _wrong():\n    from .extracts import model\n    return model\n"),
        "siyu.db is not allowed to import siyu.extracts",
    ),
    "the warehouse imports the Airflow tasks": (
        lambda root: _append(root / "siyu" / "pipeline.py", "from . import orchestration\n"),
        "siyu.pipeline is not allowed to import siyu.orchestration",
    ),
    "a production module imports the dev tools": (
        lambda root: _append(root / "siyu" / "report.py",
                             "def _wrong():\n    from .devtools import generate\n"
                             "    return generate\n"),
        "siyu.report is not allowed to import siyu.devtools",
    ),
    "a new module outside the layers": (
        lambda root: (root / "siyu" / "newcomer.py").write_text('"""Not placed."""\n'),
        "- siyu.newcomer",
    ),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_the_check_fails_on_a_broken_layering(package_copy, breakage):
    unchanged = lint_imports(package_copy)
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr  # the copy is checked
    change, expected = BREAKAGES[breakage]
    change(package_copy)
    run = lint_imports(package_copy)
    report = run.stdout + run.stderr
    assert run.returncode != 0, f"import-linter kept the contracts after: {breakage}\n{report}"
    assert expected in report, report
