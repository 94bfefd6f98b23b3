"""Personal data: the Python maskers (siyu.pii) and the dbt macros (macros/pii.sql) agree.

Identity matching happens in SQL on salted hashes, while extracts and e-mails mask in Python;
both must produce the same hash and the same masked form for the same value, or a hashed
phone in the warehouse would not match the one a Python tool computes. The macros are rendered
with plain Jinja (dbt's `var`, `env_var` and `return` stubbed) and run in DuckDB, so the test
exercises the very SQL dbt compiles, in a fraction of a second.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import jinja2
import pytest
from siyu import dbt_pii_plugin, pii

MACROS = Path(__file__).resolve().parents[1] / "dbt_project" / "macros"

# raw phone as delivered -> normalised (sources.md "Identity"), None when malformed
PHONES = {
    "13800138000": "13800138000",
    "+86 138 0013 8000": "13800138000",
    "0086-138-0013-8000": "13800138000",
    "8613800138000": "13800138000",
    "(138) 0013-8000": "13800138000",
    "1380013800": None,  # 10 digits
    "23800138000": None,  # does not start with 1
    "": None,
}
EMAILS = {
    " Zhang.Wei@Example.COM ": "zhang.wei@example.com",
    "li@example.com": "li@example.com",
    "no-at-sign.example.com": None,
    "a b@example.com": None,  # white space inside never identifies anybody
}
NAMES = ["张伟", "李伟😊", "J", "John Smith", " 王小明 ", "欧阳娜娜"]


def _macros():
    """The macros of normalize.sql and pii.sql as plain Jinja callables."""
    environment = jinja2.Environment(extensions=["jinja2.ext.do"])
    adapter = _DuckDBAdapter()
    environment.globals.update(
        var=lambda name, default=None: default,
        env_var=lambda name, default="": default,
        # dbt's return(): the macro's value; these macros only return strings
        **{"return": lambda value: value},
        adapter=adapter,
    )
    source = "".join((MACROS / name).read_text()
                     for name in ("cross_db.sql", "normalize.sql", "pii.sql"))
    adapter.macros = environment.from_string(source).module
    return adapter.macros


class _DuckDBAdapter:
    """dbt's adapter.dispatch for the duckdb target: the `default__` implementation of the
    cross-database macros (cross_db.sql), which is what dbt-duckdb compiles."""

    macros = None

    def dispatch(self, name: str, package: str | None = None):
        return getattr(self.macros, f"default__{name}")


def _sql_values(con: duckdb.DuckDBPyConnection, expr: str, inputs: list[str]) -> list:
    con.execute("CREATE OR REPLACE TEMP TABLE t (i INTEGER, v VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(inputs)))
    return [r[0] for r in con.sql(f"SELECT {expr} FROM t ORDER BY i").fetchall()]


@pytest.fixture
def con(monkeypatch):
    monkeypatch.delenv("SIYU_PII_SALT", raising=False)
    c = duckdb.connect()
    dbt_pii_plugin.set_salt(c)
    yield c
    c.close()


def test_python_maskers():
    assert pii.mask_phone("13800138000") == "138****8000"
    assert pii.mask_phone("+86 138 0013 8000") == "138****8000"
    assert pii.mask_phone("12345") == "*****"
    assert pii.mask_phone(None) is None
    assert pii.mask_name("张伟") == "张*"
    assert pii.mask_name("欧阳娜娜") == "欧***"
    assert pii.mask_name("J") == "*"
    assert pii.mask_email("zhang.wei@example.com") == "z***@example.com"
    assert pii.mask_email("@example.com") == "***"
    assert pii.mask_email(None) is None
    expected = hashlib.sha256(("salt" + "13800138000").encode()).hexdigest()
    assert pii.pii_hash("13800138000", "salt") == expected
    assert pii.pii_hash(None) is None and pii.pii_hash("") is None



def test_messages_are_masked_for_alerts_and_logs():
    """pii.mask_message: what the failure alerts and the delivery's log show of an error."""
    message = ("refused: zhang.wei@example.com, +86 138-0013-8000 and 13800138000; "
               "order T1001, 3 rows, build 123456")
    assert pii.mask_message(message) == (
        "refused: <email>, <number> and <number>; order T1001, 3 rows, "
        "build 123456")


def test_salt_comes_from_the_environment_else_the_demo_salt(monkeypatch):
    monkeypatch.delenv("SIYU_PII_SALT", raising=False)
    assert pii.salt() == pii.DEMO_SALT
    monkeypatch.setenv("SIYU_PII_SALT", "")
    assert pii.salt() == pii.DEMO_SALT
    monkeypatch.setenv("SIYU_PII_SALT", "s3cret")
    assert pii.salt() == "s3cret"
    # dbt reads it at run time from the session variable that the profile's plugin sets from
    # siyu.pii.salt(): the compiled SQL never contains it
    sql = str(_macros().pii_hash("v"))
    assert "getvariable('siyu_pii_salt')" in sql and pii.DEMO_SALT not in sql


