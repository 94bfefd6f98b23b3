"""Chat alerts (siyu.kpi_alerts, `siyu alert`): the message of each department from hand-made
marts, worked out by hand; then real posts to a loopback server that plays the WeCom, Feishu and
DingTalk robots (tests/robot_server.py): what each department received, retries, the day's
record (a rerun posts nothing, --resend posts again), env: references; finally the messages of a
warehouse that `siyu run` published, checked against its marts."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from siyu import delivery, kpi_alerts, robots
from siyu.cli import main
from siyu.extracts import AUDIENCES
from siyu.extracts import tables as T
from siyu.extracts.i18n import t

from .extracts_fixtures import create_report_views, load_seed
from .robot_server import TOO_MANY_REQUESTS, WECOM_RATE_LIMITED, DINGTALK_RATE_LIMITED, \
    RobotServer

DAY = date(2025, 6, 28)
FAST = {"backoff": 0.01, "timeout": 5, "pacer": None}
PHONE = re.compile(r"1[3-9]\d{9}")


# ---------------------------------------------------------------- hand-made marts

@pytest.fixture
def tiny(tmp_path) -> Path:
    """The three marts an alert reads, with values worked out by hand (see the comments), and
    the extracts' headline view over them."""
    path = tmp_path / "tiny.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    con.execute("""CREATE TABLE marts.kpi_department_latest (as_of DATE, department VARCHAR,
        kpi VARCHAR, value DOUBLE, value_date DATE, days_behind INTEGER, target DOUBLE,
        status VARCHAR, direction VARCHAR, unit VARCHAR, no_value_reason VARCHAR,
        first_value_on DATE)""")
    d, d2 = DAY, DAY - timedelta(days=2)
    con.executemany("""INSERT INTO marts.kpi_department_latest VALUES
        (?, ?, ?, ?, ?, 0, ?, ?, 'higher_is_better', ?, ?, ?)""", [
        (d, "sales", "net_revenue", 8000, d, 12000, "red", "CNY/day", None, None),
        (d, "sales", "aov", 280, d2, 300, "yellow", "CNY", None, None),  # value of 06-26
        (d, "sales", "repurchase_rate_90d", None, None, 0.3, None, "rate", "no_cohort_matured",
         date(2025, 8, 29)),
        (d, "sales", "one_on_one_effective_rate", 0.45, d, 0.6, "red", "rate", None, None),
        # durations: the mart keeps seconds, the alert shows minutes (1800 s = 30.0 min)
        (d, "service", "frt_p50_seconds", 1800, d, 900, "red", "seconds", None, None),
        (d, "service", "response_rate_2h", 0.95, d, 0.9, "green", "rate", None, None),
        (d, "service", "response_rate_48h", 0.99, d2, 0.95, "green", "rate", None, None),
        (d, "all", "net_revenue", 30000, d, 40000, "yellow", "CNY/day", None, None),
        (d, "all", "nps", 40, d, 30, "green", "points", None, None),
        # marketing's KPIs are fine: no red, no yellow
        (d, "marketing", "new_contacts", 120, d, 100, "green", "contacts/day", None, None),
        (d, "marketing", "cac", 30, d, 35, "green", "CNY", None, None),
    ])
    con.execute("""CREATE TABLE marts.kpi_department_daily (date DATE, department VARCHAR,
        kpi VARCHAR, value DOUBLE, target DOUBLE, status VARCHAR, unit VARCHAR)""")
    con.executemany("INSERT INTO marts.kpi_department_daily VALUES (?, ?, ?, ?, ?, ?, ?)", [
        (d - timedelta(days=1), "sales", "net_revenue", 9000.5, 12000, "red", "CNY/day"),
        # aov: its value is of 06-26 and 06-25 had none: no change shown
        (d - timedelta(days=3), "sales", "aov", None, 300, None, "CNY"),
        (d - timedelta(days=1), "sales", "one_on_one_effective_rate", 0.47, 0.6, "red", "rate"),
        (d - timedelta(days=1), "service", "frt_p50_seconds", 1500, 900, "red", "seconds"),
        (d - timedelta(days=1), "all", "net_revenue", 30000, 40000, "yellow", "CNY/day"),
    ])
    con.execute("""CREATE TABLE marts.fct_activation_tasks (as_of DATE, staff_id VARCHAR,
        department VARCHAR, task_type VARCHAR, user_id VARCHAR, reference_id VARCHAR,
        due_at TIMESTAMP, age_hours DOUBLE, priority INTEGER)""")
    con.executemany("INSERT INTO marts.fct_activation_tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        # sales: sales_000 has 3 tasks, sales_001 one: 4 tasks, 2 staff, at most 3
        (d, "sales_000", "sales", "inquiry_unanswered_48h", "u1", "m1", "2025-06-27 10:00", 62, 1),
        (d, "sales_000", "sales", "churn_risk_winback", "u2", "C2", "2025-06-29 00:00", 900, 4),
        (d, "sales_000", "sales", "churn_risk_winback", "u3", "C3", "2025-06-29 00:00", 800, 4),
        (d, "sales_001", "sales", "contact_untagged_6h", "u4", "C4", "2025-06-28 16:00", 14, 3),
        # a user without an owner: department unknown, only the executive sees it
        (d, None, "unknown", "churn_risk_winback", "u5", "C5", "2025-06-29 00:00", 700, 4),
        # another day's list: not counted
        (d - timedelta(days=1), "sales_001", "sales", "churn_risk_winback", "u6", "C6",
         "2025-06-28 00:00", 10, 4),
    ])
    # the headline the alert shares with the extracts: its dbt view and the seed it reads
    load_seed(con, "kpi_catalog")
    create_report_views(con, "rpt_shared__headline")
    con.close()
    return path


def read(path: Path, audience: str) -> kpi_alerts.Content:
    return kpi_alerts.read_contents(path, DAY, (audience,))[audience]


def test_a_department_gets_its_red_and_yellow_kpis_and_its_to_do_sizes(tiny):
    message = kpi_alerts.render(read(tiny, "sales"), "zh", "wecom")
    assert message.title == "私域预警 · 销售部 · 2025-06-28"
    assert message.text().split("\n") == [
        "### 私域预警 · 销售部 · 2025-06-28",
        "**核心指标**：4 项中 2 项告警，1 项预警，0 项达标",
        # red first, each in the department's KPI order; change = value - the day before's
        "🔴 **净收入** 告警：¥8,000.00，目标 ¥12,000.00，较前日 -¥1,000.50",
        "🔴 **1v1有效沟通率** 告警：45.0%，目标 60.0%，较前日 -2.0 个百分点",
        # a value of an earlier day says so; the day before it had none: no change
        "🟡 **客单价** 预警：¥280.00，目标 ¥300.00，较前日 —，数据日期 2025-06-26",
        "**待办清单**：4 项待办，2 名员工，一人最多 3 项",
        "- 咨询超48小时未回复：1",  # most urgent type first
        "- 新联系人6小时未打标签：1",
        "- 流失风险用户挽回：2",
        "每人的清单：日报「待办清单」表，及 todo 文件夹中每人一份 CSV",
    ]
    en = kpi_alerts.render(read(tiny, "sales"), "en", "wecom").text().split("\n")
    assert en[:3] == [
        "### Private-domain alerts · Sales · 2025-06-28",
        "**Headline KPIs**: 2 alert, 1 warning, 0 on target of 4",
        "🔴 **Net revenue** alert: ¥8,000.00, target ¥12,000.00, vs previous day -¥1,000.50"]
    assert en[3] == ("🔴 **1v1 effective rate** alert: 45.0%, target 60.0%, "
                     "vs previous day -2.0 pp")
    assert en[4].endswith("vs previous day —, value of 2025-06-26")
    assert en[5] == "**To-do list**: 4 open tasks, 2 staff, at most 3 for one person"


def test_durations_show_in_minutes_as_in_the_extracts(tiny):
    lines = kpi_alerts.render(read(tiny, "service"), "zh", "wecom").lines
    assert lines[:2] == [
        "**核心指标**：3 项中 1 项告警，0 项预警，2 项达标",  # the KPIs the mart has
        "🔴 **首响时长中位数（分钟）** 告警：30.0，目标 15.0，较前日 +5.0"]
    assert lines[2] == "**待办清单**：没有未完成的待办"


def test_all_clear_and_the_executive_counts_every_department(tiny):
    marketing = kpi_alerts.render(read(tiny, "marketing"), "zh", "wecom").lines
    assert marketing[:2] == ["**核心指标**：2 项中 0 项告警，0 项预警，2 项达标",
                             "✅ 没有告警或预警的指标"]
    executive = kpi_alerts.render(read(tiny, "executive"), "zh", "wecom").lines
    assert executive == [
        "**核心指标**：2 项中 0 项告警，1 项预警，1 项达标",
        "🟡 **净收入** 预警：¥30,000.00，目标 ¥40,000.00，较前日 ±¥0.00",
        "**待办清单**：5 项待办，2 名员工，一人最多 3 项，另有 1 项无负责人",
        "- 销售部：4 项，2 名员工",
        "- 未知：1 项，0 名员工",  # tasks of users without an owner
        "明细：日报「各部门待办」表",
    ]


def test_each_service_has_its_flavour(tiny):
    item = read(tiny, "sales")
    feishu = kpi_alerts.render(item, "zh", "feishu").text()
    assert feishu.startswith("【私域预警 · 销售部 · 2025-06-28】\n核心指标：4 项中")
    assert "**" not in feishu and "\n• 流失风险用户挽回：2\n" in feishu  # plain text
    dingtalk = kpi_alerts.render(item, "zh", "dingtalk").text()
    assert dingtalk.startswith("### 私域预警 · 销售部 · 2025-06-28\n\n**核心指标**")  # paragraphs


def test_only_the_warehouse_as_of_day(tiny):
    with pytest.raises(ValueError, match="no alerts for 2025-06-27: the KPIs of .* are as of "
                                         "2025-06-28"):
        kpi_alerts.read_contents(tiny, DAY - timedelta(days=1))
    with pytest.raises(ValueError, match="unknown audience"):
        kpi_alerts.read_contents(tiny, DAY, ("finance",))


# ---------------------------------------------------------------- posting

@pytest.fixture
def server():
    with RobotServer() as s:
        yield s


ENV = ("TEST_WECOM_SALES", "TEST_FEISHU_OPS", "TEST_FEISHU_OPS_SECRET", "TEST_DINGTALK_SECRET",
       "TEST_WECOM_EXEC")


def robots_setup(tmp_path: Path, server: RobotServer, monkeypatch) -> Path:
    """marketing e-mail only; operations Feishu (signed); sales e-mail and WeCom; service
    DingTalk (加签, the webhook written in the file); executive all three. Webhooks and secrets
    from the environment (env:NAME) except service's webhook."""
    monkeypatch.setenv("TEST_WECOM_SALES", server.add("wecom", "sales-key"))
    monkeypatch.setenv("TEST_FEISHU_OPS", server.add("feishu", "ops-hook", secret="fs-ops"))
    monkeypatch.setenv("TEST_FEISHU_OPS_SECRET", "fs-ops")
    monkeypatch.setenv("TEST_DINGTALK_SECRET", "SECservice")
    monkeypatch.setenv("TEST_WECOM_EXEC", server.add("wecom", "exec-key"))
    service = server.add("dingtalk", "service-token", secret="SECservice")
    exec_feishu = server.add("feishu", "exec-hook")
    exec_dingtalk = server.add("dingtalk", "exec-token")
    path = tmp_path / "recipients.toml"
    path.write_text(f"""
[marketing]
to = ["marketing-lead@siyu.test"]
[operations]
feishu_webhook = "env:TEST_FEISHU_OPS"
feishu_secret = "env:TEST_FEISHU_OPS_SECRET"
[sales]
to = ["sales-lead@siyu.test"]
wecom_webhook = "env:TEST_WECOM_SALES"
[service]
dingtalk_webhook = "{service}"
dingtalk_secret = "env:TEST_DINGTALK_SECRET"
[executive]
wecom_webhook = "env:TEST_WECOM_EXEC"
feishu_webhook = "{exec_feishu}"
dingtalk_webhook = "{exec_dingtalk}"
""", encoding="utf-8")
    return path


