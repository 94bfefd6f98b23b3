"""Airflow DAG `siyu_deliver`: each department's extract of the published day, by e-mail, and
its red and yellow KPIs and to-do sizes in its chat groups (WeCom, Feishu, DingTalk robots).

Scheduled on the `siyu_marts` asset, which `siyu_build` (and `siyu_daily`) emit when a build is
published, with the business day in the event's extra (`{"as_of": "2025-06-28"}`).

1. `build_extracts` writes, for that day, `<outbox>/<day>/<audience>/` for marketing,
   operations, sales, service and executive (XLSX, CSV, HTML report; personal data masked),
   replacing what an earlier run wrote there (`siyu.delivery.build`).
2. `send` is mapped over the five extracts: one task per department, so a department whose
   e-mail fails retries and alerts on its own while the others are delivered.
3. `alert` is mapped over them as well, beside `send`: each department's chat message (its red
   and yellow KPIs with target and change since the previous day, the size of its staff's
   to-do lists) posted to the robots of its recipients table (`siyu.kpi_alerts`,
   docs/alerts.md). Skipped for a department with e-mail only.

**Which day.** The `as_of` of the triggering `siyu_marts` event (the latest when several builds
were published since the last delivery), else Param `date`, else the logical date:
`airflow dags test siyu_deliver 2025-06-28` delivers 2025-06-28.

**Recipients.** The Airflow Variable `siyu_recipients` (JSON: `{"marketing": {"to": [...],
"cc": [...]}, ..., "on_missing": "error"}`) when set, else the TOML file `SIYU_RECIPIENTS_FILE`
(see `include/siyu/recipients.example.toml`); never merged. A department without recipients
fails its `send` task without retries (a configuration error), unless `on_missing` is `skip`:
then the task is skipped.

**Mail** goes through the Airflow SMTP connection `smtp_default` (`SIYU_SMTP_CONN_ID`);
sender: `SIYU_SMTP_FROM`, else the connection extra's `from_email`.

**Robots** are keys of a department's recipients table (`wecom_webhook`, `feishu_webhook` +
`feishu_secret`, `dingtalk_webhook` + `dingtalk_secret`); a value `env:NAME` is read from the
worker's environment, `var:NAME` from an Airflow Variable, `conn:ID` from the password of an
Airflow Connection, so keys and secrets stay out of the Variable. A rate-limited robot is
retried with backoff inside the task (`SIYU_ROBOT_*`).

**Retries do not resend.** `<outbox>/<day>/delivery.json` records every e-mail sent (message-id,
To/Cc, attachments, time); a `send` task whose department is listed there is skipped, so a
retry, a cleared task or a re-run of the day sends only what was not sent. Param
`resend=true` sends again on purpose. Likewise `<outbox>/<day>/alerts.json` for the robots,
and Param `resend_alerts=true`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG, Param, get_current_context, task
from siyu import delivery
from siyu.extracts import LANGUAGES
from siyu.orchestration import (
    DAG_DOC_FOOTER,
    DAGRUN_TIMEOUT,
    alert_audience,
    default_args,
    delivery_day,
    marts_asset,
    run_settings,
    send_extract,
    settings,
    start_date,
)


@task(
    task_id="build_extracts",
    execution_timeout=timedelta(minutes=30),
    doc_md="Build the five department extracts of the run's day from the published warehouse "
    "into `<outbox>/<day>/<audience>/` (Param `outbox`, default `SIYU_OUTBOX`), replacing an "
    "earlier run's files; records them in `delivery.json`. Returns the extracts (paths, "
    "subject, e-mail body) for the `send` tasks.",
)
def build_extracts() -> list[dict]:
    ctx = get_current_context()
    s = run_settings(ctx)
    day = delivery_day(ctx, s.timezone)
    outbox = Path(ctx["params"].get("outbox") or delivery.outbox_dir())
    extracts = delivery.build(s.warehouse, day, outbox, language=ctx["params"]["language"])
    return [delivery.extract_to_dict(e) for e in extracts]


@task(
    task_id="send",
    execution_timeout=timedelta(minutes=15),
    map_index_template="{{ audience }}",
    doc_md="E-mail one department its extract (workbook and HTML report attached) through the "
    "SMTP connection `smtp_default` (`SIYU_SMTP_CONN_ID`), to the recipients of the Variable "
    "`siyu_recipients` (else `SIYU_RECIPIENTS_FILE`). Skipped when `delivery.json` lists the "
    "department as sent for the day (unless Param `resend`); fails without retrying when the "
    "department has no recipients.",
)
def send(extract: dict) -> dict:
    return send_extract(extract)


@task(
    task_id="alert",
    execution_timeout=timedelta(minutes=15),
    map_index_template="{{ audience }}",
    doc_md="Post one department's red and yellow KPIs (value, target, change since the previous "
    "day) and the size of its staff's to-do lists to its WeCom / Feishu / DingTalk robots "
    "(keys of its table in the Variable `siyu_recipients`, else `SIYU_RECIPIENTS_FILE`). "
    "Skipped when the department has e-mail only or `alerts.json` lists its robots as posted "
    "for the day (unless Param `resend_alerts`); fails without retrying when the department "
    "or a secret is missing.",
)
def alert(extract: dict) -> dict:
    return alert_audience(extract)


with DAG(
    dag_id="siyu_deliver",
    description="E-mail each department its extract and post its KPI alerts to its chat "
    "robots once a build is published (siyu_marts)",
    schedule=[marts_asset()],
    start_date=start_date(),
    catchup=False,
    max_active_runs=1,  # two runs of one day would rewrite the same outbox folder
    dagrun_timeout=DAGRUN_TIMEOUT,
    default_args=default_args(),
    params={
        "date": Param(None, type=["null", "string"], format="date",
                      description="Business day to deliver (default: the siyu_marts event's "
                      "as_of, else the logical date)."),
        "warehouse": Param(str(settings().warehouse), type="string",
                           description="Published DuckDB warehouse"),
        "outbox": Param(str(delivery.outbox_dir()), type="string",
                        description="Outbox folder (SIYU_OUTBOX)"),
        "language": Param("zh", enum=list(LANGUAGES), description="Language of the extracts"),
        "resend": Param(False, type="boolean",
                        description="Send again to departments delivery.json lists as sent"),
        "resend_alerts": Param(False, type="boolean",
                               description="Post again to robots alerts.json lists as posted"),
    },
    tags=["siyu", "delivery", "extracts", "alerts", "assets"],
    doc_md=(__doc__ or "") + DAG_DOC_FOOTER,
) as dag:
    extracts = build_extracts()
    send.expand(extract=extracts)
    alert.expand(extract=extracts)