@pytest.mark.parametrize("salt", [pii.DEMO_SALT, "another salt with a quote ' in it"])
def test_sql_hash_of_a_phone_equals_python(con, salt, monkeypatch):
    monkeypatch.setenv("SIYU_PII_SALT", salt)
    dbt_pii_plugin.set_salt(con)  # what the profile's plugin does on every dbt connection
    m = _macros()
    got = _sql_values(con, m.pii_hash(m.normalize_phone("v")), list(PHONES))
    want = [pii.pii_hash(n, salt) for n in PHONES.values()]
    assert got == want
    # every spelling of one phone has one hash; a malformed phone has none
    assert len({h for h in got if h}) == 1 and got.count(None) == 3


def test_sql_hash_of_an_email_equals_python(con):
    m = _macros()
    got = _sql_values(con, m.pii_hash(m.linkable_email("v")), list(EMAILS))
    assert got == [pii.pii_hash(n) for n in EMAILS.values()]


def test_sql_masks_equal_python(con):
    m = _macros()
    normalised = [p for p in PHONES.values() if p] + ["12345", "861234567890123"]
    assert _sql_values(con, m.mask_phone("v"), normalised) == [pii.mask_phone(p) for p in normalised]
    assert _sql_values(con, m.mask_name("v"), NAMES) == [pii.mask_name(n) for n in NAMES]
    emails = [e for e in EMAILS.values() if e] + ["@example.com"]
    assert _sql_values(con, m.mask_email("v"), emails) == [pii.mask_email(e) for e in emails]
    assert _sql_values(con, m.mask_phone("v"), ["13800138000"]) == ["138****8000"]


# free text typed by staff -> what leaves the raw layer (macro mask_free_text)
FREE_TEXT = {
    "VIP 13800138000": "VIP [phone]",
    "回访+86 138-0013-8000 周五": "回访[phone] 周五",
    "8613800138000/zhang.wei@example.com": "[phone]/[email]",
    "客服 010-12345678": "客服 [phone]",
    "618大促 2025-06-18": "618大促 2025-06-18",  # a date is not a phone
    "订单 23800138000": "订单 23800138000",  # 11 digits, not a mobile
    "老客户": "老客户",
    "a@b": "a@b",
    "": "",
}


def test_free_text_masks_phones_and_emails_in_python_and_sql(con):
    assert {t: pii.mask_free_text(t) for t in FREE_TEXT} == FREE_TEXT
    assert pii.mask_free_text(None) is None
    got = _sql_values(con, _macros().mask_free_text("v"), [*FREE_TEXT, None])
    assert got == [*FREE_TEXT.values(), None]


def test_quality_results_and_data_docs_carry_no_clear_personal_data(tmp_path):
    """Checks that fail on names and phones of a raw batch, including kinds that would show
    values (in-set, min, partial unexpected lists): ops.dq_results and every Data Docs file
    (HTML and the stored GX JSON) hold counts, never the values."""
    import pandas as pd
    from siyu import quality as Q

    phones = ["+86 138 0013 8000", "13912345678", "021-5555-0199"]
    names = ["张伟", "李秀英", "Zhang Wei"]
    emails = ["Zhang.Wei@Example.com", "li@example.com", "bad-address"]
    df = pd.DataFrame({"contact_id": ["C1", "C2", "C3"], "name": names, "phone": phones,
                       "email": emails})
    expectations = [
        {"type": "expect_column_values_to_match_regex",
         "kwargs": {"column": "phone", "regex": r"^1\d{10}$"}, "severity": "warning"},
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "name", "value_set": ["nobody"]}, "severity": "warning"},
        {"type": "expect_column_min_to_be_between",
         "kwargs": {"column": "phone", "min_value": "2"}, "severity": "warning"},
        {"type": "expect_column_values_to_match_regex",
         "kwargs": {"column": "email", "regex": "^[a-z]+@"}, "severity": "warning"},
        {"type": "expect_column_values_to_not_match_regex",
         "kwargs": {"column": "contact_id", "regex": "C"}, "severity": "warning"},
    ]
    suite = Q.Suite(name="raw.crm.contacts", kind="raw", table="contacts",
                    spec={"name": "raw.crm.contacts", "expectations": expectations})
    report = Q.validate_frame(suite, df, "run-pii", batch="2025-03-10")
    assert [r.success for r in report.results] == [False] * 5  # every check saw the values
    ops = tmp_path / "warehouse.duckdb"
    report.store(ops)
    index = Q.build_data_docs(tmp_path / "quality" / "data_docs", [report])
    con = duckdb.connect(str(ops), read_only=True)
    stored = " ".join(str(v) for row in con.sql("SELECT * FROM warehouse.ops.dq_results").fetchall()
                      for v in row)
    con.close()
    texts = {"ops.dq_results": stored}
    for path in (tmp_path / "quality").rglob("*"):
        if path.is_file() and path.suffix in {".html", ".json", ".yml"}:
            texts[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    assert index.exists() and len(texts) > 3
    secrets = ["13800138000", "138 0013 8000", "13912345678", "5555-0199", "张伟", "李秀英",
               "Zhang Wei", "Zhang.Wei", "li@example.com", "bad-address"]
    leaks = {(where, s) for where, text in texts.items() for s in secrets if s in text}
    assert leaks == set()
    # the contact id (not personal data) still shows the check worked on real values
    assert "3 of 3 unexpected" in stored