RECEIVERS = {("feishu", "ops-hook"): "operations", ("wecom", "sales-key"): "sales",
             ("dingtalk", "service-token"): "service", ("wecom", "exec-key"): "executive",
             ("feishu", "exec-hook"): "executive", ("dingtalk", "exec-token"): "executive"}


def received_by_audience(server: RobotServer) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in server.received:
        out.setdefault(RECEIVERS[(r.kind, r.robot_id)], []).append(r)
    return out


def test_each_department_receives_its_message_once(tiny, tmp_path, server, monkeypatch):
    recipients = delivery.load_recipients(robots_setup(tmp_path, server, monkeypatch))
    outbox = tmp_path / "outbox"
    lines: list[str] = []
    result = kpi_alerts.alert(tiny, DAY, outbox, recipients=recipients, send=True,
                              progress=lines.append, **FAST)
    assert server.errors == []
    assert {r["audience"]: r["status"] for r in result["alerts"]} == {
        "marketing": "skipped_no_robots", "operations": "sent", "sales": "sent",
        "service": "sent", "executive": "sent"}
    got = received_by_audience(server)
    assert set(got) == {"operations", "sales", "service", "executive"}  # marketing: e-mail only
    assert sorted(r.kind for r in got["executive"]) == ["dingtalk", "feishu", "wecom"]
    items = kpi_alerts.read_contents(tiny, DAY)
    for audience, received in got.items():
        for r in received:
            assert r.text == kpi_alerts.render(items[audience], "zh", r.kind).text()
    assert "🔴 **净收入** 告警：¥8,000.00" in got["sales"][0].text
    assert got["service"][0].title == "私域预警 · 客服部 · 2025-06-28"  # DingTalk's title
    # the day's record: per audience and robot, how it was configured, never a URL or secret
    record = json.loads((outbox / DAY.isoformat() / "alerts.json").read_text())
    sales = record["audiences"]["sales"]["robots"]["wecom"]
    assert sales["status"] == "sent" and sales["robot"] == "env:TEST_WECOM_SALES"
    assert [p["attempts"] for p in sales["parts"]] == [1]
    assert record["audiences"]["service"]["robots"]["dingtalk"]["robot"] == \
        "(in the recipients file)"
    text = json.dumps(record) + "\n".join(lines)
    assert "127.0.0.1" not in text and "sales-key" not in text and "fs-ops" not in text
    assert any(line.startswith("alert marketing: skipped, e-mail only") for line in lines)

    # a rerun posts nothing; --resend posts again, to the chosen audiences
    again = kpi_alerts.alert(tiny, DAY, outbox, recipients=recipients, send=True,
                             progress=lines.append, **FAST)
    assert {r["audience"]: r["status"] for r in again["alerts"]}["executive"] == "already_sent"
    assert len(server.received) == 6
    kpi_alerts.alert(tiny, DAY, outbox, audiences=("sales",), recipients=recipients, send=True,
                     resend=True, **FAST)
    assert len(server.texts("wecom", "sales-key")) == 2 and len(server.received) == 7


