"""``siyu_deliver``: scheduled on ``siyu_marts``, and a real run (``airflow dags test`` in a
subprocess, as ``make demo`` runs DAGs) that builds the extracts of a published warehouse and
e-mails the five departments through the Airflow SMTP connection (``AIRFLOW_CONN_SMTP_DEFAULT``)
to a loopback aiosmtpd server, recipients from the Variable (``AIRFLOW_VAR_SIYU_RECIPIENTS``),
and posts three departments' KPI alerts to robots a loopback HTTP server plays (webhooks and
secrets through env:, var: and conn: references); a second run of the day mails and posts
nothing (delivery.json, alerts.json), and a resend with one department missing from the
Variable fails that department only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from types import SimpleNamespace

import pytest

from ..robot_server import TOO_MANY_REQUESTS, RobotServer
from .test_alerts import Inbox, free_port, wait_for

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
AUDIENCES = ("marketing", "operations", "sales", "service", "executive")


@pytest.fixture(scope="module")
def dag():
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / "siyu_deliver.py"))
    assert bag.import_errors == {}
    return bag.dags["siyu_deliver"]


def test_scheduled_on_the_published_marts_one_send_task_per_department(dag):
    from siyu.orchestration import marts_asset

    assert [(a.name, a.uri) for a in dag.timetable.asset_condition.objects] == [
        (marts_asset().name, marts_asset().uri)]
    assert sorted(dag.task_ids) == ["alert", "build_extracts", "send"]
    for task_id in ("send", "alert"):  # e-mail and chat robots, side by side
        task = dag.get_task(task_id)
        assert task.upstream_task_ids == {"build_extracts"}
        assert task.is_mapped  # over build_extracts' list: one task instance per department
        assert task.retries >= 2
    assert dag.max_active_runs == 1
    assert {"resend", "resend_alerts"} <= set(dag.params)


def test_the_day_comes_from_the_marts_event_then_the_param_then_the_logical_date():
    import pendulum
    from siyu.orchestration import delivery_day, marts_asset, raw_asset

    tz = "Asia/Shanghai"

    def event(as_of):
        return SimpleNamespace(extra={"as_of": as_of, "build_id": "b"})

    ctx = {"params": {"date": None}, "logical_date": pendulum.datetime(2025, 3, 9, 2, tz=tz),
           "triggering_asset_events": {marts_asset(): [event("2025-03-20"), event("2025-03-21")],
                                       raw_asset("crm"): [event("2025-03-25")]}}
    assert delivery_day(ctx, tz) == date(2025, 3, 21)  # the newest published day
    manual = {**ctx, "triggering_asset_events": {}, "params": {"date": "2025-03-01"}}
    assert delivery_day(manual, tz) == date(2025, 3, 1)
    scheduled = {**manual, "params": {"date": None}}
    assert delivery_day(scheduled, tz) == date(2025, 3, 9)


def airflow_env(home: Path, warehouse: Path, outbox: Path, smtp_port: int,
                robots: RobotServer | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SIYU_"))}
    variable = {a: {"to": [f"{a}-lead@siyu.test"], "cc": [f"{a}-head@siyu.test"]}
                for a in AUDIENCES}
    if robots is not None:
        # sales: WeCom, webhook from the environment; operations: Feishu, webhook in the
        # Variable, secret from an Airflow Variable; executive: DingTalk, webhook from the
        # environment, 加签 secret from an Airflow Connection's password
        env["TEST_WECOM_SALES"] = robots.add("wecom", "sales-key")
        variable["sales"]["wecom_webhook"] = "env:TEST_WECOM_SALES"
        variable["operations"]["feishu_webhook"] = robots.add("feishu", "ops-hook", "fs-ops")
        variable["operations"]["feishu_secret"] = "var:feishu_ops_secret"
        env["AIRFLOW_VAR_FEISHU_OPS_SECRET"] = "fs-ops"
        env["TEST_DINGTALK_EXEC"] = robots.add("dingtalk", "exec-token", "SECexec")
        variable["executive"]["dingtalk_webhook"] = "env:TEST_DINGTALK_EXEC"
        variable["executive"]["dingtalk_secret"] = "conn:dingtalk_executive"
        env["AIRFLOW_CONN_DINGTALK_EXECUTIVE"] = json.dumps(
            {"conn_type": "generic", "password": "SECexec"})
        env["SIYU_ROBOT_BACKOFF_SECONDS"] = "0.01"
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__DEFAULT_TIMEZONE="Asia/Shanghai",  # as the Makefile: logical date = day
        AIRFLOW__COSMOS__ENABLE_TELEMETRY="False",
        SIYU_WAREHOUSE=str(warehouse),
        SIYU_OUTBOX=str(outbox),
        SIYU_TIMEZONE="Asia/Shanghai",
        SIYU_TASK_RETRIES="0",  # a failure shows at once, not after minutes of backoff
        AIRFLOW_CONN_SMTP_DEFAULT=json.dumps({
            "conn_type": "smtp", "host": "127.0.0.1", "port": smtp_port,
            "extra": {"disable_ssl": True, "disable_tls": True, "timeout": 10,
                      "from_email": "siyu@siyu.test"}}),
        AIRFLOW_VAR_SIYU_RECIPIENTS=json.dumps(variable),
    )
    return env


def dags_test(env: dict, logical_date: date, conf: dict | None = None, ok: bool = True) -> str:
    cmd = [BIN / "airflow", "dags", "test", "siyu_deliver", logical_date.isoformat()]
    if conf:
        cmd += ["-c", json.dumps(conf)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    if ok:
        assert proc.returncode == 0, log[-6000:]
        assert "state=failed" not in log, log[-6000:]
    return log


def test_a_run_mails_every_department_once(tmp_path, published_warehouse):  # noqa: F811
    warehouse, as_of = published_warehouse
    inbox = Inbox()
    port = free_port()
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    robots = RobotServer().__enter__()
    try:
        outbox = tmp_path / "outbox"
        env = airflow_env(tmp_path / "airflow_home", warehouse, outbox, port, robots)
        robots.script("wecom", "sales-key", TOO_MANY_REQUESTS)  # a 429 first: retried
        subprocess.run([BIN / "airflow", "db", "migrate"], env=env, check=True,
                       capture_output=True)
        log = dags_test(env, as_of)  # the logical date is the day
        wait_for(inbox, 5)
        assert len(inbox.messages) == 5
        by_to = {}
        for envelope in inbox.messages:
            msg = message_from_bytes(envelope.content, policy=policy.default)
            audience = str(msg["To"]).split("-lead@")[0]
            by_to[audience] = msg
            assert sorted(envelope.rcpt_tos) == [f"{audience}-head@siyu.test",
                                                 f"{audience}-lead@siyu.test"]
            assert envelope.mail_from == "siyu@siyu.test"
            assert as_of.isoformat() in msg["Subject"]
            names = sorted(part.get_filename() for part in msg.iter_attachments())
            assert [n.rsplit(".", 1)[1] for n in names] == ["html", "xlsx"], names
        assert set(by_to) == set(AUDIENCES)
        manifest = json.loads((outbox / as_of.isoformat() / "delivery.json").read_text())
        assert {a for a, e in manifest["audiences"].items() if "sent" in e} == set(AUDIENCES)
        # the chat alerts: the three departments with robots, each once; the others skipped
        assert robots.errors == []
        posted = {(r.kind, r.robot_id): r.text for r in robots.received}
        labels = {("wecom", "sales-key"): "销售部", ("feishu", "ops-hook"): "运营部",
                  ("dingtalk", "exec-token"): "管理层"}
        assert set(posted) == set(labels)
        for key, label in labels.items():
            assert f"私域预警 · {label} · {as_of}" in posted[key] and "待办清单" in posted[key]
        assert robots.attempts.count(("wecom", "sales-key", 429)) == 1
        record = json.loads((outbox / as_of.isoformat() / "alerts.json").read_text())
        assert {a: sorted(e["robots"]) for a, e in record["audiences"].items()} == {
            "sales": ["wecom"], "operations": ["feishu"], "executive": ["dingtalk"]}
        assert "fs-ops" not in json.dumps(record) and "SECexec" not in json.dumps(record)
        assert "reason='marketing: no chat robots in Airflow Variable siyu_recipients'" in log

        # a second run of the same day (manual, Param date): rebuilt, nobody mailed twice
        log = dags_test(env, as_of + timedelta(days=1), conf={"date": as_of.isoformat()})
        assert len(inbox.messages) == 5 and len(robots.received) == 3
        assert all(f"reason='{a}: already_sent'" in log for a in AUDIENCES), log[-6000:]
        again = json.loads((outbox / as_of.isoformat() / "delivery.json").read_text())
        assert again["audiences"]["sales"]["sent"] == manifest["audiences"]["sales"]["sent"]
        assert again["audiences"]["sales"]["built"]["at"] >= manifest["audiences"]["sales"][
            "built"]["at"]

        # resend, with service missing from the Variable: service fails at once (no retry
        # helps a configuration error), the four others are mailed all the same
        recipients = json.loads(env["AIRFLOW_VAR_SIYU_RECIPIENTS"])
        del recipients["service"]
        env.update(AIRFLOW_VAR_SIYU_RECIPIENTS=json.dumps(recipients), SIYU_TASK_RETRIES="2")
        log = dags_test(env, as_of + timedelta(days=2),
                        conf={"date": as_of.isoformat(), "resend": True}, ok=False)
        wait_for(inbox, 9)
        assert len(inbox.messages) == 9
        resent = {str(message_from_bytes(e.content, policy=policy.default)["To"]).split("-lead@")[0]
                  for e in inbox.messages[5:]}
        assert resent == set(AUDIENCES) - {"service"}
        assert "no recipients for audience 'service' in Airflow Variable siyu_recipients" in log
        assert "up_for_retry" not in log, log[-6000:]
        assert len(robots.received) == 3  # resend is for e-mail: Param resend_alerts for robots
    finally:
        robots.__exit__(None, None, None)
        controller.stop()
