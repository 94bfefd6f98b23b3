"""Posting to the chat robots Chinese teams read: WeCom (企业微信) group robots, Feishu (飞书)
custom bots, DingTalk (钉钉) custom robots. Standard library only (``urllib.request``).

    robots_from_config(settings, resolve)  -> list[Robot]   an audience's robots, secrets resolved
    Message(title, lines, heading).texts(service) -> list[str]   split to the service's size
    post(robot, message, on_part=...)      -> list[dict]   every part posted, with retries

**Settings** of an audience (its table in the recipients file, see ``siyu.delivery``), each
optional: ``wecom_webhook``, ``feishu_webhook`` + ``feishu_secret``, ``dingtalk_webhook`` +
``dingtalk_secret``. A value ``env:NAME`` is read from the environment variable NAME when a
message is posted (in Airflow also ``var:NAME``, an Airflow Variable, and ``conn:ID``, the
password of an Airflow Connection), so webhook keys and secrets stay out of the repository;
anything else is the value itself. Webhook URLs and secrets are never logged, printed or
recorded: a robot is named by its service and, for a reference, the reference (``env:NAME``).

**What each service takes** (their documentation; "our cap" is a choice of ours):

============  ===========================================  =====================================
service       request                                      success, size, rate
============  ===========================================  =====================================
WeCom         ``{"msgtype": "markdown", "markdown":        ``errcode`` 0; content <= 4096 bytes
              {"content": ...}}`` to ``.../cgi-bin/        UTF-8; 20 messages a minute a robot
              webhook/send?key=KEY``
Feishu        ``{"msg_type": "text", "content":            ``code`` 0 (``StatusCode`` 0 in older
              {"text": ...}}``; with a secret also         answers); our cap 16000 bytes of text
              ``timestamp`` (s) and ``sign`` =             (a request is at most 20 KB); 100 a
              base64(HMAC-SHA256, key ``timestamp\\n       minute and 5 a second a bot
              secret``, message empty)
DingTalk      ``{"msgtype": "markdown", "markdown":        ``errcode`` 0; our cap 16000 bytes of
              {"title", "text"}}`` to ``.../robot/send?    text; 20 messages a minute a robot
              access_token=T``; with a secret the URL      (then throttled for 10 minutes)
              also carries ``timestamp`` (ms) and
              ``sign`` = urlencode(base64(HMAC-SHA256,
              key ``secret``, message ``timestamp\\n
              secret``))
============  ===========================================  =====================================

A longer message is split at line ends into parts of at most the size, each under the heading
with ``(2/3)``; past ``MAX_PARTS`` parts the rest is cut with a note (a daily alert is a few
hundred bytes: this is the safety net, not the normal case).

**Retries.** A post answered with HTTP 429 or 5xx, a network error, or an error code that means
rate limiting is retried with exponential backoff (``SIYU_ROBOT_BACKOFF_SECONDS``, doubled each
time; a ``Retry-After`` header wins), at most ``SIYU_ROBOT_RETRIES`` times. The rate-limit codes
(``Service.rate_limit_codes``), as the services answer them:

* WeCom ``45009`` ("api freq out of limit": WeCom's frequency error, the answer of a group
  robot over 20 messages a minute);
* Feishu ``9499`` ("too many request", answered by custom-bot webhooks with HTTP 400) and
  ``11232`` (the message service's frequency limit, "frequency limited");
* DingTalk ``130101`` ("send too fast, exceed 20 times per minute").

Every other non-zero code (a wrong key or token, a signature mismatch or expired timestamp,
a keyword the robot's security settings require, a disabled robot) is final: retrying cannot
help, the error names the service, the code and its message. Each process also paces its own
posts per robot under the service's per-minute rate (``Pacer``), so splitting one message never
trips the limit by itself.

| variable                   | meaning                                               | default |
|----------------------------|-------------------------------------------------------|---------|
| SIYU_ROBOT_RETRIES         | retries of a post after HTTP 429/5xx, a network error | `5`     |
|                            | or a rate-limit error code                            |         |
| SIYU_ROBOT_BACKOFF_SECONDS | delay before the first retry (doubles each retry)     | `5`     |
| SIYU_ROBOT_TIMEOUT_SECONDS | HTTP timeout of one post                              | `10`    |
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger("siyu.robots")

KINDS = ("wecom", "feishu", "dingtalk")
CONFIG_KEYS = ("wecom_webhook", "feishu_webhook", "feishu_secret", "dingtalk_webhook",
               "dingtalk_secret")
REFERENCE_SCHEMES = ("env", "var", "conn")
MAX_PARTS = 5  # a quarter of the 20 messages a minute WeCom and DingTalk take
MAX_RETRY_AFTER = 120.0


@dataclass(frozen=True)
class Service:
    kind: str
    name: str  # as people call it, for messages
    max_bytes: int  # of one message's text (UTF-8)
    per_minute: int  # posts a minute a robot takes
    min_interval: float  # seconds between two posts to one robot
    rate_limit_codes: frozenset[int]


SERVICES: dict[str, Service] = {
    "wecom": Service("wecom", "WeCom", 4096, 20, 0.0, frozenset({45009})),
    "feishu": Service("feishu", "Feishu", 16000, 100, 0.2, frozenset({9499, 11232})),
    "dingtalk": Service("dingtalk", "DingTalk", 16000, 20, 0.0, frozenset({130101})),
}


class RobotError(RuntimeError):
    """A robot refused a message for good (wrong key, signature, keyword ...), or kept
    refusing it past the retries."""


class MissingSecret(ValueError):
    """An ``env:`` / ``var:`` / ``conn:`` reference that resolves to nothing."""


# --- settings ------------------------------------------------------------------------------------


def check_config(table: Mapping, where: str) -> dict[str, str]:
    """The robot settings of an audience's table, checked: strings; a webhook is an http(s)
    URL or a reference; a secret needs its webhook. Nothing is resolved here."""
    found = {k: table[k] for k in CONFIG_KEYS if k in table}
    for key, value in found.items():
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}.{key}: expected a non-empty string")
        if key.endswith("_webhook") and not is_reference(value) and \
                urllib.parse.urlsplit(value).scheme not in ("http", "https"):
            raise ValueError(f"{where}.{key}: expected an http(s) URL or env:NAME")
    for kind in KINDS:
        if f"{kind}_secret" in found and f"{kind}_webhook" not in found:
            raise ValueError(f"{where}: {kind}_secret without {kind}_webhook")
    return found


def is_reference(value: str) -> bool:
    scheme, sep, name = value.partition(":")
    return bool(sep) and scheme in REFERENCE_SCHEMES and bool(name) and "/" not in name


def describe(value: str | None) -> str:
    """How a setting may be named in logs and records: the reference, never a literal."""
    if value is None:
        return "-"
    return value if is_reference(value) else "(in the recipients file)"


Lookup = Callable[[str], "str | None"]


def resolve(value: str, lookups: Mapping[str, Lookup] | None = None) -> str:
    """``env:NAME`` -> the environment variable NAME; ``var:`` / ``conn:`` through ``lookups``
    (given in Airflow); anything else is the value itself."""
    if not is_reference(value):
        return value
    scheme, _, name = value.partition(":")
    lookups = {"env": os.environ.get, **(lookups or {})}
    if scheme not in lookups:
        raise MissingSecret(f"{value}: {scheme}: references are resolved in Airflow only "
                            "(use env:NAME on the command line)")
    found = lookups[scheme](name)
    if not found:
        what = {"env": "environment variable", "var": "Airflow Variable",
                "conn": "Airflow Connection (password)"}[scheme]
        raise MissingSecret(f"{value}: the {what} {name} is not set or empty")
    return found.strip()


@dataclass(frozen=True)
class Robot:
    kind: str  # one of KINDS
    webhook: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    source: str = "-"  # how the webhook was configured, safe to log (describe())

    @property
    def service(self) -> Service:
        return SERVICES[self.kind]

    def __str__(self) -> str:
        return f"{self.service.name} robot ({self.source})"


def robots_from_config(settings: Mapping[str, str],
                       lookups: Mapping[str, Lookup] | None = None) -> list[Robot]:
    """The robots of an audience's settings, their references resolved (MissingSecret names
    the reference when one resolves to nothing)."""
    found = []
    for kind in KINDS:
        webhook = settings.get(f"{kind}_webhook")
        if not webhook:
            continue
        secret = settings.get(f"{kind}_secret")
        url = resolve(webhook, lookups)
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or \
                any(c.isspace() or ord(c) < 32 for c in url):
            # the value is not shown: it may be a key pasted into the wrong place
            raise ValueError(f"{kind}_webhook {describe(webhook)}: not an http(s) URL")
        found.append(Robot(kind, url, resolve(secret, lookups) if secret else None,
                           describe(webhook)))
    return found


# --- signatures ----------------------------------------------------------------------------------


def feishu_sign(timestamp: str, secret: str) -> str:
    """Feishu: base64 of HMAC-SHA256 keyed with ``timestamp + "\\n" + secret`` over nothing."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def dingtalk_sign(timestamp: str, secret: str) -> str:
    """DingTalk: base64 of HMAC-SHA256 keyed with ``secret`` over ``timestamp + "\\n" + secret``
    (URL-encoded when it goes into the URL)."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# --- messages ------------------------------------------------------------------------------------


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut(line: str, limit: int) -> str:
    """At most ``limit`` bytes of a line, cut at a character boundary, marked with an ellipsis."""
    if _utf8_len(line) <= limit:
        return line
    return line.encode("utf-8")[: max(limit - 3, 0)].decode("utf-8", "ignore") + "…"


@dataclass
class Message:
    """One alert as a service shows it: a title, a heading (``{title}`` in a format such as
    ``### {title}``) and the body's lines, joined with ``joiner`` (DingTalk markdown needs a
    blank line between paragraphs)."""

    title: str
    lines: list[str]
    heading: str = "{title}"
    joiner: str = "\n"
    cut_note: str = "… {n} more line(s) left out"  # str.format(n=...), in the message's language

    def text(self) -> str:
        return self.joiner.join([self.heading.format(title=self.title), *self.lines])

    def texts(self, limit: int, max_parts: int = MAX_PARTS) -> list[str]:
        """The message in parts of at most ``limit`` bytes (UTF-8), split at line ends, each
        part under the heading with ``(i/n)``; past ``max_parts`` parts the rest is left out
        with ``cut_note``."""
        whole = self.text()
        if _utf8_len(whole) <= limit:
            return [whole]
        joiner = _utf8_len(self.joiner)
        head = self.heading.format(title=f"{self.title} ({max_parts}/{max_parts})")
        room = limit - _utf8_len(head)
        if room < 64:
            raise ValueError(f"a limit of {limit} bytes leaves no room under the heading")
        chunks: list[list[str]] = [[]]
        size = 0
        for line in self.lines:
            line = _cut(line, room - joiner)
            need = joiner + _utf8_len(line)
            if chunks[-1] and size + need > room:
                chunks.append([])
                size = 0
            chunks[-1].append(line)
            size += need
        if len(chunks) > max_parts:
            left_out = sum(len(c) for c in chunks[max_parts:])
            chunks = chunks[:max_parts]
            last = chunks[-1]
            while True:
                note = self.cut_note.format(n=left_out)
                used = sum(joiner + _utf8_len(line) for line in last)
                if used + joiner + _utf8_len(note) <= room or not last:
                    break
                last.pop()
                left_out += 1
            last.append(_cut(note, room - joiner))
        n = len(chunks)
        return [self.joiner.join([self.heading.format(title=f"{self.title} ({i}/{n})"), *c])
                for i, c in enumerate(chunks, 1)]


def request(robot: Robot, title: str, text: str, now: Callable[[], float] = time.time
            ) -> tuple[str, dict]:
    """The URL and JSON body of one post (signed with a fresh timestamp when there is a
    secret: a retry minutes later must not carry an expired one)."""
    url = robot.webhook
    if robot.kind == "wecom":
        return url, {"msgtype": "markdown", "markdown": {"content": text}}
    if robot.kind == "feishu":
        body: dict = {"msg_type": "text", "content": {"text": text}}
        if robot.secret:
            timestamp = str(int(now()))
            body = {"timestamp": timestamp, "sign": feishu_sign(timestamp, robot.secret), **body}
        return url, body
    if robot.kind == "dingtalk":
        if robot.secret:
            timestamp = str(int(now() * 1000))
            query = urllib.parse.urlencode(
                {"timestamp": timestamp, "sign": dingtalk_sign(timestamp, robot.secret)})
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        return url, {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    raise ValueError(f"unknown robot kind {robot.kind!r} (known: {', '.join(KINDS)})")


# --- pacing --------------------------------------------------------------------------------------


class Pacer:
    """At most ``Service.per_minute`` posts in any 60 seconds and ``min_interval`` between two,
    per robot, in this process: sleeps until the next post is allowed."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, window: float = 60.0):
        self.clock, self.sleep, self.window = clock, sleep, window
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, robot: Robot) -> float:
        """Wait for the robot's turn and take it; returns the seconds waited."""
        service = robot.service
        key = hashlib.sha256(robot.webhook.encode()).hexdigest()
        waited = 0.0
        with self._lock:
            sent = self._sent.setdefault(key, deque())
            while True:
                now = self.clock()
                while sent and now - sent[0] >= self.window:
                    sent.popleft()
                delay = 0.0
                if len(sent) >= service.per_minute:
                    delay = sent[0] + self.window - now
                if sent and service.min_interval:
                    delay = max(delay, sent[-1] + service.min_interval - now)
                if delay <= 0:
                    sent.append(now)
                    return waited
                self.sleep(delay)
                waited += delay


