"""The failure callback e-mails through the Airflow SMTP connection (no scheduler needed):
a real SMTP server on loopback (aiosmtpd), the connection from AIRFLOW_CONN_SMTP_DEFAULT."""

from __future__ import annotations

import json
import logging
import socket
import time
from email import message_from_bytes, policy
from types import SimpleNamespace

import pytest

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        self.messages.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(monkeypatch):
    inbox = Inbox()
    port = free_port()
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port,
        "extra": {"disable_ssl": True, "disable_tls": True, "retry_limit": 0, "timeout": 10,
                  "from_email": "airflow@siyu.test"},
    }))
    try:
        yield inbox
    finally:
        controller.stop()


def fake_context(exc: BaseException) -> dict:
    ti = SimpleNamespace(dag_id="siyu_build", task_id="audit_and_publish", try_number=3,
                         run_id="asset_triggered__2025-03-21T02:05:00+08:00",
                         log_url="http://localhost:8080/dags/siyu_build/runs/x/tasks/y")
    return {"ti": ti, "dag": SimpleNamespace(dag_id="siyu_build"), "run_id": ti.run_id,
            "params": {"as_of": "2025-03-20"}, "exception": exc}


def wait_for(inbox: Inbox, n: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while len(inbox.messages) < n and time.monotonic() < deadline:
        time.sleep(0.05)


def test_failure_is_mailed_to_the_recipients(smtp_server, monkeypatch):
    from siyu import alerts

    monkeypatch.setenv("SIYU_ALERT_EMAILS", "data-oncall@siyu.test, lead@siyu.test")
    monkeypatch.delenv("SIYU_ALERT_FROM", raising=False)
    monkeypatch.delenv("SIYU_ALERT_CONN_ID", raising=False)
    exc = RuntimeError("quality gate failed for {{ marts }}: call 13800138000 or zhang@example.cn")
    alerts.on_failure(fake_context(exc))
    wait_for(smtp_server, 1)
    assert len(smtp_server.messages) == 1
    envelope = smtp_server.messages[0]
    assert sorted(envelope.rcpt_tos) == ["data-oncall@siyu.test", "lead@siyu.test"]
    assert envelope.mail_from == "airflow@siyu.test"
    msg = message_from_bytes(envelope.content, policy=policy.default)
    subject = msg["Subject"]
    assert "siyu_build" in subject and "audit_and_publish" in subject and "2025-03-20" in subject
    body = msg.get_body(("html", "plain")).get_content()
    for expected in ("siyu_build", "audit_and_publish", "2025-03-20",
                     "asset_triggered__2025-03-21T02:05:00+08:00", "RuntimeError",
                     "quality gate failed for {{ marts }}", "http://localhost:8080/dags/"):
        assert expected in body, expected
    # no personal data: the phone number and e-mail address of the message are masked
    assert "13800138000" not in body and "zhang@example.cn" not in body
    assert "&lt;number&gt;" in body and "&lt;email&gt;" in body


def test_without_recipients_the_failure_is_only_logged(smtp_server, monkeypatch, caplog):
    from siyu import alerts

    monkeypatch.delenv("SIYU_ALERT_EMAILS", raising=False)
    with caplog.at_level(logging.INFO, logger="siyu.alerts"):
        alerts.on_failure(fake_context(ValueError("boom")))
    time.sleep(0.5)
    assert smtp_server.messages == []
    text = caplog.text
    assert "dag=siyu_build task=audit_and_publish" in text and "business_day=2025-03-20" in text
    assert "ValueError: boom" in text


def test_a_mail_failure_never_raises(monkeypatch, caplog):
    from siyu import alerts

    monkeypatch.setenv("SIYU_ALERT_EMAILS", "data-oncall@siyu.test")
    monkeypatch.setenv("SIYU_ALERT_CONN_ID", "smtp_nowhere")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_NOWHERE", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": free_port(),
        "extra": {"disable_ssl": True, "disable_tls": True, "retry_limit": 0, "timeout": 5,
                  "from_email": "airflow@siyu.test"},
    }))
    with caplog.at_level(logging.INFO, logger="siyu.alerts"):
        alerts.on_failure(fake_context(ValueError("boom")))
    assert "e-mail through connection smtp_nowhere failed" in caplog.text


def test_the_failure_mail_is_rendered_from_its_template_and_escaped():
    from siyu import alerts

    facts = alerts.failure_facts(fake_context(ValueError("<script>alert(1)</script> & more")))
    subject, body = alerts.subject_and_body(facts)
    assert subject == ("[siyu] task failed: siyu_build.audit_and_publish "
                       "(business day 2025-03-20)")
    # one row per fact, in this order, each value escaped
    labels = [part.split("</th>")[0] for part in body.split('<th align="left">')[1:]]
    assert labels == ["DAG", "Task", "Run", "Try", "Business day", "Exception", "Log"]
    assert "<pre>3</pre>" in body
    assert "<script>" not in body
    assert "ValueError: &lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in body
