"""The Siyu DAGs of the installed package, for an Airflow deployment that installs Siyu as a
wheel (``pip install siyu-*.whl``) instead of cloning the repository.

Airflow finds DAGs in the files of its DAG folder. Put there one file with one line (the file
must mention "airflow" and "dag" for Airflow's safe-mode scan; this line does)::

    from siyu.airflow_dags import *  # noqa: F401,F403  the Siyu airflow DAGs

It runs the DAG files bundled in the package (``siyu/_bundle/dags/``: the same files as the
repository's ``dags/``) and exposes each DAG they define as a global of that file, which is
what Airflow collects. ``SIYU_DAG_TOPOLOGY`` chooses which pipeline DAGs exist, as for the
repository's folder. Alternatively point ``[core] dags_folder`` at ``dags_folder()``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .config import REPO_ROOT


def dags_folder() -> Path:
    """The folder of the Siyu DAG files (the checkout's ``dags/`` or the bundled copy)."""
    return REPO_ROOT / "dags"


def _load() -> dict[str, object]:
    from airflow.sdk import DAG

    found: dict[str, object] = {}
    for path in sorted(dags_folder().glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"siyu_bundled_dags_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for value in vars(module).values():
            if isinstance(value, DAG):
                found[value.dag_id] = value
    return found


_DAGS = _load()
globals().update(_DAGS)
__all__ = sorted(_DAGS)