PACER = Pacer()


# --- posting -------------------------------------------------------------------------------------


def _setting(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass(frozen=True)
class Answer:
    status: int  # HTTP status; 0 for a network error
    body: dict | None
    retry_after: float | None = None
    error: str = ""  # the network error

    def code(self, kind: str) -> int | None:
        if not isinstance(self.body, dict):
            return None
        keys = ("code", "StatusCode") if kind == "feishu" else ("errcode",)
        for key in keys:
            if isinstance(self.body.get(key), int):
                return self.body[key]
        return None

    def message(self) -> str:
        if not isinstance(self.body, dict):
            return self.error or f"HTTP {self.status}"
        return str(self.body.get("errmsg") or self.body.get("msg")
                   or self.body.get("StatusMessage") or "")[:300]


def _retry_after(headers) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER) if value else None
    except ValueError:
        return None


def _json(raw: bytes) -> dict | None:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def send_once(url: str, body: dict, timeout: float) -> Answer:
    """One HTTP POST of a JSON body. Never raises for an HTTP or network error (an Answer)."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Answer(resp.status, _json(resp.read()), _retry_after(resp.headers))
    except urllib.error.HTTPError as exc:
        with exc:
            return Answer(exc.code, _json(exc.read()), _retry_after(exc.headers))
    except (urllib.error.URLError, OSError) as exc:  # refused, reset, timed out, DNS
        reason = getattr(exc, "reason", exc)
        return Answer(0, None, error=f"{type(exc).__name__}: {reason}")
    except http.client.HTTPException as exc:  # a broken answer (incomplete, bad status line)
        return Answer(0, None, error=type(exc).__name__)


def _verdict(robot: Robot, answer: Answer) -> str:
    """ok, retry (rate limit, server or network trouble) or fail."""
    code = answer.code(robot.kind)
    if answer.status == 200 and code == 0:
        return "ok"
    if code in robot.service.rate_limit_codes or answer.status == 429 or answer.status >= 500 \
            or answer.status == 0:
        return "retry"
    return "fail"


def post_text(robot: Robot, title: str, text: str, *, retries: int | None = None,
              backoff: float | None = None, timeout: float | None = None,
              pacer: Pacer | None = PACER, sleep: Callable[[float], None] = time.sleep,
              now: Callable[[], float] = time.time) -> int:
    """Post one message (one part); returns the attempts it took. RobotError when the robot
    refuses it for good or still after the retries."""
    retries = int(_setting("SIYU_ROBOT_RETRIES", 5)) if retries is None else retries
    backoff = _setting("SIYU_ROBOT_BACKOFF_SECONDS", 5.0) if backoff is None else backoff
    timeout = _setting("SIYU_ROBOT_TIMEOUT_SECONDS", 10.0) if timeout is None else timeout
    size = _utf8_len(text)
    if size > robot.service.max_bytes:
        raise ValueError(f"{robot}: {size} bytes, over the {robot.service.max_bytes} a message "
                         "takes (split it: Message.texts)")
    for attempt in range(retries + 1):
        if pacer is not None:
            pacer.wait(robot)
        url, body = request(robot, title, text, now)
        answer = send_once(url, body, timeout)
        verdict = _verdict(robot, answer)
        if verdict == "ok":
            return attempt + 1
        what = (f"HTTP {answer.status}, code {answer.code(robot.kind)}: {answer.message()}"
                if answer.status else answer.message())
        if verdict == "fail":
            raise RobotError(f"{robot} refused the message: {what}")
        if attempt == retries:
            raise RobotError(f"{robot} still failing after {retries} retries: {what}")
        delay = answer.retry_after if answer.retry_after is not None else backoff * 2 ** attempt
        log.warning("%s: %s; retry %d/%d in %.1fs", robot, what, attempt + 1, retries, delay)
        sleep(delay)
    raise AssertionError("unreachable")


def part_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def post(robot: Robot, message: Message, *, skip: set[str] | frozenset[str] = frozenset(),
         on_part: Callable[[dict], None] | None = None, **options) -> list[dict]:
    """Post a message, split to the robot's size, part by part; a part whose SHA-256 is in
    ``skip`` (posted by an earlier run) is not posted again. ``on_part`` gets each posted
    part's record (index, bytes, SHA-256, attempts) as soon as the robot accepted it."""
    parts = message.texts(robot.service.max_bytes)
    records = []
    for index, text in enumerate(parts, 1):
        digest = part_digest(text)
        if digest in skip:
            continue
        attempts = post_text(robot, message.title, text, **options)
        record = {"part": index, "of": len(parts), "bytes": _utf8_len(text), "sha256": digest,
                  "attempts": attempts}
        records.append(record)
        if on_part is not None:
            on_part(record)
    return records
