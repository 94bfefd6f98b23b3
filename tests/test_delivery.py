"""Delivery of the department extracts: real e-mails to a real SMTP server on loopback (aiosmtpd).

Most tests replace the extract builder with a small fake that writes the same kind of files
(a real XLSX workbook, an HTML report, a CSV, Chinese file names), so they test the delivery
code in seconds; ``test_real_extracts_of_a_published_warehouse`` runs the real builder on a
warehouse built by ``siyu run``.
"""

from __future__ import annotations

import json
import re
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path

import openpyxl
import pytest

from siyu import delivery, mail
from siyu.cli import main
from siyu.extracts import AUDIENCES, Extract

from .dags.test_alerts import Inbox, free_port, wait_for

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

DAY = date(2025, 6, 28)
ZH = {"marketing": "市场部", "operations": "运营部", "sales": "销售部", "service": "客服部",
      "executive": "管理层"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SENDER = "siyu@siyu.test"
PHONE = re.compile(r"1[3-9]\d{9}")


def recipients_toml(path: Path, audiences=AUDIENCES, on_missing: str | None = None) -> Path:
    lines = [f'on_missing = "{on_missing}"'] if on_missing else []
    for a in audiences:
        lines += [f"[{a}]", f'to = ["{a}-lead@siyu.test", "{a}-2@siyu.test"]']
        if a != "service":  # one department without cc
            lines.append(f'cc = ["{a}-head@siyu.test"]')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def fake_build_extracts(warehouse, day, outbox, audiences=AUDIENCES, language="zh",
                        progress=None):
    """What siyu.extracts.build_extracts writes, small: a workbook, a report, a CSV."""
    extracts = []
    for audience in audiences:
        directory = Path(outbox) / day.isoformat() / audience
        directory.mkdir(parents=True, exist_ok=True)
        name = f"{ZH[audience]}_{day.isoformat()}"
        wb = openpyxl.Workbook()
        wb.active.title = "KPI"
        wb.active.append(["kpi", "value"])
        wb.active.append(["new_contacts", 42])
        xlsx = directory / f"{name}.xlsx"
        wb.save(xlsx)
        html = directory / f"{name}.html"
        html.write_text(f"<html><body><h1>{ZH[audience]}</h1></body></html>", encoding="utf-8")
        csv = directory / "kpi.csv"
        csv.write_text("kpi,value\nnew_contacts,42\n", encoding="utf-8")
        extracts.append(Extract(
            audience=audience, day=day, language=language, directory=directory, xlsx=xlsx,
            html=html, csvs=[csv], subject=f"【私域日报】{ZH[audience]} {day.isoformat()}",
            html_body=f"<h2>{ZH[audience]} {day}</h2><table><tr><th>新增联系人</th>"
                      "<td>42</td><td>green</td></tr></table>"))
    return extracts


@pytest.fixture
def fake_builder(monkeypatch):
    monkeypatch.setattr(delivery, "build_extracts", fake_build_extracts)


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    port = free_port()
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    try:
        yield inbox
    finally:
        controller.stop()


def smtp_settings(server) -> mail.SmtpSettings:
    return mail.SmtpSettings(host="127.0.0.1", port=server.port, sender=SENDER, timeout=10)


def messages_by_audience(inbox: Inbox) -> dict[str, tuple]:
    """audience -> (envelope, parsed message), the audience told by the To address."""
    found = {}
    for envelope in inbox.messages:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        audience = str(msg["To"]).split("-lead@")[0]
        assert audience not in found, f"{audience} mailed twice"
        found[audience] = (envelope, msg)
    return found


def assert_message(envelope, msg, audience: str, day: date):
    cc = [] if audience == "service" else [f"{audience}-head@siyu.test"]
    to = [f"{audience}-lead@siyu.test", f"{audience}-2@siyu.test"]
    assert sorted(envelope.rcpt_tos) == sorted(to + cc)
    assert envelope.mail_from == SENDER
    assert [a.addr_spec for a in msg["To"].addresses] == to
    assert [a.addr_spec for a in msg["Cc"].addresses] if cc else msg["Cc"] is None
    assert day.isoformat() in msg["Subject"]
    assert ZH[audience] in msg["Subject"]  # the builder's department names
    assert msg["Message-ID"]
    assert msg.get_body(("plain",)).get_content().strip()
    html_body = msg.get_body(("html",)).get_content()
    assert html_body.strip()
    attachments = {part.get_filename(): part for part in msg.iter_attachments()}
    assert len(attachments) == 2, list(attachments)
    (xlsx_name,) = [n for n in attachments if n.endswith(".xlsx")]
    (html_name,) = [n for n in attachments if n.endswith(".html")]
    assert attachments[xlsx_name].get_content_type() == XLSX
    assert attachments[html_name].get_content_type() == "text/html"
    return attachments, xlsx_name, html_name


def test_each_department_gets_its_extract(tmp_path, fake_builder, smtp_server):
    outbox = tmp_path / "outbox"
    recipients = delivery.load_recipients(recipients_toml(tmp_path / "r.toml"))
    lines = []
    result = delivery.deliver(tmp_path / "wh.duckdb", DAY, outbox, recipients=recipients,
                              smtp=smtp_settings(smtp_server), progress=lines.append)
    wait_for(smtp_server, 5)
    assert [r["status"] for r in result["sent"]] == ["sent"] * 5
    found = messages_by_audience(smtp_server)
    assert set(found) == set(AUDIENCES)
    for audience, (envelope, msg) in found.items():
        attachments, xlsx_name, html_name = assert_message(envelope, msg, audience, DAY)
        # Chinese file names survive the trip (RFC 2231), the workbook opens
        assert xlsx_name == f"{ZH[audience]}_{DAY}.xlsx"
        assert html_name == f"{ZH[audience]}_{DAY}.html"
        workbook = tmp_path / f"received-{audience}.xlsx"
        workbook.write_bytes(attachments[xlsx_name].get_content())
        assert openpyxl.load_workbook(workbook)["KPI"]["B2"].value == 42
        assert ZH[audience] in attachments[html_name].get_content()
        assert "新增联系人" in msg.get_body(("plain",)).get_content()
        # the wire is 7-bit: any relay takes it
        assert envelope.content.isascii()
    manifest = json.loads((outbox / DAY.isoformat() / "delivery.json").read_text())
    sent = manifest["audiences"]["sales"]["sent"]
    assert sent["to"] == ["sales-lead@siyu.test", "sales-2@siyu.test"]
    assert sent["cc"] == ["sales-head@siyu.test"]
    assert [a["file"] for a in sent["attachments"]] == [f"sales/销售部_{DAY}.xlsx",
                                                        f"sales/销售部_{DAY}.html"]
    assert sent["message_id"] == found["sales"][1]["Message-ID"]
    assert sorted(manifest["audiences"]["sales"]["built"]["files"]) == sorted(
        [f"sales/销售部_{DAY}.xlsx", f"sales/销售部_{DAY}.html", "sales/kpi.csv"])
    # progress: one line per step, counts and paths, never addresses
    assert any(line.startswith("built marketing: 3 files") for line in lines)
    assert any(line.startswith("sent service: 2 to, 0 cc, 2 attachments") for line in lines)
    assert not any("@" in line for line in lines)


def test_missing_recipients_fail_before_anything_is_sent(tmp_path, fake_builder, smtp_server,
                                                        monkeypatch):
    monkeypatch.delenv("SIYU_RECIPIENTS_FILE", raising=False)
    outbox = tmp_path / "outbox"
    partial = recipients_toml(tmp_path / "r.toml", audiences=("marketing", "sales"))
    with pytest.raises(delivery.MissingRecipients, match="'operations'"):
        delivery.deliver(tmp_path / "wh.duckdb", DAY, outbox,
                         recipients=delivery.load_recipients(partial),
                         smtp=smtp_settings(smtp_server))
    assert smtp_server.messages == [] and not outbox.exists()
    # no configuration at all: the same error, naming where recipients come from
    with pytest.raises(delivery.MissingRecipients, match="SIYU_RECIPIENTS_FILE"):
        delivery.deliver(tmp_path / "wh.duckdb", DAY, outbox,
                         recipients=delivery.load_recipients(), smtp=smtp_settings(smtp_server))
    # on_missing = "skip": the addressed departments get theirs, the others are logged
    skip = recipients_toml(tmp_path / "skip.toml", ("marketing", "sales"), on_missing="skip")
    result = delivery.deliver(tmp_path / "wh.duckdb", DAY, outbox,
                              recipients=delivery.load_recipients(skip),
                              smtp=smtp_settings(smtp_server))
    wait_for(smtp_server, 2)
    assert {r["audience"]: r["status"] for r in result["sent"]} == {
        "marketing": "sent", "operations": "skipped_no_recipients", "sales": "sent",
        "service": "skipped_no_recipients", "executive": "skipped_no_recipients"}
    assert set(messages_by_audience(smtp_server)) == {"marketing", "sales"}


def test_a_retry_sends_only_what_was_not_sent(tmp_path, fake_builder, smtp_server,
                                              monkeypatch, caplog):
    outbox = tmp_path / "outbox"
    recipients = delivery.load_recipients(recipients_toml(tmp_path / "r.toml"))
    smtp = smtp_settings(smtp_server)
    real_build_message = delivery.build_message

    def sales_breaks(extract, *args):
        if extract.audience == "sales":
            raise OSError("relay refused sales-lead@siyu.test")
        return real_build_message(extract, *args)

    monkeypatch.setattr(delivery, "build_message", sales_breaks)
    with pytest.raises(RuntimeError, match="sending failed for sales"):
        delivery.deliver(tmp_path / "wh.duckdb", DAY, outbox, recipients=recipients, smtp=smtp)
    assert "sending sales failed: OSError: relay refused <email>" in caplog.text
    assert "sales-lead@" not in caplog.text
    wait_for(smtp_server, 4)
    assert set(messages_by_audience(smtp_server)) == set(AUDIENCES) - {"sales"}

    monkeypatch.setattr(delivery, "build_message", real_build_message)
    result = delivery.deliver(tmp_path / "wh.duckdb", DAY, outbox, recipients=recipients,
                              smtp=smtp)
    wait_for(smtp_server, 5)
    assert {r["audience"] for r in result["sent"] if r["status"] == "sent"} == {"sales"}
    assert set(messages_by_audience(smtp_server)) == set(AUDIENCES)
    # on purpose: --resend
    delivery.deliver(tmp_path / "wh.duckdb", DAY, outbox, audiences=("executive",),
                     recipients=recipients, smtp=smtp, resend=True)
    wait_for(smtp_server, 6)
    assert len(smtp_server.messages) == 6


def test_a_rerun_rewrites_the_same_files(tmp_path, fake_builder):
    outbox = tmp_path / "outbox"
    delivery.deliver(tmp_path / "wh.duckdb", DAY, outbox)
    day_dir = outbox / DAY.isoformat()

    def files():
        return sorted(str(p.relative_to(day_dir)) for p in day_dir.rglob("*") if p.is_file()
                      and not p.name.startswith("."))

    first = files()
    (day_dir / "marketing" / "stale.csv").write_text("from an older build\n")
    delivery.deliver(tmp_path / "wh.duckdb", DAY, outbox)
    assert files() == first
    assert "delivery.json" in first and "marketing/kpi.csv" in first


def test_cli_end_to_end(tmp_path, fake_builder, smtp_server, capsys, monkeypatch):
    for name in ("SIYU_SMTP_HOST", "SIYU_SMTP_PORT", "SIYU_SMTP_FROM", "SIYU_RECIPIENTS_FILE"):
        monkeypatch.delenv(name, raising=False)
    outbox = tmp_path / "outbox"
    (tmp_path / "wh.duckdb").touch()  # the fake builder never opens it; the CLI checks it is there
    argv = ["deliver", "--warehouse", str(tmp_path / "wh.duckdb"), "--date", DAY.isoformat(),
            "--outbox", str(outbox)]
    smtp = ["--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_server.port),
            "--smtp-from", SENDER]
    # no SMTP server: one clear error line, exit 1
    assert main([*argv, "--send", "--recipients", str(recipients_toml(tmp_path / "r.toml"))]) == 1
    assert "no SMTP server: give --smtp-host or set SIYU_SMTP_HOST" in capsys.readouterr().err
    # recipients missing: one clear error line, exit 1, nothing sent
    monkeypatch.setenv("SIYU_RECIPIENTS_FILE",
                       str(recipients_toml(tmp_path / "few.toml", ("marketing",))))
    assert main([*argv, "--send", *smtp]) == 1
    assert "no recipients for audience 'operations'" in capsys.readouterr().err
    assert smtp_server.messages == []
    # --recipients wins over SIYU_RECIPIENTS_FILE
    assert main([*argv, "--send", *smtp, "--recipients",
                 str(recipients_toml(tmp_path / "r.toml"))]) == 0
    out = capsys.readouterr().out
    wait_for(smtp_server, 5)
    assert set(messages_by_audience(smtp_server)) == set(AUDIENCES)
    for audience in AUDIENCES:
        assert re.search(rf"^built {audience}: 3 files, \d+\.\ds -> .*{audience}$", out, re.M)
        assert re.search(rf"^sent {audience}: 2 to, [01] cc, 2 attachments", out, re.M)
    assert "5 e-mail(s) sent" in out and "@" not in out.replace(SENDER, "")
    # build only, one department
    assert main([*argv, "--audience", "sales", "--language", "en"]) == 0
    assert "not sent: no --send" in capsys.readouterr().out
    assert len(smtp_server.messages) == 5


def test_recipients_configuration(tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text('[marketting]\nto = ["a@siyu.test"]\n')
    with pytest.raises(ValueError, match="unknown audience 'marketting'"):
        delivery.load_recipients(bad)
    bad.write_text('[sales]\nto = ["not an address"]\n')
    with pytest.raises(ValueError, match="not an e-mail address"):
        delivery.load_recipients(bad)
    bad.write_text('on_missing = "ignore"\n')
    with pytest.raises(ValueError, match="on_missing"):
        delivery.load_recipients(bad)
    example = Path(delivery.__file__).with_name("recipients.example.toml")
    assert set(delivery.load_recipients(example).by_audience) == set(AUDIENCES)
    # precedence: the Airflow Variable, else the file (flag or SIYU_RECIPIENTS_FILE)
    monkeypatch.setenv("SIYU_RECIPIENTS_FILE", str(example))
    assert delivery.load_recipients().source == str(example)
    variable = json.dumps({"sales": {"to": ["v@siyu.test"]}})
    config = delivery.load_recipients(variable=variable)
    assert config.for_audience("sales").to == ("v@siyu.test",)
    with pytest.raises(delivery.MissingRecipients, match="Airflow Variable siyu_recipients"):
        config.for_audience("service")


def test_robot_settings_e_mail_only_robots_only_or_both(tmp_path, fake_builder, smtp_server):
    """An audience's table may hold e-mail addresses, chat robots or both: one with robots only
    is not e-mailed (skipped, not an error), one with e-mail only has no robots; one with
    neither is missing for both, as before."""
    path = tmp_path / "r.toml"
    path.write_text(
        '[marketing]\nto = ["marketing-lead@siyu.test"]\n'
        '[operations]\nwecom_webhook = "env:WECOM_OPS"\n'
        '[sales]\nto = ["sales-lead@siyu.test"]\ndingtalk_webhook = "https://d.test/robot/send'
        '?access_token=T"\ndingtalk_secret = "env:DINGTALK_SALES_SECRET"\n'
        '[service]\nto = ["service-lead@siyu.test"]\n'
        '[executive]\nfeishu_webhook = "env:FEISHU_EXEC"\nfeishu_secret = "env:FEISHU_SEC"\n',
        encoding="utf-8")
    config = delivery.load_recipients(path)
    assert config.robots_for("marketing") is None  # e-mail only
    assert config.robots_for("operations") == {"wecom_webhook": "env:WECOM_OPS"}
    assert config.robots_for("sales") == {
        "dingtalk_webhook": "https://d.test/robot/send?access_token=T",
        "dingtalk_secret": "env:DINGTALK_SALES_SECRET"}
    assert config.for_audience("operations") is None and config.robots_only("operations")
    assert config.for_audience("sales").to == ("sales-lead@siyu.test",)
    result = delivery.deliver(tmp_path / "wh.duckdb", DAY, tmp_path / "outbox",
                              recipients=config, smtp=smtp_settings(smtp_server))
    wait_for(smtp_server, 3)
    assert {r["audience"]: r["status"] for r in result["sent"]} == {
        "marketing": "sent", "operations": "skipped_robots_only", "sales": "sent",
        "service": "sent", "executive": "skipped_robots_only"}
    # neither: missing for the e-mail and for the robots alike
    path.write_text('[marketing]\ncc = ["x@siyu.test"]\n', encoding="utf-8")
    config = delivery.load_recipients(path)
    for ask in (config.for_audience, config.robots_for):
        with pytest.raises(delivery.MissingRecipients, match="'marketing'"):
            ask("marketing")
    # robot settings are checked when the file is read
    for bad, message in (('feishu_secret = "s"', "feishu_secret without feishu_webhook"),
                         ('wecom_webhook = "qyapi/x"', "expected an http"),
                         ('slack_webhook = "https://s"', "takes only to")):
        path.write_text(f"[sales]\n{bad}\n", encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            delivery.load_recipients(path)


def test_real_extracts_of_a_published_warehouse(tmp_path, published_warehouse,  # noqa: F811
                                                smtp_server, caplog):
    warehouse, as_of = published_warehouse
    outbox = tmp_path / "outbox"
    recipients = delivery.load_recipients(recipients_toml(tmp_path / "r.toml"))
    lines = []
    with caplog.at_level("DEBUG", logger="siyu"):
        result = delivery.deliver(warehouse, as_of, outbox, recipients=recipients,
                                  smtp=smtp_settings(smtp_server), progress=lines.append)
    wait_for(smtp_server, 5)
    assert [r["status"] for r in result["sent"]] == ["sent"] * 5
    found = messages_by_audience(smtp_server)
    assert set(found) == set(AUDIENCES)
    for audience, (envelope, msg) in found.items():
        attachments, xlsx_name, _ = assert_message(envelope, msg, audience, as_of)
        workbook = tmp_path / f"{audience}.xlsx"
        workbook.write_bytes(attachments[xlsx_name].get_content())
        assert openpyxl.load_workbook(workbook, read_only=True).sheetnames
        # masked extracts: no phone number in the bodies
        for part in (msg.get_body(("plain",)), msg.get_body(("html",))):
            assert not PHONE.search(part.get_content()), audience
    # Siyu's own log records only: the loopback SMTP server logs the envelope (mail.log)
    # whenever an earlier test (Airflow's logging set-up) lowered the root logger's level
    text = "\n".join(lines + [r.getMessage() for r in caplog.records
                               if r.name == "siyu" or r.name.startswith("siyu.")])
    assert not PHONE.search(text) and "@" not in text
