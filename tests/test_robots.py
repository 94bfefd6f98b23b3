"""Posting to chat robots (siyu.robots) over real HTTP: a loopback server plays WeCom, Feishu and
DingTalk (tests/robot_server.py), checking shapes, signatures and sizes as the services do."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

import pytest

from siyu import robots
from siyu.robots import Message, Pacer, Robot

from .robot_server import (
    DINGTALK_RATE_LIMITED, FEISHU_RATE_LIMITED, TOO_MANY_REQUESTS, UNAVAILABLE,
    WECOM_RATE_LIMITED, Reply, RobotServer,
)

FAST = {"backoff": 0.01, "timeout": 5, "pacer": None}


@pytest.fixture
def server():
    with RobotServer() as s:
        yield s


def message(lines: int = 3, title: str = "私域预警 · 销售部 · 2025-06-28") -> Message:
    return Message(title, [f"第 {i} 行：净收入 ¥1,234.00" for i in range(1, lines + 1)],
                   "### {title}")


# --- messages ------------------------------------------------------------------------------------


def test_a_short_message_is_one_part_a_long_one_is_split_at_line_ends():
    short = message(3)
    assert short.texts(4096) == [short.text()]
    assert short.text().startswith("### 私域预警 · 销售部 · 2025-06-28\n第 1 行")
    long = message(400)
    parts = long.texts(4096)
    assert len(parts) > 1
    assert all(len(p.encode("utf-8")) <= 4096 for p in parts)
    for i, part in enumerate(parts, 1):
        assert part.splitlines()[0] == f"### 私域预警 · 销售部 · 2025-06-28 ({i}/{len(parts)})"
    body = [line for part in parts for line in part.splitlines()[1:]]
    assert body == long.lines  # every line, in order, none cut


def test_past_the_last_part_the_rest_is_left_out_with_a_note():
    msg = Message("t", [f"line {i:05d} " + "x" * 80 for i in range(2000)], "### {title}",
                  cut_note="… {n} more line(s) left out")
    parts = msg.texts(4096, max_parts=3)
    assert len(parts) == 3 and all(len(p.encode()) <= 4096 for p in parts)
    shown = [line for p in parts for line in p.splitlines()[1:]]
    note = shown.pop()
    assert shown == msg.lines[:len(shown)]  # the first lines, in order
    assert note == f"… {2000 - len(shown)} more line(s) left out"
    # one line longer than a whole message is cut at a character boundary
    huge = Message("t", ["预" * 5000], "{title}").texts(4096)
    assert len(huge) == 1 and len(huge[0].encode()) <= 4096 and huge[0].endswith("…")


def test_signatures_are_the_services_algorithms():
    secret, ts = "SEC-test-secret", "1599360473"
    expected = base64.b64encode(hmac.new(f"{ts}\n{secret}".encode(), b"",
                                         hashlib.sha256).digest()).decode()
    assert robots.feishu_sign(ts, secret) == expected
    ts_ms = "1599360473000"
    expected = base64.b64encode(hmac.new(secret.encode(), f"{ts_ms}\n{secret}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert robots.dingtalk_sign(ts_ms, secret) == expected
    url, body = robots.request(Robot("dingtalk", "https://x/robot/send?access_token=T", secret),
                               "title", "text", now=lambda: 1599360473.0)
    assert url.startswith("https://x/robot/send?access_token=T&timestamp=1599360473000&sign=")
    assert "+" not in url.rsplit("sign=", 1)[1] and "/" not in url.rsplit("sign=", 1)[1]
    assert body == {"msgtype": "markdown", "markdown": {"title": "title", "text": "text"}}


# --- settings ------------------------------------------------------------------------------------


def test_env_references_are_resolved_when_posting_and_never_shown(monkeypatch):
    monkeypatch.setenv("WECOM_SALES_WEBHOOK", "https://qyapi.example/send?key=K-123")
    monkeypatch.delenv("FEISHU_SALES_SECRET", raising=False)
    settings = {"wecom_webhook": "env:WECOM_SALES_WEBHOOK",
                "feishu_webhook": "https://open.example/hook/abc",
                "feishu_secret": "env:FEISHU_SALES_SECRET"}
    with pytest.raises(robots.MissingSecret,
                       match="env:FEISHU_SALES_SECRET: the environment variable "
                             "FEISHU_SALES_SECRET is not set"):
        robots.robots_from_config(settings)
    monkeypatch.setenv("FEISHU_SALES_SECRET", "s3cret")
    wecom, feishu = robots.robots_from_config(settings)
    assert (wecom.kind, wecom.webhook, wecom.secret) == (
        "wecom", "https://qyapi.example/send?key=K-123", None)
    assert (feishu.webhook, feishu.secret) == ("https://open.example/hook/abc", "s3cret")
    # how a robot is named: the reference, never the URL or secret
    assert str(wecom) == "WeCom robot (env:WECOM_SALES_WEBHOOK)"
    assert str(feishu) == "Feishu robot ((in the recipients file))"
    assert "s3cret" not in repr(feishu) and "abc" not in repr(feishu)
    # a value that is not a URL is refused without being shown
    monkeypatch.setenv("WECOM_SALES_WEBHOOK", "K-123-pasted-key")
    with pytest.raises(ValueError, match=r"wecom_webhook env:WECOM_SALES_WEBHOOK: not an http") \
            as exc:
        robots.robots_from_config(settings)
    assert "K-123" not in str(exc.value)
    # var: and conn: need Airflow's lookups
    with pytest.raises(robots.MissingSecret, match="resolved in Airflow only"):
        robots.resolve("var:siyu_wecom_sales")
    assert robots.resolve("var:x", {"var": {"x": "from-variable"}.get}) == "from-variable"


def test_settings_are_checked():
    with pytest.raises(ValueError, match="feishu_secret without feishu_webhook"):
        robots.check_config({"feishu_secret": "s"}, "[sales]")
    with pytest.raises(ValueError, match="expected an http"):
        robots.check_config({"wecom_webhook": "qyapi.weixin.qq.com/x"}, "[sales]")
    with pytest.raises(ValueError, match="non-empty string"):
        robots.check_config({"dingtalk_webhook": ""}, "[sales]")
    assert robots.check_config({"to": ["a@x"], "wecom_webhook": "env:W"}, "[s]") == {
        "wecom_webhook": "env:W"}


# --- posting -------------------------------------------------------------------------------------


def test_each_service_gets_its_shape_and_signature(server):
    hooks = {
        "wecom": Robot("wecom", server.add("wecom", "K1")),
        "feishu": Robot("feishu", server.add("feishu", "F1", secret="fs-secret"), "fs-secret"),
        "feishu_plain": Robot("feishu", server.add("feishu", "F2")),
        "dingtalk": Robot("dingtalk", server.add("dingtalk", "D1", secret="SECd"), "SECd"),
        "dingtalk_plain": Robot("dingtalk", server.add("dingtalk", "D2")),
    }
    for robot in hooks.values():
        records = robots.post(robot, message(), **FAST)
        assert [(r["part"], r["of"], r["attempts"]) for r in records] == [(1, 1, 1)]
    assert server.errors == []
    assert [(r.kind, r.robot_id) for r in server.received] == [
        ("wecom", "K1"), ("feishu", "F1"), ("feishu", "F2"), ("dingtalk", "D1"), ("dingtalk", "D2")]
    for r in server.received:
        assert r.text == message().text()
    assert server.received[3].title == message().title


def test_a_wrong_secret_or_key_fails_at_once_without_retrying(server, caplog):
    url = server.add("dingtalk", "D1", secret="right")
    with pytest.raises(robots.RobotError, match=r"DingTalk robot \(-\) refused the message: "
                                                r"HTTP 200, code 310000: sign not match"):
        robots.post(Robot("dingtalk", url, "wrong"), message(), **FAST)
    url = server.add("feishu", "F1", secret="right")
    with pytest.raises(robots.RobotError, match="code 19021"):
        robots.post(Robot("feishu", url, "wrong"), message(), **FAST)
    bad_key = f"http://127.0.0.1:{server.port}/cgi-bin/webhook/send?key=NOT-A-KEY"
    with caplog.at_level(logging.DEBUG, logger="siyu"):
        with pytest.raises(robots.RobotError, match="code 93000") as exc:
            robots.post(Robot("wecom", bad_key, source="env:W"), message(), **FAST)
    assert "NOT-A-KEY" not in str(exc.value) and "NOT-A-KEY" not in caplog.text
    assert len(server.attempts) == 3 and server.received == []


@pytest.mark.parametrize("kind, limited", [
    ("wecom", TOO_MANY_REQUESTS), ("wecom", WECOM_RATE_LIMITED), ("wecom", UNAVAILABLE),
    ("feishu", FEISHU_RATE_LIMITED), ("feishu", TOO_MANY_REQUESTS),
    ("dingtalk", DINGTALK_RATE_LIMITED), ("dingtalk", TOO_MANY_REQUESTS),
])
def test_rate_limits_and_server_errors_are_retried_with_backoff(server, kind, limited):
    secret = None if kind == "wecom" else "sec"
    robot = Robot(kind, server.add(kind, "R", secret=secret), secret)
    server.script(kind, "R", limited, limited)
    slept = []
    records = robots.post(robot, message(), backoff=0.5, pacer=None, sleep=slept.append)
    assert records[0]["attempts"] == 3
    assert [s for _, _, s in server.attempts] == [limited.status, limited.status, 200]
    assert server.texts(kind, "R") == [message().text()]  # accepted once
    # the Retry-After header wins, else the delay doubles
    assert slept == ([0.0, 0.0] if "Retry-After" in limited.headers else [0.5, 1.0])


def test_the_retries_run_out(server):
    robot = Robot("wecom", server.add("wecom", "K"))
    server.script("wecom", "K", *[WECOM_RATE_LIMITED] * 4)
    with pytest.raises(robots.RobotError, match="still failing after 2 retries: HTTP 200, "
                                                "code 45009: api freq out of limit"):
        robots.post(robot, message(), retries=2, **FAST)
    assert len(server.attempts) == 3


def test_a_network_error_is_retried(server):
    robot = Robot("wecom", f"http://127.0.0.1:{server.port + 0}/cgi-bin/webhook/send?key=K")
    server.add("wecom", "K")
    server.httpd.shutdown()  # nobody listens any more: connection refused or reset
    server.httpd.server_close()
    with pytest.raises(robots.RobotError, match="still failing after 1 retries: URLError"):
        robots.post(robot, message(), retries=1, **FAST)


def test_a_long_message_reaches_wecom_in_parts_within_its_size(server):
    robot = Robot("wecom", server.add("wecom", "K"))
    long = message(300)
    records = robots.post(robot, long, **FAST)
    texts = server.texts("wecom", "K")
    assert len(records) == len(texts) == len(long.texts(4096)) > 1
    assert server.errors == [] and all(len(t.encode()) <= 4096 for t in texts)
    assert [line for t in texts for line in t.splitlines()[1:]] == long.lines
    # parts already posted (same SHA-256) are not posted again
    again = robots.post(robot, long, skip={r["sha256"] for r in records[:-1]}, **FAST)
    assert [r["part"] for r in again] == [len(records)]


def test_a_refused_oversize_part_is_a_clear_error(server):
    robot = Robot("wecom", server.add("wecom", "K"))
    with pytest.raises(ValueError, match="over the 4096 a message takes"):
        robots.post_text(robot, "t", "x" * 5000, **FAST)
    server.script("wecom", "K", Reply(200, {"errcode": 40058, "errmsg": "too long"}))
    with pytest.raises(robots.RobotError, match="40058"):
        robots.post_text(robot, "t", "short", **FAST)


def test_the_pacer_keeps_each_robot_under_its_rate():
    clock = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        clock[0] += s

    pacer = Pacer(clock=lambda: clock[0], sleep=sleep)
    wecom = Robot("wecom", "https://a/send?key=1")
    other = Robot("wecom", "https://a/send?key=2")
    for _ in range(20):
        assert pacer.wait(wecom) == 0
        clock[0] += 1
    assert pacer.wait(other) == 0  # another robot has its own 20
    assert pacer.wait(wecom) == pytest.approx(40)  # the 21st waits until the first is 60 s old
    feishu = Robot("feishu", "https://f/hook/x")
    pacer.wait(feishu)
    assert pacer.wait(feishu) == pytest.approx(0.2)  # 5 a second
