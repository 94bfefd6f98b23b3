"""The command line: `siyu --help` explains every command, long runs report progress."""

from __future__ import annotations

import time

import pytest

from siyu import cli
from siyu.pipeline import DbtProgress

DBT_LINES = [
    "\x1b[0m21:38:27  1 of 4 START sql table model staging.stg_crm__staff .... [RUN]\n",
    "\x1b[0m21:38:27  1 of 4 OK created sql table model staging.stg_crm__staff .... "
    "[\x1b[32mOK\x1b[0m in 1.50s]\n",
    "21:38:28  2 of 4 PASS not_null_stg_crm__staff_created_at ....... [PASS in 0.02s]\n",
    "21:38:28  3 of 4 WARN 3 accepted_range_kpi_x ..... [WARN 3 in 0.03s]\n",
    "21:38:28  4 of 4 OK loaded seed file config.kpi_targets ..... [INSERT 52 in 0.20s]\n",
    "21:38:29  Done. PASS=3 WARN=1 ERROR=0 SKIP=0 TOTAL=4\n",
]


def test_dbt_progress_reports_models_seeds_and_problems_but_counts_passing_tests():
    said: list[str] = []
    ticker = DbtProgress(said.append, time.perf_counter())
    for line in DBT_LINES:
        ticker.feed(line)
    built = [s for s in said if "OK" in s]
    # the model and the seed, with position, share and seconds; never the passing test's name
    assert built[0].split() == ["[1/4]", "25%", "OK", "staging.stg_crm__staff", "1.5s"]
    assert any("config.kpi_targets" in s and "[4/4]" in s for s in said)
    assert any(s.split()[2] == "WARN" for s in said)
    assert not any("not_null_stg_crm__staff_created_at" in s for s in said)
    # a count line at each tenth reached: 1/4 .. 4/4 cross 25%, 50%, 75%, 100%
    counts = [s for s in said if "test(s) passed so far" in s]
    assert len(counts) == 4
    assert counts[-1].split()[2] == "1"  # one passing test by the end


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
