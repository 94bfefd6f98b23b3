"""Delivering the department extracts: build them into the outbox, e-mail each department its own.

    build(warehouse, day, outbox, ...)      -> list[Extract]   outbox/<day>/<audience>/
    send(extract, recipients, smtp, ...)    -> dict            one e-mail per audience
    deliver(...)                            both, what ``siyu deliver`` runs

The same functions run in Airflow (``dags/siyu_deliver.py``: one build task, then one send
task per audience, so one department's failure does not block the others).

**Recipients** per department, in TOML (``recipients.example.toml`` beside this module)::

    on_missing = "error"          # or "skip": an audience without recipients is logged, not sent
    [marketing]
    to = ["marketing-lead@example.com"]
    cc = ["cmo@example.com"]
    wecom_webhook = "env:WECOM_MARKETING_WEBHOOK"   # chat robots: see siyu.kpi_alerts

or the same content as JSON in the Airflow Variable ``siyu_recipients``. One source is read
whole, never merged: on the command line ``--recipients FILE``, else ``SIYU_RECIPIENTS_FILE``;
in Airflow the Variable ``siyu_recipients`` when it is set (editable in the UI without a
deployment), else ``SIYU_RECIPIENTS_FILE``. With no source, or an audience missing from it,
sending fails for that audience with an error naming it, unless ``on_missing = "skip"``.

An audience's table may hold e-mail addresses, chat robots (``siyu.robots.CONFIG_KEYS``:
``wecom_webhook``, ``feishu_webhook`` / ``feishu_secret``, ``dingtalk_webhook`` /
``dingtalk_secret``, posted to by ``siyu alert``), or both. An audience with robots only is
not e-mailed (skipped, not an error), one with e-mail only gets no chat alert.

**Idempotence.** A rebuild of a day deletes each audience's folder before writing it, so the
folder holds exactly the files of the last build. ``outbox/<day>/delivery.json`` records per
audience what was built (files) and what was sent (message-id, To/Cc, attachments with size and
SHA-256, time). An audience the manifest lists as sent is not sent again, so an Airflow retry,
a cleared task or a second ``siyu deliver --send`` for the day e-mails only the departments not
yet served; ``resend=True`` (``--resend``, DAG Param ``resend``) sends again on purpose. The
manifest is written after the server accepted the message: a crash between the two can send
twice, never lose a delivery silently.

**Personal data.** The extracts are masked when built (``siyu.extracts``); logs and progress
lines here carry audiences, counts, sizes and paths, never e-mail bodies or recipients.

| variable              | meaning                                  | default        |
|-----------------------|------------------------------------------|----------------|
| SIYU_OUTBOX           | where extracts are written               | `data/outbox`  |
| SIYU_RECIPIENTS_FILE  | recipients TOML                          | (none)         |
| SIYU_SMTP_CONN_ID     | Airflow SMTP connection (in Airflow)     | `smtp_default` |
| SIYU_SMTP_*           | SMTP server of the command line, see ``siyu.mail`` |      |
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import mimetypes
import os
import shutil
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html.parser import HTMLParser
from pathlib import Path

from . import mail, robots
from .config import data_root
from .extracts import AUDIENCES, Extract, build_extracts, build_period_extracts
from .pii import mask_message

log = logging.getLogger("siyu.delivery")

MANIFEST = "delivery.json"
RECIPIENTS_VARIABLE = "siyu_recipients"
ON_MISSING = ("error", "skip")
Progress = Callable[[str], None]
# 7-bit on the wire (UTF-8 text as base64 or quoted-printable, headers and file names encoded):
# any relay accepts it, with or without 8BITMIME/SMTPUTF8
MAIL_POLICY = policy.default.clone(cte_type="7bit")


class MissingRecipients(ValueError):
    """--send for an audience the recipients configuration does not address."""


def outbox_dir() -> Path:
    """``SIYU_OUTBOX``, default ``data/outbox`` of the repository."""
    value = os.environ.get("SIYU_OUTBOX")
    return (Path(value).expanduser() if value else data_root() / "outbox").resolve()


def smtp_conn_id() -> str:
    return os.environ.get("SIYU_SMTP_CONN_ID") or mail.DEFAULT_CONN_ID


# --- recipients --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipients:
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    # chat robots: key of siyu.robots.CONFIG_KEYS -> value as written (a URL, a secret or an
    # ``env:NAME`` reference, resolved only when posting: never logged or recorded)
    robots: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecipientsConfig:
    by_audience: Mapping[str, Recipients]
    on_missing: str = "error"
    source: str = "(none)"  # where it came from, for error messages

    def for_audience(self, audience: str) -> Recipients | None:
        """The audience's e-mail recipients; None (skip) when it has robots only or when
        ``on_missing = "skip"``, MissingRecipients when it has none."""
        found = self.by_audience.get(audience)
        if found and found.to:
            return found
        if self.robots_only(audience) or self.on_missing == "skip":
            return None
        raise self._missing(audience, "to = [...]")

    def robots_only(self, audience: str) -> bool:
        found = self.by_audience.get(audience)
        return bool(found and found.robots and not found.to)

    def robots_for(self, audience: str) -> Mapping[str, str] | None:
        """The audience's robot settings; None (skip) when it has e-mail only or when
        ``on_missing = "skip"``, MissingRecipients when it has neither."""
        found = self.by_audience.get(audience)
        if found and found.robots:
            return found.robots
        if (found and found.to) or self.on_missing == "skip":
            return None
        raise self._missing(audience, "wecom_webhook, feishu_webhook or dingtalk_webhook")

    def _missing(self, audience: str, what: str) -> MissingRecipients:
        return MissingRecipients(
            f"no recipients for audience {audience!r} in {self.source}: add a [{audience}] "
            f"table with {what} (see include/siyu/recipients.example.toml), or set "
            'on_missing = "skip"')


def _addresses(values, where: str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        raise ValueError(f"{where}: expected a list of e-mail addresses")
    for value in values:
        try:
            Address(addr_spec=str(value))  # the stdlib's RFC 5322 parser rejects a bad one
        except (ValueError, IndexError) as exc:
            raise ValueError(f"{where}: not an e-mail address: {value!r}") from exc
    return tuple(str(v) for v in values)


def parse_recipients(data: Mapping, source: str) -> RecipientsConfig:
    """Validate the TOML/JSON content: audiences from AUDIENCES, ``to``/``cc`` address lists."""
    on_missing = data.get("on_missing", "error")
    if on_missing not in ON_MISSING:
        raise ValueError(f"{source}: on_missing must be one of {ON_MISSING}, not {on_missing!r}")
    by_audience = {}
    for key, value in data.items():
        if key == "on_missing":
            continue
        if key not in AUDIENCES:
            raise ValueError(f"{source}: unknown audience {key!r} (known: {', '.join(AUDIENCES)})")
        if not isinstance(value, Mapping) or set(value) - {"to", "cc", *robots.CONFIG_KEYS}:
            raise ValueError(f"{source}: [{key}] takes only to = [...], cc = [...] and the "
                             f"robot settings {', '.join(robots.CONFIG_KEYS)}")
        by_audience[key] = Recipients(
            to=_addresses(value.get("to", []), f"{source} [{key}].to"),
            cc=_addresses(value.get("cc", []), f"{source} [{key}].cc"),
            robots=robots.check_config(value, f"{source} [{key}]"))
    return RecipientsConfig(by_audience, on_missing, source)


def load_recipients(path: Path | None = None, variable: str | None = None) -> RecipientsConfig:
    """The recipients: the Airflow Variable's JSON when given, else the TOML file ``path``,
    else ``SIYU_RECIPIENTS_FILE``, else none (every audience is missing)."""
    if variable:
        return parse_recipients(json.loads(variable), f"Airflow Variable {RECIPIENTS_VARIABLE}")
    if path is None and os.environ.get("SIYU_RECIPIENTS_FILE"):
        path = Path(os.environ["SIYU_RECIPIENTS_FILE"]).expanduser()
    if path is None:
        return RecipientsConfig({}, source="no recipients configuration (--recipients FILE, "
                                "SIYU_RECIPIENTS_FILE or the Airflow Variable siyu_recipients)")
    with open(path, "rb") as f:
        return parse_recipients(tomllib.load(f), str(path))


# --- the manifest ------------------------------------------------------------------------------


@contextmanager
def locked_manifest(day_dir: Path, name: str = MANIFEST) -> Iterator[dict]:
    """Read-modify-write of ``delivery.json`` (or another record of the day, ``name``: the chat
    alerts' ``alerts.json``) under an exclusive lock: the send tasks of the five audiences may
    run at the same time. Replaced atomically (a reader never sees half)."""
    day_dir.mkdir(parents=True, exist_ok=True)
    path = day_dir / name
    with open(day_dir / f".{name}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            data = json.loads(path.read_text()) if path.exists() else {}
            data.setdefault("audiences", {})
            yield data
            tmp = path.with_name(f".{name}.tmp")
            tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            tmp.replace(path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_manifest(day_dir: Path, name: str = MANIFEST) -> dict:
    path = day_dir / name
    return json.loads(path.read_text()) if path.exists() else {"audiences": {}}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- building ----------------------------------------------------------------------------------


def extract_to_dict(extract: Extract) -> dict:
    """Plain JSON values (paths as text): an Airflow XCom between the build and send tasks."""
    data = asdict(extract)
    data["day"] = extract.day.isoformat()
    for key in ("directory", "xlsx", "html"):
        data[key] = str(data[key])
    data["csvs"] = [str(p) for p in extract.csvs]
    return data


def extract_from_dict(data: Mapping) -> Extract:
    return Extract(
        audience=data["audience"], day=date.fromisoformat(data["day"]),
        language=data["language"], directory=Path(data["directory"]), xlsx=Path(data["xlsx"]),
        html=Path(data["html"]), csvs=[Path(p) for p in data["csvs"]],
        subject=data["subject"], html_body=data["html_body"], period=data.get("period", "day"),
    )


def build(warehouse: Path, day: date | None, outbox: Path, audiences=AUDIENCES,
          language: str = "zh", progress: Progress | None = None,
          period: str = "day") -> list[Extract]:
    """Build each audience's extract into ``outbox/<day>/<audience>/``, deleting what an
    earlier build left there first, and record the files in the manifest. One audience at a
    time, so each gets its own progress line (audience, files, seconds).

    ``period`` week or month: the period reports (siyu.extracts.period) of the ISO week /
    calendar month containing ``day`` (None: the last complete one as of the warehouse's as-of
    day) into ``outbox/<period>-<period_start>/<audience>/``, with its own manifest there."""
    say = progress or log.info
    extracts = []
    for audience in audiences:
        t0 = time.perf_counter()
        if period == "day":
            shutil.rmtree(outbox / day.isoformat() / audience, ignore_errors=True)
            (extract,) = build_extracts(warehouse, day, outbox, audiences=(audience,),
                                        language=language, progress=progress)
        else:
            (extract,) = build_period_extracts(warehouse, period, outbox, day=day,
                                               audiences=(audience,), language=language,
                                               progress=progress)
        day_dir = extract.directory.parent
        files = sorted(p for p in extract.directory.rglob("*") if p.is_file())
        seconds = time.perf_counter() - t0
        with locked_manifest(day_dir) as manifest:
            entry = manifest["audiences"].setdefault(audience, {})
            entry["built"] = {"at": _now(), "language": language,
                              "files": [str(p.relative_to(day_dir)) for p in files]}
        say(f"built {audience}: {len(files)} files, {seconds:.1f}s -> {extract.directory}")
        extracts.append(extract)
    return extracts


# --- the e-mail --------------------------------------------------------------------------------


class _Text(HTMLParser):
    """The text of an HTML body, one line per block element: the plain-text alternative."""

    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "ul", "ol"}

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag in {"td", "th"}:
            self.parts.append("\t")

    def handle_data(self, data):
        self.parts.append(data)

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).splitlines())
        return "\n".join(line for line in lines if line)


def plain_text(html_body: str) -> str:
    parser = _Text()
    parser.feed(html_body)
    parser.close()
    return parser.text()


def build_message(extract: Extract, recipients: Recipients, sender: str) -> EmailMessage:
    """subject, a plain-text alternative and the HTML body, the workbook and the HTML report
    attached with their MIME types; non-ASCII (Chinese) file names are RFC 2231 encoded."""
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["Subject"] = extract.subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients.to)
    if recipients.cc:
        msg["Cc"] = ", ".join(recipients.cc)
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg.set_content(plain_text(extract.html_body) or extract.subject)
    msg.add_alternative(extract.html_body, subtype="html")
    for path in extract.attachments:
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = mime.split("/")
        # the extracts write text as UTF-8; without the charset a client assumes ASCII
        params = {"charset": "utf-8"} if maintype == "text" else {}
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype,
                           filename=path.name, params=params)
    return msg


def send(extract: Extract, recipients_config: RecipientsConfig, smtp: mail.SmtpSettings,
         resend: bool = False, progress: Progress | None = None) -> dict:
    """E-mail one audience its extract, unless the manifest of its day (the folder above the
    extract's) says it was sent already. Returns what happened (``status``) and, when sent or
    sent before, the manifest's record."""
    say = progress or log.info
    audience = extract.audience
    day_dir = extract.directory.parent
    sent = read_manifest(day_dir)["audiences"].get(audience, {}).get("sent")
    if sent and not resend:
        say(f"sent {audience}: already at {sent['at']} (message {sent['message_id']}), "
            "not sent again")
        return {"audience": audience, "status": "already_sent", **sent}
    recipients = recipients_config.for_audience(audience)
    if recipients is None and recipients_config.robots_only(audience):
        say(f"skipped {audience}: chat robots only in {recipients_config.source}, no e-mail")
        return {"audience": audience, "status": "skipped_robots_only"}
    if recipients is None:
        say(f"skipped {audience}: no recipients in {recipients_config.source} "
            "(on_missing = skip)")
        return {"audience": audience, "status": "skipped_no_recipients"}
    t0 = time.perf_counter()
    msg = build_message(extract, recipients, smtp.sender)
    with mail.session(smtp) as client:
        client.send_message(msg)
    record = {
        "at": _now(), "message_id": msg["Message-ID"], "subject": extract.subject,
        "to": list(recipients.to), "cc": list(recipients.cc),
        "attachments": [{"file": str(p.relative_to(day_dir)), "bytes": p.stat().st_size,
                         "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
                        for p in extract.attachments],
    }
    with locked_manifest(day_dir) as manifest:
        manifest["audiences"].setdefault(audience, {})["sent"] = record
    say(f"sent {audience}: {len(recipients.to)} to, {len(recipients.cc)} cc, "
        f"{len(record['attachments'])} attachments, {time.perf_counter() - t0:.1f}s")
    return {"audience": audience, "status": "sent", **record}


def deliver(warehouse: Path, day: date | None, outbox: Path, audiences=AUDIENCES,
            language: str = "zh", recipients: RecipientsConfig | None = None,
            smtp: mail.SmtpSettings | None = None, resend: bool = False,
            progress: Progress | None = None, period: str = "day") -> dict:
    """Build every audience's extract and, when ``smtp`` is given, send each. Recipients are
    checked before anything is built or sent, so a missing department fails fast."""
    if smtp is not None:
        recipients = recipients or load_recipients()
        for audience in audiences:
            recipients.for_audience(audience)
    extracts = build(warehouse, day, outbox, audiences, language, progress, period)
    results, failed = [], []
    for extract in extracts if smtp is not None else []:
        try:
            results.append(send(extract, recipients, smtp, resend, progress))
        except Exception as exc:  # the other departments still get theirs
            # an SMTP error may quote the addresses it refused: masked like the alerts'
            log.error("sending %s failed: %s: %s", extract.audience, type(exc).__name__,
                      mask_message(str(exc)))
            failed.append(extract.audience)
    if failed:
        raise RuntimeError(f"sending failed for {', '.join(failed)} (the others were sent; "
                           "run again to retry only these)")
    if extracts:  # a period's first day and folder are known once it is resolved
        day, out_dir = extracts[0].day, extracts[0].directory.parent
    else:
        out_dir = outbox / day.isoformat()
    return {"day": day.isoformat(), "period": period, "outbox": str(out_dir),
            "built": [e.audience for e in extracts], "sent": results}
