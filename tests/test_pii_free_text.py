"""Personal data typed into free text (a phone in a tag name, an e-mail in a group name) never
leaves the raw layer in clear; the salt never appears in dbt's compiled SQL or logs; a run
without a salt warns, is recorded in ops.build_info, and is refused on real data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from siyu import pii

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
SALT = "s3cret salt 'quoted' 7f2c91"
CLEAR = ("13800138000", "138-0013-8000", "zhang.wei@example.com", "13912345678")


def _env(tmp: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")}
    return {**env, "SIYU_LOG_DIR": str(tmp / "logs"), "DBT_TARGET_PATH": str(tmp / "dbt_target"),
            **extra}


def _siyu_run(landing: Path, warehouse: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([BIN / "siyu", "run", "--landing", landing, "--warehouse", warehouse,
                           "--as-of", "2025-03-10"], env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def hostile_landing(tmp_path_factory) -> Path:
    """The generated landing plus a tag and a group typed with a phone and an e-mail."""
    landing = tmp_path_factory.mktemp("pii_text") / "landing"
    subprocess.run([BIN / "siyu", "generate", "--out", landing, "--users", "300", "--days", "10",
                    "--start", "2025-03-01", "--seed", "1"], check=True, capture_output=True)
    contact = "C00000171"  # a contact of the generated landing (seed 1)
    (landing / "crm/contact_tags/dt=2025-03-05/part-9.csv").write_text(
        "contact_id,tag_group,tag_name,action,tagged_at,staff_id\n"
        f"{contact},回访 zhang.wei@example.com,VIP 13800138000,add,2025-03-05 02:13:09,\n"
        f"{contact},lifecycle,老客 138-0013-8000,add,2025-03-05 02:14:09,\n")
    (landing / "community/groups/dt=2025-03-01/part-9.jsonl").write_text(json.dumps(
        {"roomid": "wr000000099", "name": "群主 13912345678", "owner_staff_id": "ops_000",
         "created_at": 1738202400989, "category": "vip", "updated_at": 1738202400678},
        ensure_ascii=False) + "\n")
    return landing


def test_free_text_is_masked_and_the_salt_stays_out_of_sql_and_logs(tmp_path, hostile_landing):
    warehouse = tmp_path / "wh" / "siyu.duckdb"
    proc = _siyu_run(hostile_landing, warehouse, _env(tmp_path, SIYU_PII_SALT=SALT))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert pii.DEMO_SALT_WARNING not in proc.stdout + proc.stderr

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tags = con.execute("SELECT tag_group, tag_name FROM staging.stg_crm__contact_tags "
                           "WHERE tag_name LIKE '%[phone]%' ORDER BY tagged_at").fetchall()
        group = con.execute("SELECT name FROM staging.stg_community__groups "
                            "WHERE roomid = 'wr000000099'").fetchone()
        text_columns = con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND data_type = 'VARCHAR' "
            "AND table_schema IN ('staging', 'intermediate', 'marts', 'bi', 'audit')").fetchall()
        leaks = [f"{s}.{t}.{c}" for s, t, c in text_columns if con.execute(
            f'SELECT count(*) FROM "{s}"."{t}" WHERE ' + " OR ".join(
                f"contains(\"{c}\", '{v}')" for v in CLEAR)).fetchone()[0]]
        demo = con.execute("SELECT demo_salt FROM ops.build_info").fetchall()
        hashed = con.execute("SELECT count(*) FROM staging.stg_crm__contacts "
                             "WHERE phone_hash IS NOT NULL").fetchone()[0]
    finally:
        con.close()
    assert tags == [("回访 [email]", "VIP [phone]"), ("lifecycle", "老客 [phone]")]
    assert group == ("群主 [phone]",)
    assert leaks == []
    assert demo == [(False,)] and hashed > 100

    places = [tmp_path / "dbt_target", tmp_path / "logs"]  # dbt's compiled SQL, its logs
    found = subprocess.run(["grep", "-rlF", "7f2c91", *map(str, places)],
                           capture_output=True, text=True).stdout.split()
    assert found == []


def test_without_a_salt_the_run_warns_records_it_and_refuses_real_data(tmp_path,
                                                                       hostile_landing):
    warehouse = tmp_path / "wh" / "siyu.duckdb"
    proc = _siyu_run(hostile_landing, warehouse, _env(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"WARNING   {pii.DEMO_SALT_WARNING}" in proc.stdout  # the CLI line
    assert pii.DEMO_SALT_WARNING in proc.stderr  # the log record
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT demo_salt FROM ops.build_info").fetchall() == [(True,)]
    con.close()


def test_the_demo_salt_is_refused_on_a_landing_zone_that_is_not_generated(tmp_path,
                                                                         monkeypatch):
    real = tmp_path / "real_landing"
    (real / "crm").mkdir(parents=True)
    monkeypatch.delenv("SIYU_PII_SALT", raising=False)
    monkeypatch.delenv("SIYU_ALLOW_DEMO_SALT", raising=False)
    with pytest.raises(pii.PiiSaltError, match="not a generated demo landing zone"):
        pii.check_salt(real)
    monkeypatch.setenv("SIYU_ALLOW_DEMO_SALT", "1")
    assert pii.check_salt(real) is True  # allowed on purpose, still the demo salt
    monkeypatch.delenv("SIYU_ALLOW_DEMO_SALT")
    (real / "_manifest.json").write_text('{"args": {"seed": 1}}')
    assert pii.check_salt(real) is True
    monkeypatch.setenv("SIYU_PII_SALT", SALT)
    assert pii.check_salt(tmp_path / "anything") is False
    # the CLI refuses before touching anything
    proc = subprocess.run([BIN / "siyu", "run", "--landing", tmp_path, "--warehouse",
                           tmp_path / "wh" / "siyu.duckdb", "--as-of", "2025-03-10"],
                          env=_env(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 1
    assert "not a generated demo landing zone" in proc.stderr
    assert not (tmp_path / "wh").exists()
