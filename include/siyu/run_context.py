"""What an Airflow run is about, from its task context: its settings (Params over the
environment) and its business day. Plain functions of the context dict, without Airflow
imports, so that the DAG tasks (``siyu.orchestration``) and the failure alerts
(``siyu.alerts``) both use them without importing each other."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path

import pendulum

from . import pipeline
from .config import Settings


def run_settings(ctx: dict) -> Settings:
    p = ctx.get("params") or {}
    overrides = {}
    if p.get("landing_root"):
        overrides["landing_root"] = Path(p["landing_root"])
    if p.get("warehouse"):
        overrides["warehouse"] = Path(p["warehouse"])
    return Settings.from_env(**overrides)


def day_all_sources_reached(days_by_source: Mapping[str, Iterable[date]]) -> date | None:
    """The latest business day every source has reached: for each source the latest day of its
    events, then the earliest of those. None when no source has a day.

    ``siyu_build`` consumes every raw event since its previous run. When they do not all carry
    the same day (a source ran late, a backfill, a re-run), building a later day would publish
    marts with a source missing days, so the build takes the day all three have reached. The
    faster sources' later days are in raw already: the next build includes them (each build
    reads every landed partition up to its day; incremental models re-read the last
    ``incremental_lookback_days``), so no day is lost, it is published one build later."""
    latest = [max(days) for days in (list(d) for d in days_by_source.values()) if days]
    return min(latest) if latest else None


def days_from_asset_events(events: Mapping | None) -> dict[str, list[date]]:
    """Business days (extra ``as_of``) of the raw events that triggered a run, by source."""
    by_source: dict[str, list[date]] = {}
    if not events:
        return by_source
    for asset in events:
        name = getattr(asset, "name", "") or ""
        if not name.startswith("siyu_raw_"):
            continue
        for event in events[asset]:
            as_of = (getattr(event, "extra", None) or {}).get("as_of")
            if as_of:
                by_source.setdefault(name.removeprefix("siyu_raw_"), []).append(
                    date.fromisoformat(str(as_of)))
    return by_source


def resolve_as_of(ctx: dict, tz: str) -> date:
    """The business date a run processes: Param ``as_of``; else, in an asset-triggered run,
    the latest day all sources have reached in the triggering events; else the logical
    date (scheduled, manual and backfill runs); else yesterday."""
    p = ctx.get("params") or {}
    if p.get("as_of"):
        return date.fromisoformat(str(p["as_of"]))
    from_events = day_all_sources_reached(
        days_from_asset_events(ctx.get("triggering_asset_events")))
    if from_events is not None:
        return from_events
    # logical date first: a scheduled run's logical date is its data interval start
    # (D 02:00 business time); `airflow dags test <dag> D` gives D 00:00 in Airflow's
    # default timezone, which the Makefile sets to the business timezone.
    for key in ("logical_date", "data_interval_start"):
        moment = ctx.get(key)
        if moment is not None:
            return pipeline.business_date(moment, tz)
    return pipeline.business_date(datetime.now(pendulum.UTC), tz) - timedelta(days=1)
