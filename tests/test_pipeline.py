"""Task code shared by DAGs and CLI: dates, configuration, ingest summaries, CLI errors."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from siyu import cli, pipeline
from siyu.config import Settings

from .test_loader import jsonl, message, write


def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        landing_root=tmp_path / "landing", warehouse=tmp_path / "wh" / "siyu.duckdb"
    )


def test_business_date_uses_the_configured_timezone():
    moment = datetime(2025, 3, 1, 16, 30, tzinfo=timezone.utc)  # 00:30 next day in Shanghai
    assert pipeline.business_date(moment, "Asia/Shanghai") == date(2025, 3, 2)
    assert pipeline.business_date(moment, "UTC") == date(2025, 3, 1)
    with pytest.raises(ValueError):
        pipeline.business_date(datetime(2025, 3, 1), "UTC")


def test_settings_come_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SIYU_WAREHOUSE", str(tmp_path / "w" / "x.duckdb"))
    monkeypatch.setenv("SIYU_LANDING_ROOT", str(tmp_path / "l"))
    monkeypatch.setenv("SIYU_TIMEZONE", "Asia/Tokyo")
    monkeypatch.delenv("SIYU_RAW_DIR", raising=False)
    s = Settings.from_env()
    assert s.warehouse == (tmp_path / "w" / "x.duckdb").resolve()
    assert s.raw_db("shop") == (tmp_path / "w" / "x_raw" / "shop.duckdb").resolve()
    assert s.landing_root == (tmp_path / "l").resolve()
    assert s.timezone == "Asia/Tokyo"
    monkeypatch.setenv("SIYU_TIMEZONE", "Mars/Olympus")
    with pytest.raises(Exception):
        Settings.from_env()


def test_empty_warehouse_loads_every_partition_then_only_new_ones(tmp_path):
    s = settings(tmp_path)
    for day in (1, 2, 5):
        write(s.landing_root, "community/messages", "part-1.jsonl",
              jsonl(message(f"m{day}")), dt=date(2025, 3, day))
    as_of = date(2025, 3, 4)
    first = pipeline.dates_to_load(s, "community", as_of)
    assert first == [date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 4)]  # not the 5th
    pipeline.ingest(s, "community", first)
    assert pipeline.dates_to_load(s, "community", as_of) == [as_of]
    assert pipeline.dates_to_load(s, "community", date(2025, 3, 6)) == [
        date(2025, 3, 5), date(2025, 3, 6)]
    backfill = pipeline.dates_to_load(s, "community", as_of, from_date=date(2025, 3, 2))
    assert backfill == [date(2025, 3, 2), date(2025, 3, 3), date(2025, 3, 4)]


def test_ingest_summary_counts(tmp_path):
    s = settings(tmp_path)
    write(s.landing_root, "community/messages", "part-1.jsonl",
          jsonl(message("a"), message("b", chat_type="broadcast")))
    out = pipeline.ingest(s, "community", [date(2025, 3, 1)])
    assert (out["rows_loaded"], out["rows_quarantined"]) == (1, 1)


def test_missing_landing_root_fails_clearly(tmp_path, capsys):
    code = cli.main(["run", "--landing", str(tmp_path / "nope"), "--warehouse",
                     str(tmp_path / "w.duckdb"), "--as-of", "2025-03-01"])
    assert code == 2  # a wrong path: one line, exit 2 (siyu.cli.UsageProblem)
    assert f"no landing zone at {tmp_path / 'nope'}" in capsys.readouterr().err


def test_cli_rejects_bad_dates():
    with pytest.raises(SystemExit):
        cli.main(["run", "--as-of", "2025-13-01"])


def test_help_explains_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for command in ("generate", "ingest", "run", "quarantine"):
        assert command in text


def test_backfill_past_the_incremental_lookback_rebuilds(tmp_path):
    """`siyu run --from` further back than dbt's incremental_lookback_days (7 in
    dbt_project.yml) must full-refresh the incremental models; a shorter one need not."""
    s = settings(tmp_path)
    assert pipeline.incremental_lookback_days(s) == 7
    as_of = date(2025, 6, 28)
    assert pipeline.needs_full_refresh(s, as_of, None) is False
    assert pipeline.needs_full_refresh(s, as_of, date(2025, 6, 22)) is False  # 6 days back
    assert pipeline.needs_full_refresh(s, as_of, date(2025, 6, 21)) is True  # 7 days back


def _raw_rows(s: Settings) -> dict[tuple[str, str], int]:
    import duckdb

    out = {}
    for source in ("crm", "shop", "community"):
        with duckdb.connect(str(s.raw_db(source)), read_only=True) as con:
            for (table,) in con.execute("SELECT table_name FROM duckdb_tables() "
                                        "WHERE table_name <> 'load_log' ORDER BY 1").fetchall():
                out[(source, table)] = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    return out


def test_sources_ingested_together_load_what_one_after_the_other_loads(tmp_path):
    from siyu.devtools.generate import generate

    landing = tmp_path / "landing"
    generate(landing, users=40, days=4, start="2025-03-01", seed=3)
    together = Settings.from_env(landing_root=landing, warehouse=tmp_path / "a" / "siyu.duckdb")
    apart = Settings.from_env(landing_root=landing, warehouse=tmp_path / "b" / "siyu.duckdb")
    days = [date(2025, 3, d) for d in range(1, 5)]
    plan = [(source, days) for source in ("crm", "shop", "community")]
    lines: list[str] = []
    summaries = pipeline.ingest_sources(together, plan, progress=lines.append)
    one_by_one = [pipeline.ingest(apart, source, dates) for source, dates in plan]

    def without_seconds(rows):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]

    assert [s["source"] for s in summaries] == ["crm", "shop", "community"]  # the plan's order
    assert without_seconds(summaries) == without_seconds(one_by_one)
    assert sum(s["rows_loaded"] for s in summaries) > 100
    assert _raw_rows(together) == _raw_rows(apart)
    # each source's progress: one whole line per day
    for source in ("crm", "shop", "community"):
        assert len([ln for ln in lines if ln.lstrip().startswith(source + " ")]) == len(days)


def test_sources_ingested_together_share_the_memory_limit_and_report_a_failure(
        tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SIYU_DUCKDB_MEMORY_LIMIT", "6GB")
    seen: dict[str, str | None] = {}

    def fake_ingest(settings, source, dates, load_id=None, progress=None, memory_limit=None):
        seen[source] = memory_limit
        if source == "shop":
            raise RuntimeError("shop's landing is unreadable")
        if source == "community":
            raise OSError("No space left on device")
        return {"source": source}

    monkeypatch.setattr(pipeline, "ingest", fake_ingest)
    s = settings(tmp_path)
    with pytest.raises(RuntimeError, match="shop's landing"):
        pipeline.ingest_sources(s, [(src, [date(2025, 3, 1)])
                                    for src in ("crm", "shop", "community")])
    # every source ran (a failure does not cut the others short), each with a third of 6 GB
    assert seen == {"crm": "2000MB", "shop": "2000MB", "community": "2000MB"}
    # the first failure is raised, a later one logged
    assert "ingest of community failed too: OSError: No space left on device" in caplog.text
    seen.clear()
    assert pipeline.ingest_sources(s, [("crm", [date(2025, 3, 1)])]) == [{"source": "crm"}]
    assert seen == {"crm": None}  # alone: the connection's own limit


def test_memory_limit_share(monkeypatch):
    from siyu import db

    cases = {("8GB", 3): "2666MB", ("512MiB", 2): "268MB", ("10 GB", 1): "10 GB",
             ("80%", 3): "80%"}
    for (limit, parts), share in cases.items():
        monkeypatch.setenv("SIYU_DUCKDB_MEMORY_LIMIT", limit)
        assert db.memory_limit_share(parts) == share, (limit, parts)