def test_rate_limits_are_retried_and_a_failing_robot_holds_up_nobody(tiny, tmp_path, server,
                                                                     monkeypatch):
    recipients = delivery.load_recipients(robots_setup(tmp_path, server, monkeypatch))
    outbox = tmp_path / "outbox"
    server.script("wecom", "sales-key", TOO_MANY_REQUESTS)  # a 429, then success
    server.script("dingtalk", "service-token", DINGTALK_RATE_LIMITED)  # 130101, then success
    server.script("wecom", "exec-key", *[WECOM_RATE_LIMITED] * 3)  # 45009 past the retries
    with pytest.raises(RuntimeError, match="alerts failed for executive"):
        kpi_alerts.alert(tiny, DAY, outbox, recipients=recipients, send=True, retries=2, **FAST)
    record = json.loads((outbox / DAY.isoformat() / "alerts.json").read_text())["audiences"]
    assert record["sales"]["robots"]["wecom"]["parts"][0]["attempts"] == 2
    assert record["service"]["robots"]["dingtalk"]["parts"][0]["attempts"] == 2
    assert "wecom" not in record["executive"]["robots"]  # failed: not recorded
    assert {k: v["status"] for k, v in record["executive"]["robots"].items()} == {
        "feishu": "sent", "dingtalk": "sent"}  # the executive's other robots got theirs
    assert len(server.texts("wecom", "exec-key")) == 0
    # the rerun posts only what failed
    result = kpi_alerts.alert(tiny, DAY, outbox, recipients=recipients, send=True, **FAST)
    assert {r["audience"]: r["robots"] for r in result["alerts"] if "robots" in r}[
        "executive"] == {"wecom": "sent", "feishu": "already_sent", "dingtalk": "already_sent"}
    assert len(server.texts("wecom", "exec-key")) == 1
    assert len(server.received) == 6  # each robot once


