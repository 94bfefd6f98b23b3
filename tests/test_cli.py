"""The command line: `siyu --help` explains every command, long runs report progress."""

from __future__ import annotations

import time

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
    assert {"generate", "ingest", "run", "quarantine", "deliver", "export"} <= set(subs)
    for name, sub in subs.items():
        # listed twice: in the overview of a day's work and among the subcommands
        assert top.count(f"  {name} ") >= 2, f"`siyu --help` does not explain {name}"
        # every command has its own description (what it does) and at least one example
        assert sub.description and len(sub.description) > 60, name
        assert sub.epilog and f"siyu {name}" in sub.epilog, f"{name} --help has no example"
