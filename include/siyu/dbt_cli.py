"""dbt's command line, with the parsed project kept between runs (``siyu-dbt``).

Every ``dbt build`` starts by parsing the project: ~6 s here for ~110 models and ~450 tests,
whatever the data size, before the first model runs. dbt's own partial parsing cannot reuse
that work for Siyu's runs: it starts over whenever the command-line ``--vars`` change (each
run passes its ``as_of``) or any value of the profile does (each run builds its own working
copy, ``<stem>.building-<run key>.duckdb``; cosmos runs from a fresh temporary copy of the
project). None of those change what parsing produces, so this launcher keeps the parsed
manifest itself and hands it to dbt (``dbtRunner(manifest=...)``, dbt's programmatic API).

``siyu-dbt ARGS`` (or ``python -m siyu.dbt_cli ARGS``) takes dbt's arguments and exit codes
(0 success, 1 a node failed, 2 dbt could not run). For the commands that run nodes
(``build``, ``run``, ``test``, ``seed``, ``snapshot``, ``compile``, ``show``, ``ls``,
``docs generate``) it looks up a manifest saved under a key of everything parsing depends on:

- the versions of dbt-core and of the installed dbt adapters;
- every file of the project (path inside the project and content; not ``target/``,
  ``logs/``, ``dbt_packages/``) and the profiles file;
- the values of the environment variables the profiles file names, except those that only
  say where files and servers are or how many threads run (``RUNTIME_ONLY_ENV``); for the
  DuckDB file only its catalog name (the file name up to its first dot) counts, which is
  what dbt puts into every relation name;
- the values of the environment variables the project's files name (``env_var(...)`` in a
  model, macro or yml: e.g. ``SIYU_SCHEMA_SUFFIX``, which the Spark build sets and its
  run-operations do not), with the same exceptions;
- the target (``--target``, else the one the profile picks), ``--profile`` and ``--vars``
  without ``as_of`` (``as_of`` is read in SQL only, never in a model's configuration:
  tests/test_dbt_cli.py checks this).

A hit skips parsing (the saved manifest loads in ~0.2 s); a miss, or a saved manifest whose
environment variables read while parsing (``env_var`` in models) have other values now,
parses as dbt does and saves the result for the next run. A saved manifest that cannot be
loaded (another dbt version, a damaged file) counts as a miss. Seeds are read from the
project folder of *this* run.

| variable | meaning | default |
|---|---|---|
| SIYU_DBT_MANIFEST_CACHE | folder of the saved manifests (`off`: parse every time, as plain `dbt`) | `<dbt target path>/siyu_manifests` |
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import tempfile
from importlib import metadata
from pathlib import Path

# commands that load the manifest and so can take a saved one
MANIFEST_COMMANDS = {"build", "run", "test", "seed", "snapshot", "compile", "show", "ls",
                     "list", "docs", "retry", "run-operation"}

# environment variables of the profile that do not change what parsing produces: where the
# files and servers are, resources, credentials (SIYU_WAREHOUSE counts by its catalog name)
RUNTIME_ONLY_ENV = {
    "SIYU_RAW_DIR", "SIYU_DUCKDB_MEMORY_LIMIT", "SIYU_DUCKDB_THREADS", "SIYU_DUCKDB_TEMP_DIR",
    "SIYU_DBT_THREADS", "SIYU_PG_HOST", "SIYU_PG_PORT", "SIYU_PG_USER", "SIYU_PG_PASSWORD",
    "SIYU_SPARK_HOST", "SIYU_SPARK_MASTER", "SIYU_SPARK_DRIVER_MEMORY",
    "SIYU_SPARK_SHUFFLE_PARTITIONS", "SIYU_SPARK_WAREHOUSE_DIR", "SIYU_SPARK_DRIVER_JAVA_OPTIONS",
    "SIYU_PII_SALT",  # a secret read at run time (never rendered into SQL), not into the key
}
PARSE_OPTIONS = {"--project-dir", "--profiles-dir", "--profile", "--target", "-t", "--vars",
                 "--target-path", "--log-path", "--log-format", "--log-format-file"}
SKIPPED_DIRS = {"target", "logs", "dbt_packages", "__pycache__"}
# not parsed as project files (the profile is hashed on its own; cosmos leaves both out of its
# temporary copy of the project)
SKIPPED_ROOT_FILES = {"profiles.yml", "package-lock.yml"}
KEEP_MANIFESTS = 6
_ENV_VAR_RE = re.compile(r"""env_var\(\s*['"]([A-Za-z0-9_]+)['"]""")


def _option(args: list[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _dbt_versions() -> list[str]:
    out = []
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name.startswith("dbt-") or name == "dbt":
            out.append(f"{name}=={dist.version}")
    return sorted(out)


def catalog_name(path: str) -> str:
    """The catalog DuckDB (and dbt-duckdb) names a database file by: the first non-empty
    dot-separated part of its file name (``siyu.building-x.duckdb`` -> ``siyu``)."""
    if not path or path == ":memory:":
        return "memory"
    return os.path.basename(path).lstrip(".").split(".")[0]


def _project_files(project_dir: Path) -> tuple[list[tuple[str, str]], set[str]]:
    """(path inside the project and sha256 of every project file, the environment variables
    the files name in ``env_var(...)``)."""
    files = []
    env_names: set[str] = set()
    for root, dirs, names in os.walk(project_dir, followlinks=True):  # cosmos links them
        rel_root = Path(root).relative_to(project_dir)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and not (rel_root == Path(".") and d in SKIPPED_DIRS)
                         and d != "__pycache__")
        for name in sorted(names):
            if name.startswith(".") or (rel_root == Path(".") and name in SKIPPED_ROOT_FILES):
                continue
            path = Path(root) / name
            content = path.read_bytes()
            files.append((str(rel_root / name), hashlib.sha256(content).hexdigest()))
            if b"env_var" in content:
                env_names.update(_ENV_VAR_RE.findall(content.decode("utf-8", "replace")))
    return files, env_names


def _profile_name(args: list[str], project_dir: Path) -> str | None:
    """``--profile``, else the project's ``profile:`` (cosmos names it, siyu run does not)."""
    import yaml

    explicit = _option(args, "--profile")
    if explicit:
        return explicit
    try:
        return (yaml.safe_load((project_dir / "dbt_project.yml").read_text()) or {}).get("profile")
    except (OSError, yaml.YAMLError, AttributeError):
        return None


def _effective_target(args: list[str], env: dict[str, str], project_dir: Path,
                      profiles_text: str) -> tuple[str | None, set[str]]:
    """The target dbt will use (``--target``, else the profile's ``target:`` rendered with
    ``env``: cosmos passes ``--target duckdb``, ``siyu run`` leaves it to the profile, and
    both mean one parse) and the environment variables the profile's target line reads."""
    import yaml

    explicit = _option(args, "--target") or _option(args, "-t")
    try:
        profiles = yaml.safe_load(profiles_text) or {}
        raw = str(profiles.get(_profile_name(args, project_dir), {}).get("target", ""))
    except (OSError, yaml.YAMLError, AttributeError):
        return explicit, set()
    target_vars = set(_ENV_VAR_RE.findall(raw))
    if explicit:
        return explicit, target_vars
    import jinja2

    def env_var(name: str, default: str | None = None) -> str:
        return env.get(name, default) or ""

    return jinja2.Template(raw).render(env_var=env_var), target_vars


def parse_key(args: list[str], env: dict[str, str] | None = None) -> str:
    """The key of the parsed manifest for dbt arguments ``args`` in environment ``env``."""
    env = dict(os.environ if env is None else env)
    project_dir = Path(_option(args, "--project-dir") or env.get("DBT_PROJECT_DIR") or ".")
    profiles_dir = Path(_option(args, "--profiles-dir") or env.get("DBT_PROFILES_DIR")
                        or project_dir)
    profiles = profiles_dir / "profiles.yml"
    profiles_text = profiles.read_text() if profiles.exists() else ""
    target, target_vars = _effective_target(args, env, project_dir, profiles_text)
    profile_env = {}
    for name in sorted(set(_ENV_VAR_RE.findall(profiles_text))):
        if name in RUNTIME_ONLY_ENV or name in target_vars:  # the target counts as `target`
            continue
        value = env.get(name)
        profile_env[name] = catalog_name(value) if name == "SIYU_WAREHOUSE" and value else value
    cli_vars = _option(args, "--vars")
    parsed_vars = {}
    if cli_vars:
        import yaml

        parsed_vars = yaml.safe_load(cli_vars) or {}
        parsed_vars.pop("as_of", None)
    files, project_env_names = _project_files(project_dir.resolve())
    # the environment variables the project's own files read (SIYU_SCHEMA_SUFFIX, the Spark
    # build's database suffix; SIYU_TIMEZONE): with their values in the key, runs that differ
    # in them keep a manifest each instead of replacing one another's
    project_env = {name: env.get(name) for name in sorted(project_env_names - RUNTIME_ONLY_ENV)}
    content = {
        "versions": _dbt_versions(),
        "files": files,
        "project_env": project_env,
        "profiles": profiles_text,
        "profile_env": profile_env,
        "target": target,
        "profile": _profile_name(args, project_dir),
        "vars": parsed_vars,
        "dbt_target_env": env.get("DBT_TARGET"),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def cache_dir(args: list[str], env: dict[str, str] | None = None) -> Path | None:
    env = os.environ if env is None else env
    configured = env.get("SIYU_DBT_MANIFEST_CACHE")
    if configured:
        return None if configured.lower() == "off" else Path(configured)
    project_dir = Path(_option(args, "--project-dir") or env.get("DBT_PROJECT_DIR") or ".")
    target = _option(args, "--target-path") or env.get("DBT_TARGET_PATH")
    return (Path(target) if target else project_dir / "target") / "siyu_manifests"


def _env_vars_unchanged(manifest) -> bool:
    """The environment variables the models read while parsing still have those values."""
    from dbt.constants import DEFAULT_ENV_PLACEHOLDER

    for name, value in (getattr(manifest, "env_vars", None) or {}).items():
        if value == DEFAULT_ENV_PLACEHOLDER:
            if name in os.environ:
                return False
        elif os.environ.get(name) != value:
            return False
    return True


def load_manifest(path: Path, project_dir: Path):
    """The saved manifest at ``path``, with its seeds read from ``project_dir``; None when it
    cannot be used."""
    from dbt.contracts.graph.manifest import Manifest
    from dbt.parser.manifest import extended_mashumuro_decoder
    from dbt.version import __version__

    try:
        manifest = Manifest.from_msgpack(path.read_bytes(), decoder=extended_mashumuro_decoder)
    except Exception:  # noqa: BLE001 - another dbt version, a damaged file: parse again
        return None
    if manifest.metadata.dbt_version != __version__ or not _env_vars_unchanged(manifest):
        return None
    project = str(project_dir.resolve())
    name = manifest.metadata.project_name
    for node in manifest.nodes.values():
        if getattr(node, "package_name", None) == name and hasattr(node, "root_path"):
            node.root_path = project
    manifest.build_flat_graph()
    manifest.build_parent_and_child_maps()
    return manifest


def save_manifest(manifest, path: Path) -> None:
    from dbt.parser.manifest import extended_mashumaro_encoder

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as tmp:
        tmp.write(manifest.to_msgpack(extended_mashumaro_encoder))
    os.chmod(tmp.name, 0o644)  # like the files dbt writes (a temporary file starts as 0600)
    os.replace(tmp.name, path)  # atomic: a concurrent reader sees the old file or the new one
    saved = sorted(path.parent.glob("*.msgpack"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in saved[KEEP_MANIFESTS:]:
        old.unlink(missing_ok=True)


def _parse_args(args: list[str]) -> list[str]:
    """The options of ``args`` that ``dbt parse`` takes too: where the project, profile,
    target folder and logs are, the target, the vars and the log format."""
    out = []
    for i, arg in enumerate(args):
        if arg.split("=", 1)[0] not in PARSE_OPTIONS:
            continue
        if "=" in arg:
            out.append(arg)
        elif i + 1 < len(args):
            out += [arg, args[i + 1]]
    return out


def run(args: list[str]) -> int:
    """Run dbt with ``args`` in this process; the exit code dbt's command line would give."""
    from dbt.cli.main import dbtRunner

    command = args[0] if args else ""
    directory = cache_dir(args) if command in MANIFEST_COMMANDS else None
    manifest = None
    if directory is not None:
        project_dir = Path(_option(args, "--project-dir") or os.environ.get("DBT_PROJECT_DIR")
                           or ".")
        saved = directory / f"{parse_key(args)}.msgpack"
        if saved.exists():
            manifest = load_manifest(saved, project_dir)
        if manifest is None:
            parsed = dbtRunner().invoke(["parse", *_parse_args(args)])
            if not parsed.success or parsed.result is None:
                return 2 if parsed.exception else 1
            manifest = parsed.result
            try:
                save_manifest(manifest, saved)
            except OSError as exc:  # a read-only or full disk costs the next run a parse only
                print(f"siyu-dbt: could not save the parsed manifest to {saved}: {exc}",
                      file=sys.stderr)
        else:
            with contextlib.suppress(OSError):  # pruned by a concurrent run: it is loaded
                os.utime(saved)  # recently used: kept by the pruning
    result = dbtRunner(manifest=manifest).invoke(args)
    if result.success:
        return 0
    return 2 if result.exception is not None else 1


def main(argv: list[str] | None = None) -> int:
    return run(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