def test_a_missing_secret_or_audience_fails_before_anything_is_posted(tiny, tmp_path, server,
                                                                     monkeypatch):
    path = robots_setup(tmp_path, server, monkeypatch)
    monkeypatch.delenv("TEST_DINGTALK_SECRET")
    with pytest.raises(robots.MissingSecret, match="env:TEST_DINGTALK_SECRET: the environment "
                                                   "variable TEST_DINGTALK_SECRET is not set"):
        kpi_alerts.alert(tiny, DAY, tmp_path / "outbox", send=True,
                         recipients=delivery.load_recipients(path), **FAST)
    path.write_text('[sales]\nwecom_webhook = "env:TEST_WECOM_SALES"\n', encoding="utf-8")
    with pytest.raises(delivery.MissingRecipients, match="'marketing'"):
        kpi_alerts.alert(tiny, DAY, tmp_path / "outbox", send=True,
                         recipients=delivery.load_recipients(path), **FAST)
    assert server.attempts == [] and not (tmp_path / "outbox").exists()
    # on_missing = "skip": the audiences with robots get theirs
    path.write_text('on_missing = "skip"\n[sales]\nwecom_webhook = "env:TEST_WECOM_SALES"\n',
                    encoding="utf-8")
    result = kpi_alerts.alert(tiny, DAY, tmp_path / "outbox", send=True,
                              recipients=delivery.load_recipients(path), **FAST)
    assert [r["audience"] for r in result["alerts"] if r["status"] == "sent"] == ["sales"]


