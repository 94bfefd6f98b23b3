"""siyu-dbt (siyu.dbt_cli): dbt's command line reusing the parsed project between runs.

The key of a saved manifest must change with everything parsing depends on and with nothing
else: a run's as_of and its working copy's file name must hit, a changed model, var, target
or warehouse catalog must miss. On a tiny dbt project of its own, the slow tests check that a
hit really skips parsing and still applies this run's as_of, and that a miss (a changed model,
an environment variable a model reads while parsing) parses again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from siyu import dbt_cli
from siyu.config import REPO_ROOT

SIYU_DBT = Path(sys.executable).with_name("siyu-dbt")
PROFILES = """
tiny:
  target: "{{ env_var('SIYU_DBT_TARGET', 'duckdb') }}"
  outputs:
    duckdb:
      type: duckdb
      path: "{{ env_var('SIYU_WAREHOUSE') }}"
      threads: "{{ env_var('SIYU_DBT_THREADS', '1') | int }}"
"""
MODEL = """select cast('{{ var("as_of") }}' as date) as as_of,
       '{{ env_var("TINY_LABEL", "none") }}' as label,
       VERSION as version
"""


def tiny_project(root: Path, version: int = 1) -> Path:
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0'\nprofile: tiny\nconfig-version: 2\n"
        "vars:\n  as_of: null\nmodels:\n  tiny:\n    +materialized: table\n")
    (root / "profiles.yml").write_text(PROFILES)
    (root / "models" / "dated.sql").write_text(MODEL.replace("VERSION", str(version)))
    return root


def args_for(project: Path, as_of: str, *extra: str) -> list[str]:
    return ["build", "--project-dir", str(project), "--profiles-dir", str(project),
            "--vars", json.dumps({"as_of": as_of, **dict(zip(extra[::2], extra[1::2]))})]


def test_catalog_name_is_the_file_name_up_to_its_first_dot():
    assert dbt_cli.catalog_name("/w/siyu.building-siyu-run-20261129T1009-1.duckdb") == "siyu"
    assert dbt_cli.catalog_name("/w/siyu.duckdb") == "siyu"
    assert dbt_cli.catalog_name("/w/.hidden.duckdb") == "hidden"
    assert dbt_cli.catalog_name(":memory:") == "memory"


def test_the_key_ignores_as_of_and_the_working_copy_but_not_what_parsing_reads(tmp_path):
    project = tiny_project(tmp_path / "p")
    env = {"SIYU_WAREHOUSE": "/w/siyu.building-run-1.duckdb", "SIYU_RAW_DIR": "/raw/a"}
    key = dbt_cli.parse_key(args_for(project, "2025-06-28"), env)

    # what changes from run to run: as_of, the working copy, the raw folder, thread counts
    assert dbt_cli.parse_key(args_for(project, "2025-06-29"), env) == key
    assert dbt_cli.parse_key(args_for(project, "2025-06-29"),
                             {**env, "SIYU_WAREHOUSE": "/other/siyu.building-run-2.duckdb",
                              "SIYU_RAW_DIR": "/raw/b", "SIYU_DBT_THREADS": "4"}) == key
    # Siyu's own profile: the salt (a secret) and the Spark session's resources are not keyed
    siyu_args = ["build", "--project-dir", str(REPO_ROOT / "dbt_project"), "--profiles-dir",
                 str(REPO_ROOT / "dbt_project")]
    siyu_key = dbt_cli.parse_key(siyu_args, env)
    assert dbt_cli.parse_key(siyu_args, {**env, "SIYU_PII_SALT": "s3cret",
                                         "SIYU_SPARK_WAREHOUSE_DIR": "/s/run-2"}) == siyu_key
    assert dbt_cli.parse_key(siyu_args, {**env, "SIYU_PG_DATABASE": "other"}) != siyu_key
    # an environment variable a project file reads: the Spark build's database suffix (set
    # for the build, unset for the run-operations before and after it) keys a manifest each
    spark_env = {**env, "SIYU_DBT_TARGET": "spark"}
    spark_key = dbt_cli.parse_key(siyu_args, spark_env)
    build_key = dbt_cli.parse_key(siyu_args, {**spark_env, "SIYU_SCHEMA_SUFFIX": "__b1"})
    assert build_key != spark_key
    assert dbt_cli.parse_key(siyu_args, {**spark_env, "SIYU_SCHEMA_SUFFIX": "__b2"}) != build_key
    assert dbt_cli.parse_key(siyu_args, spark_env) == spark_key
    # ... and the tiny project's model reads TINY_LABEL
    assert dbt_cli.parse_key(args_for(project, "2025-06-28"), {**env, "TINY_LABEL": "vip"}) != key

    # what parsing reads: another catalog name, target, var, a changed model or profile
    assert dbt_cli.parse_key(args_for(project, "2025-06-28"),
                             {**env, "SIYU_WAREHOUSE": "/w/other.duckdb"}) != key
    assert dbt_cli.parse_key(args_for(project, "2025-06-28"),
                             {**env, "SIYU_DBT_TARGET": "postgres"}) != key
    # cosmos names the target the profile picks anyway: the same parse
    assert dbt_cli.parse_key(args_for(project, "2025-06-28") + ["--target", "duckdb"], env) == key
    assert dbt_cli.parse_key(args_for(project, "2025-06-28") + ["--target", "postgres"],
                             env) != key
    assert dbt_cli.parse_key(args_for(project, "2025-06-28", "lifecycle_history_days", 7),
                             env) != key
    (project / "models" / "dated.sql").write_text(MODEL.replace("VERSION", "2"))
    changed_model = dbt_cli.parse_key(args_for(project, "2025-06-28"), env)
    assert changed_model != key
    (project / "profiles.yml").write_text(PROFILES + "\n# a comment\n")
    assert dbt_cli.parse_key(args_for(project, "2025-06-28"), env) != changed_model
    # cosmos runs dbt in a temporary copy of the project: links to its files and folders,
    # without the profile, target/ and logs/ (cosmos.dbt.project.create_symlinks)
    copy = tmp_path / "cosmos-copy"
    copy.mkdir()
    for child in project.iterdir():
        if child.name not in {"profiles.yml", "target", "logs"}:
            (copy / child.name).symlink_to(child)
    cosmos_args = ["build", "--project-dir", str(copy), "--profiles-dir", str(project),
                   "--vars", "as_of: '2025-06-30'\n", "--profile", "tiny", "--target", "duckdb"]
    assert dbt_cli.parse_key(cosmos_args, env) == \
        dbt_cli.parse_key(args_for(project, "2025-06-28"), env)
    # dbt's own output folders are not part of the project
    (project / "target").mkdir()
    (project / "target" / "run_results.json").write_text("{}")
    (project / "logs").mkdir()
    (project / "logs" / "dbt.log").write_text("x")
    assert dbt_cli.parse_key(args_for(project, "2025-06-29"), env) == \
        dbt_cli.parse_key(args_for(project, "2025-06-28"), env)


def test_parse_takes_the_project_profile_target_and_log_options_only():
    args = ["build", "--exclude-resource-type", "unit_test", "--project-dir", "/p",
            "--profiles-dir", "/p", "--select", "m+", "--vars", '{"as_of": "2025-06-28"}',
            "--log-format", "json", "--full-refresh", "--target=duckdb"]
    assert dbt_cli._parse_args(args) == [
        "--project-dir", "/p", "--profiles-dir", "/p", "--vars", '{"as_of": "2025-06-28"}',
        "--log-format", "json", "--target=duckdb"]


def test_the_cache_folder(tmp_path):
    args = ["build", "--project-dir", str(tmp_path)]
    assert dbt_cli.cache_dir(args, {}) == tmp_path / "target" / "siyu_manifests"
    assert dbt_cli.cache_dir(args, {"DBT_TARGET_PATH": "/t"}) == Path("/t/siyu_manifests")
    assert dbt_cli.cache_dir(args, {"SIYU_DBT_MANIFEST_CACHE": "/c"}) == Path("/c")
    assert dbt_cli.cache_dir(args, {"SIYU_DBT_MANIFEST_CACHE": "off"}) is None


def _siyu_dbt(project: Path, warehouse: Path, as_of: str, **env) -> tuple[int, str]:
    proc = subprocess.run(
        [SIYU_DBT, *args_for(project, as_of), "--log-path", str(project / "logs")],
        env={**os.environ, "SIYU_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS":
             "False", "SIYU_DBT_MANIFEST_CACHE": str(project.parent / "cache"), **env},
        capture_output=True, text=True, cwd=project)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return proc.stdout.count("Running with dbt="), proc.stdout


def _row(warehouse: Path) -> tuple:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("select cast(as_of as varchar), label, version from dated").fetchone()


@pytest.mark.slow
def test_a_second_run_skips_parsing_and_reads_its_own_as_of(tmp_path):
    project = tiny_project(tmp_path / "p")
    first = tmp_path / "w" / "tiny.building-run-1.duckdb"
    first.parent.mkdir()
    invocations, _ = _siyu_dbt(project, first, "2025-06-28")
    assert invocations == 2  # parse (saved), then the build
    assert _row(first) == ("2025-06-28", "none", 1)
    assert len(list((tmp_path / "cache").glob("*.msgpack"))) == 1

    # the next run: another day, another working copy of the same warehouse
    second = tmp_path / "w" / "tiny.building-run-2.duckdb"
    invocations, _ = _siyu_dbt(project, second, "2025-06-29")
    assert invocations == 1  # no parse
    assert _row(second) == ("2025-06-29", "none", 1)

    # a changed model parses again, and the build runs the new SQL
    tiny_project(project, version=2)
    invocations, _ = _siyu_dbt(project, second, "2025-06-30")
    assert invocations == 2
    assert _row(second) == ("2025-06-30", "none", 2)

    # an environment variable a model read while parsing has another value: parse again
    invocations, _ = _siyu_dbt(project, second, "2025-06-30", TINY_LABEL="vip")
    assert invocations == 2
    assert _row(second) == ("2025-06-30", "vip", 2)


@pytest.mark.slow
def test_as_of_is_read_in_sql_only(tmp_path):
    """The saved manifest's key leaves out as_of: parsing Siyu's project with and without an
    as_of must give the same configuration and dependencies for every node (as_of may be used
    in a model's SQL and hooks, which dbt renders at run time, never in its config)."""
    script = """
import json, sys
from dbt.cli.main import dbtRunner
out = {}
for as_of in (None, "2025-06-28"):
    args = ["parse", "--project-dir", sys.argv[1], "--profiles-dir", sys.argv[1], "--quiet"]
    if as_of:
        args += ["--vars", json.dumps({"as_of": as_of})]
    res = dbtRunner().invoke(args)
    assert res.success, res.exception
    out[str(as_of)] = {uid: [n.config.to_dict(), sorted(getattr(n.depends_on, "nodes", [])), n.schema,
                             n.relation_name if hasattr(n, "relation_name") else None]
                       for uid, n in res.result.nodes.items()}
print(json.dumps(out, default=str))
"""
    project = REPO_ROOT / "dbt_project"
    env = {**os.environ, "SIYU_WAREHOUSE": str(tmp_path / "siyu.duckdb"),
           "SIYU_RAW_DIR": str(tmp_path / "raw"), "DBT_TARGET_PATH": str(tmp_path / "target"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    proc = subprocess.run([sys.executable, "-c", script, str(project)], env=env,
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    parsed = json.loads(proc.stdout.strip().splitlines()[-1])
    without, with_as_of = parsed["None"], parsed["2025-06-28"]
    assert len(without) > 400  # models, seeds and tests of the project
    assert without == with_as_of
