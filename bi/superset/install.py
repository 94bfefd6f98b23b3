"""A local Superset for the starter dashboard: its own virtual environment and an initialised
metadata database, built once into a cache folder and reused.

    .venv/bin/python bi/superset/install.py            # or: make superset-env
    .venv/bin/python bi/superset/install.py --dest DIR

Superset's dependencies clash with Airflow's, so it never goes into the project's venv: it is
installed with uv from ``requirements.txt`` (compiled from ``requirements.in``, Superset 5.0.0
+ duckdb-engine, Python 3.11) into ``<dest>/venv``. ``superset db upgrade``, ``fab
create-admin`` and ``superset init`` then run once against a SQLite file kept as
``<dest>/template.db`` (user ``admin``, password ``admin``: a local test instance only):
each use copies it, so a fresh Superset starts in seconds instead of minutes.

``<dest>`` defaults to ``$SIYU_SUPERSET_CACHE`` or ``~/.cache/siyu/superset-<hash of
requirements.txt>``; a new requirements file means a new folder. Downloads come from PyPI
(uv's cache); nothing is downloaded when the folder is ready.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
ADMIN = ("admin", "admin")
SECRET = "siyu-local-superset-not-for-production-0123456789"


def default_dest() -> Path:
    configured = os.environ.get("SIYU_SUPERSET_CACHE")
    if configured:
        return Path(configured)
    key = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "siyu" / f"superset-{key}"


def write_config(home: Path, db: Path) -> Path:
    """A superset_config.py for a loopback test instance with its metadata in ``db``."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "superset_config.py"
    config.write_text(
        f"SECRET_KEY = {SECRET!r}\n"
        f"SQLALCHEMY_DATABASE_URI = {('sqlite:///' + str(db))!r}\n"
        "WTF_CSRF_ENABLED = False\n"
        "SQLALCHEMY_TRACK_MODIFICATIONS = False\n"
        # no example data, no telemetry, no outbound calls at start
        "SUPERSET_LOAD_EXAMPLES = False\n"
        "THUMBNAILS_ENABLED = False\n"
        "FEATURE_FLAGS = {}\n"
    )
    return config


def superset_env(home: Path, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SIYU_"))}
    env.pop("PYTHONPATH", None)
    env.update(SUPERSET_CONFIG_PATH=str(config), SUPERSET_HOME=str(home), FLASK_APP="superset",
               PYTHONDONTWRITEBYTECODE="1", SUPERSET_TELEMETRY="false")
    return env


def _run(cmd: list, env: dict | None = None, log=None) -> None:
    t0 = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True)
    if log:
        log(f"{Path(str(cmd[0])).name} {' '.join(str(c) for c in cmd[1:3])}: "
            f"{time.perf_counter() - t0:.0f}s")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{(proc.stdout + proc.stderr)[-4000:]}")


def ensure(dest: Path | None = None, log=print) -> Path:
    """Build (once) and return the cache folder: ``venv/`` and ``template.db``."""
    dest = Path(dest or default_dest())
    dest.mkdir(parents=True, exist_ok=True)
    ready = dest / ".ready"
    with open(dest / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs on one machine build it once
        if ready.is_file():
            return dest
        uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
        if uv is None:
            raise RuntimeError("uv not found: run `make setup`")
        venv = dest / "venv"
        shutil.rmtree(venv, ignore_errors=True)
        _run([uv, "venv", "-q", "--python", sys.executable, venv], log=log)
        _run([uv, "pip", "install", "-q", "--python", venv / "bin" / "python", "-r",
              REQUIREMENTS], log=log)
        home = dest / "home"
        shutil.rmtree(home, ignore_errors=True)
        db = home / "superset.db"
        env = superset_env(home, write_config(home, db))
        superset = venv / "bin" / "superset"
        _run([superset, "db", "upgrade"], env, log)
        _run([superset, "fab", "create-admin", "--username", ADMIN[0], "--firstname", "Siyu",
              "--lastname", "Admin", "--email", "admin@localhost", "--password", ADMIN[1]],
             env, log)
        _run([superset, "init"], env, log)
        shutil.copy2(db, dest / "template.db")
        ready.write_text("ok\n")
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=None)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        dest = ensure(args.dest)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Superset ready in {dest} ({time.perf_counter() - t0:.0f}s): venv/bin/superset, "
          "template.db (admin/admin)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