def test_a_long_message_is_split_for_wecom_and_a_rerun_finishes_it(tiny, tmp_path, server,
                                                                 monkeypatch):
    """A message over WeCom's 4096 bytes goes in parts; when the robot stops accepting halfway,
    the rerun posts only the parts it had not accepted."""
    item = read(tiny, "sales")
    many = kpi_alerts.Todo(9000, 300, 80, 0, tuple((f"task_type_{i:03d}" + "长" * 40, i)
                                                   for i in range(120)))
    item = kpi_alerts.Content(item.audience, item.day, item.statuses, item.kpis, item.alerts,
                              many)
    robot = robots.Robot("wecom", server.add("wecom", "K"), source="env:X")
    parts = kpi_alerts.render(item, "zh", "wecom").texts(4096)
    assert len(parts) >= 3
    day_dir = tmp_path / "outbox" / DAY.isoformat()
    original = robots.post_text
    calls = []

    def breaks_on_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise robots.RobotError("WeCom robot (env:X) refused the message: HTTP 503")
        return original(*args, **kwargs)

    monkeypatch.setattr(robots, "post_text", breaks_on_the_second)
    with pytest.raises(RuntimeError, match="HTTP 503"):
        kpi_alerts.post_audience(item, [robot], day_dir, **FAST)
    monkeypatch.setattr(robots, "post_text", original)
    assert server.texts("wecom", "K") == parts[:1]
    kpi_alerts.post_audience(item, [robot], day_dir, **FAST)
    assert server.texts("wecom", "K") == parts  # each part once, in order
    assert all(len(p.encode()) <= 4096 for p in parts) and server.errors == []
    record = kpi_alerts.read_manifest(day_dir)["audiences"]["sales"]["robots"]["wecom"]
    assert record["status"] == "sent" and [p["part"] for p in record["parts"]] == list(
        range(1, len(parts) + 1))


