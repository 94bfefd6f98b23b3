"""KPI alerts in the departments' chat groups: each audience's red and yellow KPIs and the size
of its staff's to-do lists, posted to its WeCom / Feishu / DingTalk robots (``siyu alert``, the
``alert`` tasks of the ``siyu_deliver`` DAG).

    read_contents(warehouse, day, audiences)   -> {audience: Content}   from the published marts
    render(content, language, kind)            -> robots.Message        as one service shows it
    alert(warehouse, day, outbox, ...)         -> dict                  print (dry run) or post

**What a message says**, per audience (department ``marketing`` ... ``service``; ``executive``
is department ``all``, as in the extracts):

* the audience's KPIs (the KPI catalog, ``siyu.kpi_catalog``: the departments measured on
  each, in its order, as the extracts' headline) counted by status, then each red and
  yellow one: latest value, target and the change since the previous day, with the day the value
  refers to when it is not the report's. Value, target and status are those of
  ``marts.kpi_department_latest`` (what the extracts' headline shows, durations in minutes);
  the change is the value minus the value of the day before in ``marts.kpi_department_daily``
  (none when that day had none), a rate's change in percentage points;
* the size of the staff's to-do lists (``marts.fct_activation_tasks`` of the day): open tasks,
  staff with tasks, the longest list's length, tasks without an owner, tasks per type (the
  executive: per department). Staff are counted, never named: no personal data.

Labels are those of the extracts (the KPI catalog's, through ``siyu.extracts.i18n``, Chinese
by default), numbers as ``siyu.extracts.formats`` shows them. A message covers the warehouse's as-of day only (the marts
hold the latest values of that day): another day is an error naming it.

**Posting.** The robots are keys of the audience's table in the recipients file
(``siyu.delivery``: ``wecom_webhook``, ``feishu_webhook`` + ``feishu_secret``,
``dingtalk_webhook`` + ``dingtalk_secret``; ``env:NAME`` references, see ``siyu.robots``). An
audience with e-mail only is skipped; one missing from the file fails unless ``on_missing =
"skip"``. Every robot setting is resolved before anything is posted, so a missing secret fails
fast. Posting (size limits, signatures, retries on rate limits) is ``siyu.robots``.

**Idempotence.** ``outbox/<day>/alerts.json`` records per audience and robot what was posted:
each part's size and SHA-256, the attempts, the time and how the robot was configured (the
``env:`` reference, never a URL or secret). A robot recorded as sent is not posted to again, so
a rerun, an Airflow retry or a cleared task posts nothing twice; a run that stopped halfway
posts only the parts not yet accepted; ``resend=True`` (``--resend``, DAG Param
``resend_alerts``) posts again on purpose. The record is written after the robot accepted the
part: a crash between the two can post one part twice, never lose one silently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from . import db, delivery, kpi_catalog, robots
from .extracts import AUDIENCES, LANGUAGES
from .extracts.formats import display, resolve
from .extracts.i18n import t
from .extracts.tables import DEPARTMENT, fetch, specs

log = logging.getLogger("siyu.kpi_alerts")

RECORD = "alerts.json"
ALERT_STATUSES = ("red", "yellow")
ICON = {"red": "🔴", "yellow": "🟡"}
Progress = Callable[[str], None]


@dataclass(frozen=True)
class KpiAlert:
    kpi: str
    status: str  # red or yellow
    value: float | None
    target: float | None
    unit: str | None  # minutes for durations (the mart keeps seconds), as in the extracts
    value_date: date | None
    previous: float | None  # the value of the day before value_date, same unit

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return float(self.value) - float(self.previous)


@dataclass(frozen=True)
class Todo:
    tasks: int = 0
    staff: int = 0  # staff members with at least one task
    largest: int = 0  # the longest list (tasks of one staff member)
    unassigned: int = 0  # tasks without an owner
    by_type: tuple[tuple[str, int], ...] = ()  # most urgent type first
    by_department: tuple[tuple[str, int, int], ...] = ()  # (department, tasks, staff)


@dataclass(frozen=True)
class Content:
    audience: str
    day: date
    statuses: Mapping[str, int]  # status -> KPIs of the audience with it
    kpis: int  # KPIs of the audience
    alerts: tuple[KpiAlert, ...]  # red first, then yellow, each in the audience's KPI order
    todo: Todo


# --- reading -------------------------------------------------------------------------------------


def _previous(con: duckdb.DuckDBPyConnection, dept: str, wanted: list[tuple[str, date]]
              ) -> dict[str, float | None]:
    """The value of the day before each (kpi, value_date), durations in minutes (the mart's
    unit column is the KPI catalog's: ``seconds``)."""
    found: dict[str, float | None] = {}
    for kpi, value_date in wanted:
        row = con.execute(
            "SELECT CASE WHEN unit = 'seconds' THEN value / 60 ELSE value END "
            "FROM marts.kpi_department_daily WHERE department = $dept AND kpi = $kpi "
            "AND date = $day", {"dept": dept, "kpi": kpi, "day": value_date - timedelta(days=1)},
        ).fetchone()
        found[kpi] = row[0] if row else None
    return found


def _todo(con: duckdb.DuckDBPyConnection, day: date, dept: str) -> Todo:
    where = "as_of = $day AND ($dept = 'all' OR department = $dept)"
    params = {"day": day, "dept": dept}
    tasks, staff, unassigned = con.execute(
        f"SELECT count(*), count(DISTINCT staff_id), count(*) FILTER (WHERE staff_id IS NULL) "
        f"FROM marts.fct_activation_tasks WHERE {where}", params).fetchone()
    (largest,) = con.execute(
        f"SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM marts.fct_activation_tasks "
        f"WHERE {where} AND staff_id IS NOT NULL GROUP BY staff_id)", params).fetchone()
    by_type = con.execute(
        f"SELECT task_type, count(*) FROM marts.fct_activation_tasks WHERE {where} "
        "GROUP BY task_type ORDER BY min(priority), task_type", params).fetchall()
    by_department = con.execute(
        f"SELECT department, count(*), count(DISTINCT staff_id) FROM marts.fct_activation_tasks "
        f"WHERE {where} GROUP BY department ORDER BY count(*) DESC, department",
        params).fetchall() if dept == "all" else []
    return Todo(tasks, staff, largest, unassigned, tuple(map(tuple, by_type)),
                tuple(map(tuple, by_department)))


def content(con: duckdb.DuckDBPyConnection, audience: str, day: date) -> Content:
    """What an audience's message says, read from the published marts of ``con``."""
    dept = DEPARTMENT[audience]
    headline = fetch(con, specs(audience)[0], day, dept)  # the extracts' headline KPIs
    statuses: dict[str, int] = {}
    flagged = []
    for kpi, value, target, status, unit, value_date, *_ in headline.rows:
        if status:
            statuses[status] = statuses.get(status, 0) + 1
        if status in ALERT_STATUSES:
            flagged.append((kpi, value, target, status, unit, value_date))
    previous = _previous(con, dept, [(k, vd) for k, _, _, _, _, vd in flagged if vd])
    order = {k: i for i, k in enumerate(kpi_catalog.of_department(dept))}
    alerts = sorted(
        (KpiAlert(kpi, status, value, target, unit, value_date, previous.get(kpi))
         for kpi, value, target, status, unit, value_date in flagged),
        key=lambda a: (ALERT_STATUSES.index(a.status), order.get(a.kpi, len(order))))
    return Content(audience, day, statuses, len(headline.rows), tuple(alerts),
                   _todo(con, day, dept))


def read_contents(warehouse: Path, day: date, audiences=AUDIENCES) -> dict[str, Content]:
    """Every audience's content; the warehouse is open read-only only while reading. A day
    other than the warehouse's as-of day is a ValueError naming the day it has."""
    unknown = [a for a in audiences if a not in AUDIENCES]
    if unknown:
        raise ValueError(f"unknown audience {unknown}: audiences are {AUDIENCES}")
    con = db.connect(warehouse, read_only=True)
    try:
        (as_of,) = con.execute("SELECT max(as_of) FROM marts.kpi_department_latest").fetchone()
        if as_of != day:
            raise ValueError(
                f"no alerts for {day}: the KPIs of {warehouse} are as of {as_of} (the marts "
                "hold the latest values of the build's day only)" if as_of else
                f"no KPIs in {warehouse}")
        return {a: content(con, a, day) for a in audiences}
    finally:
        con.close()


# --- rendering -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flavour:
    heading: str
    joiner: str
    bold: str  # format with {text}
    bullet: str


FLAVOURS = {
    "wecom": Flavour("### {title}", "\n", "**{text}**", "- "),  # WeCom markdown
    "dingtalk": Flavour("### {title}", "\n\n", "**{text}**", "- "),  # paragraphs need a blank line
    "feishu": Flavour("【{title}】", "\n", "{text}", "• "),  # plain text
}


def _change(alert: KpiAlert, fmt: str, language: str) -> str:
    change = alert.change
    if change is None:
        return t("empty_value", language)
    sign = "+" if change > 0 else "-" if change < 0 else "±"
    if fmt == "pct":
        return t("alert_points", language).format(sign=sign, value=f"{abs(change) * 100:.1f}")
    return sign + display(abs(change), fmt, language)


def kpi_line(alert: KpiAlert, day: date, language: str, flavour: Flavour) -> str:
    """``🔴 **净收入** 告警：¥1,234.00，目标 ¥2,000.00，较前日 -¥120.00``: label and number
    format from the KPI catalog (a KPI it lacks: the format of its unit)."""
    try:
        fmt = kpi_catalog.get(alert.kpi).value_format
    except KeyError:
        fmt = resolve("by_unit", alert.unit)
    comma, colon = ("，", "：") if language == "zh" else (", ", ": ")
    parts = [display(alert.value, fmt, language),
             f"{t('target_line', language)} {display(alert.target, fmt, language)}",
             f"{t('alert_change', language)} {_change(alert, fmt, language)}"]
    if alert.value_date is not None and alert.value_date != day:
        parts.append(f"{t('value_of_day', language)} {alert.value_date}")
    name = flavour.bold.format(text=t(alert.kpi, language))
    return f"{ICON[alert.status]} {name} {t(alert.status, language)}{colon}{comma.join(parts)}"


def render(item: Content, language: str = "zh", kind: str = "wecom") -> robots.Message:
    """The message of an audience as the robot ``kind`` shows it (markdown for WeCom and
    DingTalk, plain text for Feishu)."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: languages are {LANGUAGES}")
    f = FLAVOURS[kind]
    title = f"{t('alert_title', language)} · {t(item.audience, language)} · {item.day}"
    lines = [f.bold.format(text=t("headline_title", language)) + ("：" if language == "zh"
                                                                   else ": ")
             + t("alert_kpi_counts", language).format(
                 n=item.kpis, red=item.statuses.get("red", 0),
                 yellow=item.statuses.get("yellow", 0), green=item.statuses.get("green", 0))]
    lines += [kpi_line(a, item.day, language, f) for a in item.alerts] or [
        "✅ " + t("alert_all_clear", language)]
    todo = item.todo
    head = f.bold.format(text=t("todo", language)) + ("：" if language == "zh" else ": ")
    if not todo.tasks:
        lines.append(head + t("alert_todo_none", language))
        return robots.Message(title, lines, f.heading, f.joiner, t("alert_cut", language))
    summary = t("alert_todo", language).format(tasks=f"{todo.tasks:,}", staff=todo.staff,
                                               largest=todo.largest)
    if todo.unassigned:
        summary += ("，" if language == "zh" else "; ") + t(
            "alert_todo_unassigned", language).format(n=f"{todo.unassigned:,}")
    lines.append(head + summary)
    if item.audience == "executive":
        lines += [f.bullet + t("alert_todo_department", language).format(
            department=t(d, language), tasks=f"{n:,}", staff=s) for d, n, s in todo.by_department]
        lines.append(t("alert_todo_where_executive", language))
    else:
        sep = "：" if language == "zh" else ": "
        lines += [f"{f.bullet}{t(task, language)}{sep}{n:,}" for task, n in todo.by_type]
        lines.append(t("alert_todo_where", language))
    return robots.Message(title, lines, f.heading, f.joiner, t("alert_cut", language))


# --- posting -------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def post_audience(item: Content, robot_list: list[robots.Robot], day_dir: Path,
                  language: str = "zh", resend: bool = False, progress: Progress | None = None,
                  **post_options) -> dict:
    """Post an audience's message to each of its robots not recorded as sent in
    ``alerts.json``; one robot's failure does not keep the others from theirs (RuntimeError
    after trying all)."""
    say = progress or log.info
    audience = item.audience
    done = read_manifest(day_dir)["audiences"].get(audience, {}).get("robots", {})
    statuses: dict[str, str] = {}
    errors: list[str] = []
    for robot in robot_list:
        previous = done.get(robot.kind) or {}
        if previous.get("status") == "sent" and not resend:
            statuses[robot.kind] = "already_sent"
            say(f"alert {audience}: {robot} already posted at {previous.get('at')}, not again")
            continue
        parts = [] if resend else list(previous.get("parts", []))
        posted_before = {p["sha256"] for p in parts}
        t0 = time.perf_counter()

        def record(status: str, part: dict | None = None, robot=robot, parts=parts) -> None:
            if part is not None:
                parts.append({**part, "at": _now()})
            with delivery.locked_manifest(day_dir, RECORD) as manifest:
                entry = manifest["audiences"].setdefault(audience, {}).setdefault("robots", {})
                entry[robot.kind] = {"status": status, "at": _now(), "robot": robot.source,
                                     "language": language, "parts": parts}

        try:
            posted = robots.post(robot, render(item, language, robot.kind), skip=posted_before,
                                 on_part=lambda part, record=record: record("partial", part),
                                 **post_options)
        except (robots.RobotError, ValueError) as exc:
            statuses[robot.kind] = "failed"
            errors.append(str(exc))
            log.error("alert %s: %s", audience, exc)
            say(f"alert {audience}: {robot} failed: {exc}")
            continue
        record("sent")
        statuses[robot.kind] = "sent"
        attempts = sum(p["attempts"] for p in posted)
        say(f"alert {audience}: {robot} {len(posted)} message(s), {attempts} attempt(s), "
            f"{time.perf_counter() - t0:.1f}s")
    if errors:
        raise RuntimeError(f"alert {audience}: " + "; ".join(errors))
    status = "sent" if "sent" in statuses.values() else "already_sent"
    return {"audience": audience, "status": status, "robots": statuses}


def read_manifest(day_dir: Path) -> dict:
    return delivery.read_manifest(day_dir, RECORD)


def alert(warehouse: Path, day: date, outbox: Path | None = None, audiences=AUDIENCES,
          language: str = "zh", recipients: delivery.RecipientsConfig | None = None,
          send: bool = False, resend: bool = False,
          lookups: Mapping[str, robots.Lookup] | None = None,
          progress: Progress | None = None, **post_options) -> dict:
    """Read every audience's content and print it (``send=False``: the dry run, through
    ``progress``) or post it to the audience's robots. Recipients and every robot setting are
    checked before anything is posted; then one audience's failure does not keep the others
    from theirs (RuntimeError naming the failed ones at the end)."""
    say = progress or log.info
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: languages are {LANGUAGES}")
    plan: dict[str, list[robots.Robot] | None] = {}
    if send:
        recipients = recipients or delivery.load_recipients()
        for audience in audiences:
            settings = recipients.robots_for(audience)
            plan[audience] = robots.robots_from_config(settings, lookups) if settings else None
    contents = read_contents(warehouse, day, tuple(audiences))
    outbox = outbox or delivery.outbox_dir()
    results, failed = [], []
    for audience, item in contents.items():
        if not send:
            targets = ""
            if recipients is not None:
                found = recipients.by_audience.get(audience)
                settings = found.robots if found else {}
                kinds = [k for k in robots.KINDS if settings.get(f"{k}_webhook")]
                targets = f" -> {', '.join(kinds) or 'no robot'}"
            say(f"--- {audience}{targets} (dry run: not posted)")
            say(render(item, language, "wecom").text())
            results.append({"audience": audience, "status": "dry_run"})
            continue
        if plan[audience] is None:
            why = ("e-mail only" if audience in recipients.by_audience else
                   "not in the recipients (on_missing = skip)")
            say(f"alert {audience}: skipped, {why} in {recipients.source}")
            results.append({"audience": audience, "status": "skipped_no_robots"})
            continue
        try:
            results.append(post_audience(item, plan[audience], outbox / day.isoformat(),
                                         language, resend, say, **post_options))
        except Exception as exc:  # the other audiences still get theirs
            log.error("alert %s failed: %s: %s", audience, type(exc).__name__, exc)
            failed.append(audience)
    if failed:
        raise RuntimeError(f"alerts failed for {', '.join(failed)} (the others were posted; "
                           "run again to retry only these)")
    return {"day": day.isoformat(), "record": str(outbox / day.isoformat() / RECORD),
            "alerts": results}
