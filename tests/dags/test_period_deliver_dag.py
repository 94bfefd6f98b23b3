"""``siyu_deliver_week``: a real run (``airflow dags test`` in a subprocess, as
tests/dags/test_deliver_dag.py runs ``siyu_deliver``) that builds the weekly reports of a
published warehouse into ``<outbox>/week-<monday>/`` and e-mails the five departments through
the Airflow SMTP connection to a loopback aiosmtpd server; a second run sends nothing."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from email import message_from_bytes, policy

import pytest

from .test_alerts import Inbox, free_port, wait_for
from .test_deliver_dag import AUDIENCES, BIN, airflow_env

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")


def _dags_test(env: dict, logical_date, conf: dict) -> str:
    proc = subprocess.run(
        [BIN / "airflow", "dags", "test", "siyu_deliver_week", logical_date.isoformat(),
         "-c", json.dumps(conf)], env=env, capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "state=failed" not in log, log[-6000:]
    return log


def test_the_weekly_dag_mails_every_department_its_week_once(tmp_path, published_warehouse):  # noqa: F811
    warehouse, as_of = published_warehouse
    monday = as_of - timedelta(days=as_of.weekday() + 7)  # the last complete ISO week
    inbox = Inbox()
    port = free_port()
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        outbox = tmp_path / "outbox"
        env = airflow_env(tmp_path / "airflow_home", warehouse, outbox, port)
        subprocess.run([BIN / "airflow", "db", "migrate"], env=env, check=True,
                       capture_output=True)
        _dags_test(env, as_of, {"date": (monday + timedelta(days=3)).isoformat()})
        wait_for(inbox, 5)
        assert len(inbox.messages) == 5
        for envelope in inbox.messages:
            msg = message_from_bytes(envelope.content, policy=policy.default)
            assert "私域周报" in msg["Subject"] and monday.isoformat() in msg["Subject"]
            names = sorted(part.get_filename() for part in msg.iter_attachments())
            assert names[0].endswith(f"week-{monday}.html"), names
            assert names[1].endswith(f"week-{monday}.xlsx"), names
        manifest = json.loads((outbox / f"week-{monday}" / "delivery.json").read_text())
        assert {a for a, e in manifest["audiences"].items() if "sent" in e} == set(AUDIENCES)

        log = _dags_test(env, as_of + timedelta(days=1), {"date": monday.isoformat()})
        assert len(inbox.messages) == 5
        assert all(f"reason='{a}: already_sent'" in log for a in AUDIENCES), log[-6000:]
    finally:
        controller.stop()
