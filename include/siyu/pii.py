"""Personal data (PIPL) helpers for everything that leaves the raw layer.

The raw layer (``*_raw/*.duckdb``) is the only place with clear names and phone numbers.
Anything shown to people (extracts, e-mails, BI views, logs) goes through these maskers;
identity matching uses salted hashes (see the dbt macros ``pii_hash``/``mask_phone``/``mask_name``/
``mask_email``/``mask_free_text`` in ``dbt_project/macros/pii.sql``, which implement the same rules in SQL;
``tests/test_pii.py`` checks both give identical values).

The salt is a deployment secret (``SIYU_PII_SALT``): a hash of an 11-digit phone is only as
private as the salt, since the ~10^10 possible numbers can be hashed in minutes. dbt reads it
at run time (``siyu.dbt_pii_plugin``), so it is never in compiled SQL or dbt's logs. Without
it every run warns and records ``ops.build_info.demo_salt``; on a landing zone that
``siyu generate`` did not write, the run is refused (``check_salt``).

| variable             | meaning                                                   | default          |
|----------------------|-----------------------------------------------------------|------------------|
| SIYU_PII_SALT        | secret salt of the phone/e-mail hashes                    | public demo salt |
| SIYU_ALLOW_DEMO_SALT | `1`: run on a non-generated landing with the demo salt    | refused          |

Free text typed by staff (tag and group names, content titles, channels, product names) is
masked in staging by ``mask_free_text`` (SQL twin in ``macros/pii.sql``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path

log = logging.getLogger(__name__)

DEMO_SALT = "siyu-demo-salt-change-me"
DEMO_SALT_WARNING = ("SIYU_PII_SALT is not set: phones and e-mails are hashed with the public "
                     "demo salt (fine for the generated demo data, never for real data)")


class PiiSaltError(RuntimeError):
    """A run on real data without a secret salt."""


def salt() -> str:
    """The deployment's secret salt (SIYU_PII_SALT); the demo salt when unset."""
    return os.environ.get("SIYU_PII_SALT") or DEMO_SALT


def using_demo_salt() -> bool:
    return salt() == DEMO_SALT


def is_demo_landing(landing_root: Path) -> bool:
    """A landing zone written by ``siyu generate``: its manifest (``_manifest.json`` inside, or
    ``<landing>.manifest.json`` beside it, as the shared sample) has the generator's args."""
    landing_root = Path(landing_root)
    for manifest in (landing_root / "_manifest.json",
                     landing_root.with_name(landing_root.name + ".manifest.json")):
        try:
            if "seed" in (json.loads(manifest.read_text()).get("args") or {}):
                return True
        except (OSError, ValueError, AttributeError):
            continue
    return False


def check_salt(landing_root: Path) -> bool:
    """Before a run hashes anything: True (and a logged warning) when the demo salt is used.
    On a landing zone that ``siyu generate`` did not write, the demo salt is refused
    (``PiiSaltError``) unless ``SIYU_ALLOW_DEMO_SALT=1``."""
    if not using_demo_salt():
        return False
    log.warning(DEMO_SALT_WARNING)
    if not is_demo_landing(landing_root) and os.environ.get("SIYU_ALLOW_DEMO_SALT") != "1":
        raise PiiSaltError(
            f"{DEMO_SALT_WARNING}; {landing_root} is not a generated demo landing zone: set "
            "SIYU_PII_SALT to the deployment's secret (or SIYU_ALLOW_DEMO_SALT=1 to hash real "
            "data with the public salt anyway)")
    return True


def pii_hash(value: str | None, salt_value: str | None = None) -> str | None:
    """sha256 hex of salt + value (value already normalised); None stays None."""
    if value is None or value == "":
        return None
    return hashlib.sha256(((salt_value or salt()) + value).encode("utf-8")).hexdigest()


_DIGITS = re.compile(r"\D")


def mask_phone(phone: str | None) -> str | None:
    """138****8000: first 3 and last 4 digits of the national number, the rest starred."""
    if phone is None or phone == "":
        return None
    digits = _DIGITS.sub("", phone)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str | None) -> str | None:
    """First character kept, the rest starred (张** / J***); a one-character name is '*'."""
    if name is None or name == "":
        return None
    name = name.strip()
    if len(name) <= 1:
        return "*"
    return name[0] + "*" * (len(name) - 1)


def mask_email(email: str | None) -> str | None:
    """z***@example.com: first character of the local part, three stars, the domain.

    Three stars whatever the length, so the mask does not reveal the local part's length.
    A value without a local part and '@' is all stars."""
    if email is None or email == "":
        return None
    at = email.find("@")
    if at < 1:
        return "***"
    return email[0] + "***" + email[at:]


# The patterns of the dbt macro mask_free_text (macros/pii.sql), read alike by RE2, PostgreSQL
# and Python: an e-mail-like substring, a mainland mobile (+86/86, single spaces or hyphens
# between digits) or a landline with its 0xx area code.
FREE_TEXT_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+([.][A-Za-z0-9-]+)*[.][A-Za-z]{2,}")
FREE_TEXT_PHONE = re.compile(r"([+]?86[ -]?)?1[3-9][0-9]([ -]?[0-9]){8}|0[0-9]{2,3}[ -]?[0-9]{7,8}")


def mask_free_text(text: str | None) -> str | None:
    """Free text typed by staff (tag, group, content and campaign names) with every e-mail-like
    substring replaced by ``[email]`` and every phone-like one by ``[phone]``."""
    if text is None:
        return None
    return FREE_TEXT_PHONE.sub("[phone]", FREE_TEXT_EMAIL.sub("[email]", text))


# Messages (an exception's text in a failure alert or a log line, an SMTP error quoting the
# addresses it refused): e-mail addresses, and digit runs of 7 or more digits (phone-like,
# spaces, hyphens and a leading + allowed).
_MESSAGE_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_MESSAGE_PHONE = re.compile(r"(?<![\w.])\+?\d[\d -]{5,}\d(?![\w.])")


def mask_message(text: str) -> str:
    """A message with its e-mail addresses replaced by ``<email>`` and its phone-like digit
    runs (7+ digits) by ``<number>`` (failure alerts, ``siyu.alerts``; the delivery's log)."""
    text = _MESSAGE_EMAIL.sub("<email>", text)
    return _MESSAGE_PHONE.sub(lambda m: m.group(0) if len(re.sub(r"\D", "", m.group(0))) < 7
                              else "<number>", text)

# Raw-layer columns that hold clear personal data (the landing contract: names, phones, e-mails,
# nicknames). Quality checks on them may count, never show, their values.
PII_COLUMNS = frozenset({"name", "phone", "email", "buyer_phone", "nickname"})
