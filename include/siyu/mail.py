"""Sending e-mail: the one SMTP path of the failure alerts (``siyu.alerts``) and the department
extracts (``siyu.delivery``).

Messages are standard-library ``email.message.EmailMessage`` objects, sent with ``smtplib``.
Where the server comes from is the only difference between Airflow and the command line:

* in Airflow, an ordinary SMTP connection (``smtp_default``; UI, ``airflow connections add``
  or ``AIRFLOW_CONN_SMTP_DEFAULT``), read with the same meaning as the SMTP provider's hook:
  host, port, login/password, extra ``disable_ssl`` / ``disable_tls`` (both default false,
  i.e. SSL on), ``timeout``, ``from_email``;
* on the command line, the environment (flags override it):

| variable            | meaning                                   | default  |
|---------------------|-------------------------------------------|----------|
| SIYU_SMTP_HOST      | SMTP server                               | (none)   |
| SIYU_SMTP_PORT      | port                                      | `25`     |
| SIYU_SMTP_FROM      | sender address                            | (none)   |
| SIYU_SMTP_USER      | login (optional)                          | (none)   |
| SIYU_SMTP_PASSWORD  | password (optional)                       | (none)   |
| SIYU_SMTP_STARTTLS  | `true`: upgrade the connection (STARTTLS) | `false`  |
| SIYU_SMTP_SSL       | `true`: SMTP over SSL (port 465)          | `false`  |

The provider's own ``SmtpHook.send_email_smtp`` builds its own MIME message (attachments as
``application/octet-stream``); sending our message through ``smtplib`` keeps the attachments'
MIME types and UTF-8 file names as built.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage

DEFAULT_CONN_ID = "smtp_default"
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout: float = 30.0

    @classmethod
    def from_env(cls, **overrides) -> SmtpSettings:
        """``SIYU_SMTP_*``; a keyword argument that is not None wins over its variable."""
        env = os.environ
        values = {
            "host": env.get("SIYU_SMTP_HOST"),
            "port": int(env.get("SIYU_SMTP_PORT") or 25),
            "sender": env.get("SIYU_SMTP_FROM"),
            "user": env.get("SIYU_SMTP_USER") or None,
            "password": env.get("SIYU_SMTP_PASSWORD") or None,
            "starttls": env.get("SIYU_SMTP_STARTTLS", "").lower() in _TRUE,
            "ssl": env.get("SIYU_SMTP_SSL", "").lower() in _TRUE,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not values["host"]:
            raise ValueError("no SMTP server: give --smtp-host or set SIYU_SMTP_HOST")
        if not values["sender"]:
            raise ValueError("no sender: give --smtp-from or set SIYU_SMTP_FROM")
        return cls(**values)

    @classmethod
    def from_airflow(cls, conn_id: str = DEFAULT_CONN_ID, sender: str | None = None
                     ) -> SmtpSettings:
        """An Airflow SMTP connection, with the SMTP provider's defaults (SSL unless the extra
        says ``disable_ssl``, STARTTLS unless ``disable_tls``). ``sender`` overrides the
        extra's ``from_email``."""
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
        extra = conn.extra_dejson
        sender = sender or extra.get("from_email")
        if not sender:
            raise ValueError(f"no sender: set from_email in the extra of connection {conn_id}")
        use_ssl = not extra.get("disable_ssl", False)
        return cls(
            host=conn.host or "localhost",
            port=int(conn.port or (465 if use_ssl else 25)),
            sender=sender,
            user=conn.login or None,
            password=conn.password or None,
            starttls=not use_ssl and not extra.get("disable_tls", False),
            ssl=use_ssl,
            timeout=float(extra.get("timeout", 30)),
        )


@contextmanager
def session(settings: SmtpSettings) -> Iterator[smtplib.SMTP]:
    """One logged-in SMTP session (several messages go through one connection)."""
    context = ssl.create_default_context()
    if settings.ssl:
        client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                  context=context)
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with client:
        if settings.starttls:
            client.starttls(context=context)
        if settings.user and settings.password:
            client.login(settings.user, settings.password)
        yield client


def html_message(to: list[str], subject: str, html_body: str, sender: str) -> EmailMessage:
    """A message with an HTML body only (the alerts: short facts in a table)."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg.set_content(html_body, subtype="html")
    return msg
