"""A loopback HTTP server that plays WeCom, Feishu and DingTalk robots for the tests: it checks
each request as the service would (JSON shape, signature recomputed from the secret, timestamp
age, size limit, a known key or token), answers as the service does, and records what each
robot accepted. ``script(kind, robot_id, *replies)`` queues answers (a rate limit, a server
error) that the next requests to that robot get instead of being accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WECOM_MAX_BYTES = 4096  # markdown.content, UTF-8
REQUEST_MAX_BYTES = 20 * 1024  # Feishu's request limit; applied to DingTalk as well


@dataclass
class Reply:
    status: int
    body: dict
    headers: dict = field(default_factory=dict)


# the services' own answers
WECOM_RATE_LIMITED = Reply(200, {"errcode": 45009, "errmsg": "api freq out of limit"})
FEISHU_RATE_LIMITED = Reply(400, {"code": 9499, "msg": "too many request", "data": {}})
DINGTALK_RATE_LIMITED = Reply(200, {"errcode": 130101,
                                    "errmsg": "send too fast, exceed 20 times per minute"})
TOO_MANY_REQUESTS = Reply(429, {"errcode": -1, "errmsg": "too many requests"},
                          {"Retry-After": "0"})
UNAVAILABLE = Reply(503, {"errcode": -1, "errmsg": "system busy"})
OK = {"wecom": {"errcode": 0, "errmsg": "ok"}, "feishu": {"code": 0, "msg": "success", "data": {}},
      "dingtalk": {"errcode": 0, "errmsg": "ok"}}


@dataclass
class Received:
    kind: str
    robot_id: str
    body: dict
    text: str  # the message text (WeCom content, Feishu text, DingTalk markdown text)
    title: str | None = None  # DingTalk's markdown title


class RobotServer:
    def __init__(self):
        self.robots: dict[tuple[str, str], str | None] = {}  # (kind, id) -> secret
        self.scripts: dict[tuple[str, str], list[Reply]] = {}
        self.received: list[Received] = []  # accepted messages, in order
        self.attempts: list[tuple[str, str, int]] = []  # every request: kind, id, status
        self.errors: list[str] = []  # why a request was refused (not a scripted reply)
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> RobotServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def add(self, kind: str, robot_id: str, secret: str | None = None) -> str:
        """A robot the server knows; returns its webhook URL."""
        self.robots[(kind, robot_id)] = secret
        base = f"http://127.0.0.1:{self.port}"
        return {"wecom": f"{base}/cgi-bin/webhook/send?key={robot_id}",
                "feishu": f"{base}/open-apis/bot/v2/hook/{robot_id}",
                "dingtalk": f"{base}/robot/send?access_token={robot_id}"}[kind]

    def script(self, kind: str, robot_id: str, *replies: Reply) -> None:
        self.scripts.setdefault((kind, robot_id), []).extend(replies)

    def texts(self, kind: str, robot_id: str) -> list[str]:
        return [r.text for r in self.received if (r.kind, r.robot_id) == (kind, robot_id)]

    # --- the services' checks --------------------------------------------------------------

    def handle(self, path: str, headers, raw: bytes) -> Reply:
        url = urllib.parse.urlsplit(path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/cgi-bin/webhook/send":
            kind, robot_id = "wecom", query.get("key", "")
        elif url.path.startswith("/open-apis/bot/v2/hook/"):
            kind, robot_id = "feishu", url.path.rsplit("/", 1)[1]
        elif url.path == "/robot/send":
            kind, robot_id = "dingtalk", query.get("access_token", "")
        else:
            return Reply(404, {"error": "no such path"})
        with self.lock:
            queued = self.scripts.get((kind, robot_id))
            reply = queued.pop(0) if queued else None
        if reply is None:
            reply = self._check(kind, robot_id, query, headers, raw)
        with self.lock:
            self.attempts.append((kind, robot_id, reply.status))
        return reply

    def _refuse(self, why: str, reply: Reply) -> Reply:
        with self.lock:
            self.errors.append(why)
        return reply

    def _check(self, kind, robot_id, query, headers, raw) -> Reply:
        if (kind, robot_id) not in self.robots:
            return self._refuse(f"{kind}: unknown robot {robot_id}", Reply(200, {
                "wecom": {"errcode": 93000, "errmsg": "invalid webhook url"},
                "feishu": {"code": 19001, "msg": "param invalid: incoming webhook access token "
                                                 "invalid"},
                "dingtalk": {"errcode": 300001, "errmsg": "token is not exist"}}[kind]))
        if not headers.get("Content-Type", "").startswith("application/json"):
            return self._refuse(f"{kind}: content type", Reply(400, {"errcode": 40035}))
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            return self._refuse(f"{kind}: not JSON", Reply(400, {"errcode": 40035}))
        secret = self.robots[(kind, robot_id)]
        check = {"wecom": self._wecom, "feishu": self._feishu, "dingtalk": self._dingtalk}[kind]
        problem, text, title = check(body, secret, query, len(raw))
        if problem:
            return self._refuse(f"{kind}: {problem}", Reply(200, {
                "wecom": {"errcode": 40058, "errmsg": problem},
                "feishu": {"code": 19021 if "sign" in problem else 19002, "msg": problem},
                "dingtalk": {"errcode": 310000 if "sign" in problem else 40035,
                             "errmsg": problem}}[kind]))
        with self.lock:
            self.received.append(Received(kind, robot_id, body, text, title))
        return Reply(200, OK[kind])

    @staticmethod
    def _wecom(body, _secret, _query, _size):
        if set(body) != {"msgtype", "markdown"} or body["msgtype"] != "markdown" or \
                set(body["markdown"]) != {"content"}:
            return "not a markdown message", None, None
        content = body["markdown"]["content"]
        if not isinstance(content, str) or not content:
            return "empty content", None, None
        if len(content.encode("utf-8")) > WECOM_MAX_BYTES:
            return f"markdown.content exceed max length {WECOM_MAX_BYTES}", None, None
        return None, content, None

    @staticmethod
    def _feishu(body, secret, _query, size):
        keys = {"msg_type", "content"} | ({"timestamp", "sign"} if secret else set())
        if set(body) != keys or body["msg_type"] != "text" or set(body["content"]) != {"text"}:
            return f"bad shape {sorted(body)}", None, None
        if size > REQUEST_MAX_BYTES:
            return "request too large", None, None
        if secret:
            timestamp = str(body["timestamp"])
            key = f"{timestamp}\n{secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            if abs(time.time() - int(timestamp)) > 3600 or body["sign"] != expected:
                return "sign match fail or timestamp is not within one hour", None, None
        return None, body["content"]["text"], None

    @staticmethod
    def _dingtalk(body, secret, query, size):
        if set(body) != {"msgtype", "markdown"} or body["msgtype"] != "markdown" or \
                set(body["markdown"]) != {"title", "text"}:
            return "not a markdown message", None, None
        if size > REQUEST_MAX_BYTES:
            return "request too large", None, None
        if secret:
            timestamp = query.get("timestamp", "0")
            digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(),
                              hashlib.sha256).digest()
            if abs(time.time() * 1000 - int(timestamp)) > 3600_000 or \
                    query.get("sign") != base64.b64encode(digest).decode():
                return "sign not match", None, None
        elif "sign" in query:
            return "signed without a secret", None, None
        return None, body["markdown"]["text"], body["markdown"]["title"]


def _handler(server: RobotServer):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's API)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            reply = server.handle(self.path, self.headers, raw)
            data = json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # quiet
            pass

    return Handler
