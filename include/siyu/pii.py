"""Personal data (PIPL) helpers for everything that leaves the raw layer.

The raw layer (``*_raw/*.duckdb``) is the only place with clear names and phone numbers.
Anything shown to people (extracts, e-mails, BI views, logs) goes through these maskers;
identity matching uses salted hashes (see the dbt macros ``pii_hash``/``mask_phone``/``mask_name``/
``mask_email`` in ``dbt_project/macros/pii.sql``, which implement the same rules in SQL;
``tests/test_pii.py`` checks both give identical values).

The salt is a deployment secret (``SIYU_PII_SALT``): a hash of an 11-digit phone is only as
private as the salt, since the ~10^10 possible numbers can be hashed in minutes.
"""

from __future__ import annotations

import hashlib
import os
import re

DEMO_SALT = "siyu-demo-salt-change-me"


def salt() -> str:
    """The deployment's secret salt (SIYU_PII_SALT); the demo salt when unset."""
    return os.environ.get("SIYU_PII_SALT") or DEMO_SALT


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


# Raw-layer columns that hold clear personal data (sources.md: names, phones, e-mails,
# nicknames). Quality checks on them may count, never show, their values.
PII_COLUMNS = frozenset({"name", "phone", "email", "buyer_phone", "nickname"})