def test_cli_dry_run_and_send(tiny, tmp_path, server, monkeypatch, capsys):
    monkeypatch.delenv("SIYU_RECIPIENTS_FILE", raising=False)
    monkeypatch.setenv("SIYU_ROBOT_BACKOFF_SECONDS", "0.01")
    outbox = tmp_path / "outbox"
    argv = ["alert", "--warehouse", str(tiny), "--date", DAY.isoformat(), "--outbox", str(outbox)]
    # dry run: every department's message printed, nothing posted or written
    assert main(argv) == 0
    out = capsys.readouterr().out
    for audience in AUDIENCES:
        assert f"--- {audience} (dry run: not posted)" in out
        assert f"### 私域预警 · {t(audience, 'zh')} · 2025-06-28" in out
    assert "🔴 **净收入** 告警：¥8,000.00" in out and not outbox.exists()
    recipients = robots_setup(tmp_path, server, monkeypatch)
    assert main([*argv, "--recipients", str(recipients), "--language", "en"]) == 0
    out = capsys.readouterr().out
    assert "--- executive -> wecom, feishu, dingtalk (dry run: not posted)" in out
    assert "--- marketing -> no robot (dry run: not posted)" in out
    assert "Private-domain alerts · Sales" in out and server.attempts == []
    # --send: posted, one line per robot; a second run posts nothing
    assert main([*argv, "--recipients", str(recipients), "--send"]) == 0
    out = capsys.readouterr().out
    assert len(server.received) == 6
    assert re.search(r"^alert sales: WeCom robot \(env:TEST_WECOM_SALES\) 1 message\(s\), "
                     r"1 attempt\(s\)", out, re.M)
    assert "4 audience(s) posted" in out and "127.0.0.1" not in out
    assert main([*argv, "--recipients", str(recipients), "--send"]) == 0
    assert "0 audience(s) posted" in capsys.readouterr().out and len(server.received) == 6
    assert main([*argv, "--recipients", str(recipients), "--send", "--resend",
                 "--audience", "service"]) == 0
    assert len(server.received) == 7
    # a secret missing: one line, exit 1, nothing posted
    monkeypatch.delenv("TEST_WECOM_EXEC")
    assert main([*argv, "--recipients", str(recipients), "--send", "--resend"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == ("siyu alert: error: env:TEST_WECOM_EXEC: the environment variable "
                           "TEST_WECOM_EXEC is not set or empty")
    assert len(server.received) == 7
    # no warehouse, no recipients file: exit 2
    assert main(["alert", "--warehouse", str(tmp_path / "nope.duckdb"), "--date", "2025-06-28"]) == 2
    assert main([*argv, "--send", "--recipients", str(tmp_path / "nope.toml")]) == 2


# ---------------------------------------------------------------- a published warehouse

def test_messages_of_a_published_warehouse(published_warehouse, tmp_path, server,  # noqa: F811
                                           monkeypatch):
    warehouse, day = published_warehouse
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        latest = con.execute(
            "SELECT department, kpi, status FROM marts.kpi_department_latest WHERE as_of = ?",
            [day]).fetchall()
        tasks = con.execute(
            "SELECT department, staff_id, task_type FROM marts.fct_activation_tasks "
            "WHERE as_of = ?", [day]).fetchall()
        staff_names = [n for (n,) in con.execute(
            "SELECT name_masked FROM marts.dim_staff").fetchall() if n]
    finally:
        con.close()
    items = kpi_alerts.read_contents(warehouse, day)
    flagged_seen = 0
    for audience, item in items.items():
        dept = T.DEPARTMENT[audience]
        own = T.OWN_KPIS[audience]
        expected = [k for k in own for d, kk, s in latest
                    if d == dept and kk == k and s in ("red", "yellow")]
        assert sorted(a.kpi for a in item.alerts) == sorted(expected), audience
        assert item.kpis == len(own)
        mine = [x for x in tasks if dept == "all" or x[0] == dept]
        assert item.todo.tasks == len(mine)
        assert item.todo.staff == len({s for _, s, _ in mine if s})
        assert dict(item.todo.by_type) == {tt: sum(1 for x in mine if x[2] == tt)
                                           for tt in {x[2] for x in mine}}
        flagged_seen += len(expected)
    assert flagged_seen >= 3  # the generated 40 days do have red and yellow KPIs
    assert items["executive"].todo.tasks > 20

    # posted: every department receives its own, in Chinese, with nobody named
    recipients = delivery.load_recipients(robots_setup(tmp_path, server, monkeypatch))
    kpi_alerts.alert(warehouse, day, tmp_path / "outbox", recipients=recipients, send=True,
                     **FAST)
    got = received_by_audience(server)
    assert server.errors == [] and set(got) == {"operations", "sales", "service", "executive"}
    staff_ids = {s for _, s, _ in tasks if s}
    for audience, received in got.items():
        for r in received:
            assert f"{t(audience, 'zh')} · {day}" in r.text
            for a in items[audience].alerts:
                assert t(a.kpi, "zh") in r.text
            assert f"{items[audience].todo.tasks:,} 项待办" in r.text
            assert not PHONE.search(r.text)
            assert not [s for s in staff_ids if s in r.text]  # staff are counted, not named
            assert not [n for n in staff_names if n in r.text]
