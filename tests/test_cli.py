"""The command line: `siyu --help` explains every command, long runs report progress."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from siyu import cli
from siyu.pipeline import DbtEvent, DbtProgress

def _dbt_json(event) -> str:
    """One line of dbt's structured log (``--log-format json``) for ``event``, serialised by
    dbt itself."""
    from dbt_common.events.base_types import msg_from_base_event
    from dbt_common.events.functions import msg_to_json

    return msg_to_json(msg_from_base_event(event)) + "\n"


def _node(kind: str, schema: str = "", alias: str = "") -> dict:
    return {"resource_type": kind, "node_name": alias, "unique_id": f"{kind}.siyu.{alias}",
            "node_relation": {"database": "siyu", "schema": schema, "alias": alias}}


def _dbt_lines() -> list[str]:
    from dbt.events.types import LogModelResult, LogSeedResult, LogTestResult, StatsLine

    return [_dbt_json(e) for e in (
        LogModelResult(description="sql table model staging.stg_crm__staff", status="success",
                       index=1, total=4, execution_time=1.5,
                       node_info=_node("model", "staging", "stg_crm__staff")),
        LogTestResult(name="not_null_stg_crm__staff_created_at", status="pass", index=2,
                      num_models=4, execution_time=0.02, num_failures=0, node_info=_node("test")),
        LogTestResult(name="accepted_range_kpi_x", status="warn", index=3, num_models=4,
                      execution_time=0.03, num_failures=3, node_info=_node("test")),
        LogSeedResult(status="success", result_message="INSERT 52", index=4, total=4,
                      execution_time=0.2, schema="config", relation="kpi_targets",
                      node_info=_node("seed", "config", "kpi_targets")),
        StatsLine(stats={"pass": 3, "warn": 1, "error": 0, "skip": 0, "noop": 0, "reused": 0,
                         "total": 4}),
    )] + ["Traceback (most recent call last): not an event\n"]


def test_dbt_progress_reports_models_seeds_and_problems_but_counts_passing_tests():
    said: list[str] = []
    ticker = DbtProgress(said.append, time.perf_counter())
    events = [DbtEvent.parse(line) for line in _dbt_lines()]
    assert events[-1] is None  # a line that is not an event stays text
    for event in events[:-1]:
        ticker.feed(event)
    built = [s for s in said if "OK" in s]
    # the model and the seed, with position, share and seconds; never the passing test's name
    assert built[0].split() == ["[1/4]", "25%", "OK", "staging.stg_crm__staff", "1.5s"]
    assert any("config.kpi_targets" in s and "[4/4]" in s for s in said)
    assert any(s.split()[2] == "WARN" and "accepted_range_kpi_x" in s for s in said)
    assert not any("not_null_stg_crm__staff_created_at" in s for s in said)
    # a count line at each tenth reached: 1/4 .. 4/4 cross 25%, 50%, 75%, 100%
    counts = [s for s in said if "test(s) passed so far" in s]
    assert len(counts) == 4
    assert counts[-1].split()[2] == "1"  # one passing test by the end
    # the events' text, for dbt-last.log: dbt's own lines, without colour codes
    assert events[-2].text.startswith("Done. PASS=3 WARN=1")
    assert "\x1b" not in events[0].text and "stg_crm__staff" in events[0].text


def _subcommands() -> dict[str, object]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return dict(action.choices)


def test_help_lists_and_explains_every_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    top = capsys.readouterr().out
    subs = _subcommands()
    assert {"generate", "check-landing", "ingest", "run", "quarantine", "deliver",
            "export"} <= set(subs)
    for name, sub in subs.items():
        # listed twice: in the overview of a day's work and among the subcommands
        assert top.count(f"  {name} ") >= 2, f"`siyu --help` does not explain {name}"
        # every command has its own description (what it does) and at least one example
        assert sub.description and len(sub.description) > 60, name
        assert sub.epilog and f"siyu {name}" in sub.epilog, f"{name} --help has no example"


# ------------------------------------------------------------------ wrong paths: one line, exit 2


def _one_line_error(capsys, argv: list[str]) -> str:
    """Run ``siyu argv``: exit 2, nothing on stdout, exactly one line on stderr (returned)."""
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"siyu {argv[0]}: "), err
    return err.strip()


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_quarantine_without_a_warehouse_says_so(tmp_path, capsys, monkeypatch):
    wrong = tmp_path / "wrong" / "path.duckdb"
    assert _one_line_error(capsys, ["quarantine", "--warehouse", str(wrong)]) == (
        f"siyu quarantine: no warehouse at {wrong} (set --warehouse or SIYU_WAREHOUSE)")
    monkeypatch.setenv("SIYU_WAREHOUSE", str(wrong))  # the environment, the same
    assert "no warehouse at" in _one_line_error(capsys, ["quarantine"])
    monkeypatch.delenv("SIYU_WAREHOUSE")
    # a warehouse with no raw files beside it, and a wrong --raw-dir, are named as such
    warehouse = tmp_path / "wh.duckdb"
    warehouse.touch()
    err = _one_line_error(capsys, ["quarantine", "--warehouse", str(warehouse)])
    assert f"no raw files in {tmp_path / 'wh_raw'} beside the warehouse" in err
    err = _one_line_error(capsys, ["quarantine", "--raw-dir", str(tmp_path / "nope")])
    assert err == f"siyu quarantine: no raw files in {tmp_path / 'nope'} " \
                  "(set --raw-dir or SIYU_RAW_DIR)"
    assert _listing(tmp_path) == ["wh.duckdb"]  # nothing created


def test_export_without_a_warehouse_says_so_and_writes_nothing(tmp_path, capsys):
    wrong = tmp_path / "wrong.duckdb"
    err = _one_line_error(capsys, ["export", "--warehouse", str(wrong),
                                   "--out", str(tmp_path / "out")])
    assert err == f"siyu export: no warehouse at {wrong} (set --warehouse or SIYU_WAREHOUSE)"
    assert _listing(tmp_path) == []


def test_deliver_without_a_warehouse_or_recipients_file_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SIYU_RECIPIENTS_FILE", raising=False)
    outbox = tmp_path / "outbox"
    wrong = tmp_path / "wrong.duckdb"
    argv = ["deliver", "--date", "2025-03-01", "--outbox", str(outbox)]
    err = _one_line_error(capsys, [*argv, "--warehouse", str(wrong)])
    assert err == f"siyu deliver: no warehouse at {wrong} (set --warehouse or SIYU_WAREHOUSE)"
    warehouse = tmp_path / "wh.duckdb"
    warehouse.touch()
    argv += ["--warehouse", str(warehouse)]
    recipients = tmp_path / "nope.toml"
    err = _one_line_error(capsys, [*argv, "--send", "--recipients", str(recipients)])
    assert err == (f"siyu deliver: no recipients file at {recipients} "
                   "(set --recipients or SIYU_RECIPIENTS_FILE)")
    monkeypatch.setenv("SIYU_RECIPIENTS_FILE", str(recipients))
    assert f"no recipients file at {recipients}" in _one_line_error(capsys, [*argv, "--send"])
    assert _listing(tmp_path) == ["wh.duckdb"]  # no outbox: nothing was built


def test_run_and_ingest_without_a_landing_say_so_before_anything(tmp_path, capsys):
    wrong = tmp_path / "no-landing"
    warehouse = tmp_path / "wh" / "siyu.duckdb"
    err = _one_line_error(capsys, ["run", "--landing", str(wrong), "--warehouse", str(warehouse),
                                   "--as-of", "2025-03-01"])
    assert err == f"siyu run: no landing zone at {wrong} (set --landing or SIYU_LANDING_ROOT)"
    err = _one_line_error(capsys, ["ingest", "--landing", str(wrong), "--warehouse",
                                   str(warehouse), "--date", "2025-03-01"])
    assert err == f"siyu ingest: no landing zone at {wrong} (set --landing or SIYU_LANDING_ROOT)"
    # a folder given as the warehouse file
    (tmp_path / "landing").mkdir()
    err = _one_line_error(capsys, ["run", "--landing", str(tmp_path / "landing"),
                                   "--warehouse", str(tmp_path), "--as-of", "2025-03-01"])
    assert err == (f"siyu run: {tmp_path} is a folder, not a warehouse file "
                   "(set --warehouse or SIYU_WAREHOUSE)")
    assert _listing(tmp_path) == ["landing"]  # no warehouse, raw or log folder made


def test_check_landing_without_a_landing_zone_says_so(tmp_path, capsys, monkeypatch):
    wrong = tmp_path / "no-landing"
    assert _one_line_error(capsys, ["check-landing", str(wrong)]) == (
        f"siyu check-landing: no landing zone at {wrong} (give DIR or set SIYU_LANDING_ROOT)")
    monkeypatch.setenv("SIYU_LANDING_ROOT", str(wrong))  # DIR defaults to the environment
    assert f"no landing zone at {wrong}" in _one_line_error(capsys, ["check-landing"])
    # a folder that is not a landing zone (no source folder): not an all-clear
    (tmp_path / "data" / "warehouse").mkdir(parents=True)
    err = _one_line_error(capsys, ["check-landing", str(tmp_path / "data")])
    assert err == (f"siyu check-landing: no landing zone at {tmp_path / 'data'}: it has no crm/, "
                   "shop/ or community/ folder (give DIR or set SIYU_LANDING_ROOT)")
    (tmp_path / "data" / "crm").mkdir()
    err = _one_line_error(capsys, ["check-landing", str(tmp_path / "data"),
                                   "--from", "2025-03-02", "--to", "2025-03-01"])
    assert err == "siyu check-landing: --from is after --to"
