"""Failure alerts: every DAG's ``on_failure_callback`` (set in ``orchestration.default_args``).

``on_failure(context)`` runs when a task has failed for good (after its last retry). It logs
one line and, when ``SIYU_ALERT_EMAILS`` is set, e-mails the same facts through an Airflow
SMTP connection: DAG, task, run, try, business day, the exception's type and message, and the
link to the task's log. Never row contents or run parameters other than the day; e-mail
addresses and phone-like numbers in the exception message are masked, in case a library
quotes a value it failed to convert.

| variable             | meaning                                                | default        |
|----------------------|--------------------------------------------------------|----------------|
| SIYU_ALERT_EMAILS    | recipients, comma separated; unset or empty: log only  | (unset)        |
| SIYU_ALERT_CONN_ID   | Airflow SMTP connection                                 | `smtp_default` |
| SIYU_ALERT_FROM      | sender; else the connection's extra `from_email`       | (connection)   |

The connection is an ordinary Airflow connection (UI, ``airflow connections add`` or
``AIRFLOW_CONN_SMTP_DEFAULT``), e.g. for a relay without TLS on port 25:
``{"conn_type": "smtp", "host": "mail.local", "port": 25,
"extra": {"disable_ssl": true, "disable_tls": true, "from_email": "airflow@example.com"}}``.
Mail goes out through ``siyu.mail`` (the same SMTP path as the department extracts). A
callback never raises: a mail failure is logged next to the task's failure.
"""

from __future__ import annotations

import logging
import os
from datetime import date
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from .pii import mask_message

log = logging.getLogger("siyu.alerts")

DEFAULT_CONN_ID = "smtp_default"
MAX_MESSAGE = 1500


def recipients() -> list[str]:
    raw = os.environ.get("SIYU_ALERT_EMAILS", "")
    return [r.strip() for r in raw.replace(";", ",").split(",") if r.strip()]


def _business_day(context: dict) -> date | None:
    try:
        from .run_context import resolve_as_of, run_settings

        return resolve_as_of(context, run_settings(context).timezone)
    except Exception:  # the alert must go out even when the day cannot be told
        log.debug("business day of the failed run unknown", exc_info=True)
        return None


def failure_facts(context: dict) -> dict[str, Any]:
    """What an alert says, from an Airflow task context (plain values only)."""
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    exc = context.get("exception")
    message = mask_message(str(exc) if exc is not None else "")
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + " ..."
    day = _business_day(context)
    log_url = None
    try:
        log_url = getattr(ti, "log_url", None)
    except Exception:  # a fake or partial context
        log_url = None
    return {
        "dag_id": getattr(ti, "dag_id", None) or getattr(dag, "dag_id", None) or "?",
        "task_id": getattr(ti, "task_id", None) or "?",
        "run_id": getattr(ti, "run_id", None) or context.get("run_id") or "?",
        "try_number": getattr(ti, "try_number", None),
        "business_day": day.isoformat() if day else "unknown",
        "exception_type": type(exc).__name__ if exc is not None else "unknown",
        "exception": message or "(no exception in the context)",
        "log_url": log_url,
    }


@cache
def _templates() -> Environment:
    return Environment(loader=PackageLoader("siyu", "templates"), autoescape=True,
                       undefined=StrictUndefined, keep_trailing_newline=True)


def subject_and_body(facts: dict[str, Any]) -> tuple[str, str]:
    subject = (f"[siyu] task failed: {facts['dag_id']}.{facts['task_id']} "
               f"(business day {facts['business_day']})")
    rows = [
        ("DAG", facts["dag_id"]),
        ("Task", facts["task_id"]),
        ("Run", facts["run_id"]),
        ("Try", facts["try_number"]),
        ("Business day", facts["business_day"]),
        ("Exception", f"{facts['exception_type']}: {facts['exception']}"),
        ("Log", facts["log_url"] or "-"),
    ]
    body = _templates().get_template("task_failed.html.j2").render(rows=rows)
    return subject, body


def send_email(to: list[str], subject: str, body: str, conn_id: str) -> None:
    """Send through the Airflow SMTP connection (``siyu.mail``, shared with the extracts)."""
    from . import mail

    smtp = mail.SmtpSettings.from_airflow(conn_id, sender=os.environ.get("SIYU_ALERT_FROM"))
    with mail.session(smtp) as client:
        client.send_message(mail.html_message(to, subject, body, smtp.sender))


def on_failure(context: dict) -> None:
    """``on_failure_callback`` of every Siyu task: log the failure, e-mail it if configured."""
    try:
        facts = failure_facts(context)
    except Exception:
        log.exception("siyu alert: could not read the failure context")
        return
    log.error(
        "siyu task failed: dag=%s task=%s run=%s try=%s business_day=%s error=%s: %s",
        facts["dag_id"], facts["task_id"], facts["run_id"], facts["try_number"],
        facts["business_day"], facts["exception_type"], facts["exception"],
    )
    to = recipients()
    if not to:
        log.info("siyu alert: SIYU_ALERT_EMAILS not set, failure logged only")
        return
    conn_id = os.environ.get("SIYU_ALERT_CONN_ID") or DEFAULT_CONN_ID
    subject, body = subject_and_body(facts)
    try:
        send_email(to, subject, body, conn_id)
        log.info("siyu alert: e-mailed %d recipient(s) through connection %s", len(to), conn_id)
    except Exception:
        log.exception("siyu alert: e-mail through connection %s failed", conn_id)
