"""Raw ingestion: every bad-input kind on tiny hand-made files, with exact counts."""

from __future__ import annotations

import gzip
import json
import multiprocessing
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest
from siyu import contract as C
from siyu import loader

DT = date(2025, 3, 1)

CONTACT_HEADER = (
    "contact_id,external_userid,unionid,name,phone,email,city,source_channel,"
    "owner_staff_id,created_at,updated_at,is_deleted"
)


def contact(cid: str, created="2025-03-01 10:00:00", updated="2025-03-01 10:00:00",
            deleted="false", phone="13800138000", city="上海") -> str:
    return f"{cid},wm{cid},,张伟😊,{phone},a@b.com,{city},store_qr,sales_001,{created},{updated},{deleted}"


def order(oid: str, **kw) -> dict:
    o = {
        "order_id": oid, "buyer_id": "B1", "buyer_phone": "13800138000", "unionid": None,
        "channel": "mini_program", "status": "paid",
        "created_at": "2025-03-01T20:11:05+08:00", "paid_at": "2025-03-01T20:12:40+08:00",
        "updated_at": "2025-03-01T20:12:40+08:00", "currency": "CNY", "total_amount": "299.00",
        "discount_amount": "30.00", "shipping_amount": "0.00", "paid_amount": "269.00",
        "coupon_code": None,
        "items": [{"sku": "SK-1", "product_name": "修护精华 30ml", "category": "serum",
                   "quantity": 1, "unit_price": "299.00"}],
    }
    o.update(kw)
    return o


def message(mid: str, **kw) -> dict:
    m = {"msgid": mid, "chat_type": "single", "roomid": None, "from": "wmA",
         "from_type": "customer", "tolist": ["zhangwei"], "msgtime": 1740831160123,
         "msgtype": "text", "content": "这个精华敏感肌能用吗？"}
    m.update(kw)
    return m


def write(landing: Path, entity: str, name: str, text: str | bytes, dt: date = DT) -> Path:
    d = landing / entity / f"dt={dt.isoformat()}"
    d.mkdir(parents=True, exist_ok=True)
    p = d / name
    data = text.encode("utf-8") if isinstance(text, str) else text
    if name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    p.write_bytes(data)
    return p


def jsonl(*objs) -> str:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs)


def load(tmp_path: Path, source: str, dt: date = DT) -> duckdb.DuckDBPyConnection:
    raw = tmp_path / "raw" / f"{source}.duckdb"
    loader.ingest_source_day(source, dt, tmp_path / "landing", raw)
    return duckdb.connect(str(raw), read_only=True)


def counts(con, table: str) -> tuple[int, int]:
    rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    q = con.execute("SELECT count(*) FROM quarantine WHERE entity = ?", [table]).fetchone()[0]
    return rows, q


def quarantine(con, table: str) -> list[tuple[str, int, str]]:
    return con.execute(
        "SELECT _file, _line, reason FROM quarantine WHERE entity = ? ORDER BY _file, _line",
        [table],
    ).fetchall()


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


# ---------------------------------------------------------------- CSV


def test_csv_good_rows_keep_lineage_bom_quotes_and_emoji(tmp_path, landing):
    text = "\ufeff" + CONTACT_HEADER + "\n" + contact("C1") + "\n" + contact(
        "C2", city='"北京, 朝阳区"'
    ) + "\n" + contact("C3", city='"上海 ""浦东"""') + "\n"
    write(landing, "crm/contacts", "part-1.csv", text)
    con = load(tmp_path, "crm")
    rows = con.execute(
        "SELECT contact_id, city, name, _file, _line, _dt FROM contacts ORDER BY _line"
    ).fetchall()
    assert [r[0] for r in rows] == ["C1", "C2", "C3"]
    assert rows[1][1] == "北京, 朝阳区"
    assert rows[2][1] == '上海 "浦东"'
    assert rows[0][2] == "张伟😊"
    assert [r[4] for r in rows] == [2, 3, 4]  # header is line 1
    assert rows[0][3] == "crm/contacts/dt=2025-03-01/part-1.csv"
    assert rows[0][5] == DT


def test_csv_missing_key_missing_time_bad_time_bad_enum(tmp_path, landing):
    lines = [
        CONTACT_HEADER,
        contact("C1"),  # 2 good
        contact(""),  # 3 missing key
        contact("C3", updated=""),  # 4 missing required time
        contact("C4", created="2025/03/01 10:00"),  # 5 unparsable time
        contact("C5", deleted="maybe"),  # 6 unknown enum
        contact("C6", updated="2025-02-30 10:00:00"),  # 7 impossible date
        contact("C7"),  # 8 good
    ]
    write(landing, "crm/contacts", "part-1.csv", "\n".join(lines) + "\n")
    con = load(tmp_path, "crm")
    assert counts(con, "contacts") == (2, 5)
    q = quarantine(con, "contacts")
    assert [line for _, line, _ in q] == [3, 4, 5, 6, 7]
    assert "missing required field contact_id" in q[0][2]
    assert "missing required field updated_at" in q[1][2]
    assert "unparsable time in created_at" in q[2][2]
    assert "unknown is_deleted value: maybe" in q[3][2]
    assert "unparsable time in updated_at" in q[4][2]


def test_csv_wrong_field_count_and_multiline_record_keep_physical_lines(tmp_path, landing):
    lines = [
        "contact_id,tag_group,tag_name,action,tagged_at,staff_id",
        'C1,interest,"两行\n标签",add,2025-03-01 10:00:00,s1',  # lines 2-3, one record
        "C2,interest,护肤,add,2025-03-01 10:00:00",  # line 4: 5 fields
        "C3,need,补水,remove,2025-03-01 11:00:00,",  # line 5 good (automation)
    ]
    write(landing, "crm/contact_tags", "part-1.csv", "\n".join(lines) + "\n")
    con = load(tmp_path, "crm")
    assert counts(con, "contact_tags") == (2, 1)
    assert con.execute("SELECT _line FROM contact_tags ORDER BY _line").fetchall() == [(2,), (5,)]
    (_, line, reason), = quarantine(con, "contact_tags")
    assert line == 4 and "expected 6 fields" in reason


def test_csv_reordered_and_added_columns_are_mapped_and_kept(tmp_path, landing):
    header = "name,remark,contact_id,is_deleted,created_at,updated_at"
    write(landing, "crm/contacts", "part-1.csv",
          f"{header}\n李娜,VIP客户,C9,true,2025-03-01 09:00:00,2025-03-01 09:30:00\n")
    con = load(tmp_path, "crm")
    row = con.execute("SELECT contact_id, name, is_deleted, phone, _extra FROM contacts").fetchone()
    assert row[:4] == ("C9", "李娜", "true", None)
    assert json.loads(row[4]) == {"remark": "VIP客户"}
    drift = con.execute(
        "SELECT column_name, change FROM schema_drift WHERE entity='contacts' ORDER BY 1"
    ).fetchall()
    assert ("remark", "added") in drift
    assert ("phone", "missing") in drift


def test_surveys_score_out_of_range_and_unparsable(tmp_path, landing):
    write(landing, "crm/surveys", "part-1.csv",
          "response_id,contact_id,score,submitted_at\n"
          "S1,C1,9,2025-03-01 10:00:00\nS2,C1,11,2025-03-01 10:00:00\n"
          "S3,C1,abc,2025-03-01 10:00:00\n")
    con = load(tmp_path, "crm")
    assert counts(con, "surveys") == (1, 2)


def test_campaign_bad_amount(tmp_path, landing):
    write(landing, "crm/campaigns", "part-1.csv",
          "campaign_id,channel,department,start_date,end_date,spend_cny,updated_at\n"
          "K1,douyin_ad,marketing,2025-03-01,2025-03-10,1000.00,2025-03-01 10:00:00\n"
          "K2,douyin_ad,marketing,2025-03-01,2025-03-10,12.3.4,2025-03-01 10:00:00\n")
    con = load(tmp_path, "crm")
    assert counts(con, "campaigns") == (1, 1)
    assert "unparsable amount in spend_cny" in quarantine(con, "campaigns")[0][2]


# ---------------------------------------------------------------- JSON lines


def test_json_bad_kinds_each_rejected_with_reason(tmp_path, landing):
    objs = [
        order("T1"),  # 1 good
        order("T2", updated_at="2025-03-01T20:12:40"),  # 2 shop time without offset
        order("T3", paid_amount="abc"),  # 3 unparsable amount
        order("T4", status="lost"),  # 4 unknown enum
        order("T5", created_at="2025-13-01T10:00:00+08:00"),  # 5 unparsable time
        order(None),  # 6 missing key
        order("T7", updated_at="2025-03-01T12:40:00Z"),  # 7 good (Z is an offset)
    ]
    text = jsonl(*objs) + '{"order_id": "T8", "buyer_id": "B1", "sta\n'  # 8 malformed
    write(landing, "shop/orders", "part-1.jsonl", text)
    con = load(tmp_path, "shop")
    assert counts(con, "orders") == (2, 6)
    reasons = {line: reason for _, line, reason in quarantine(con, "orders")}
    assert "shop time without offset in updated_at" in reasons[2]
    assert "unparsable amount in paid_amount" in reasons[3]
    assert "unknown status value: lost" in reasons[4]
    assert "unparsable time in created_at" in reasons[5]
    assert "missing required field order_id" in reasons[6]
    assert reasons[8] == "malformed JSON"
    items = con.execute("SELECT items->>'$[0].product_name' FROM orders WHERE order_id='T1'")
    assert items.fetchone()[0] == "修护精华 30ml"


def test_json_extra_keys_kept_and_nulls_allowed(tmp_path, landing):
    write(landing, "community/messages", "part-1.jsonl", jsonl(
        message("m1", action="send"),
        message("m2", msgtype="image", content=None),
        message("m3", msgtype="voicemail"),
        message("m4", msgtime="abc"),
        message("m5", from_type=None),
    ))
    con = load(tmp_path, "community")
    assert counts(con, "messages") == (2, 3)
    extra = con.execute("SELECT _extra FROM messages WHERE msgid='m1'").fetchone()[0]
    assert json.loads(extra) == {"action": "send"}
    assert con.execute("SELECT _extra FROM messages WHERE msgid='m2'").fetchone()[0] is None


def test_duplicated_lines_and_files_are_kept_in_raw(tmp_path, landing):
    text = jsonl(message("m1"), message("m1"))
    write(landing, "community/messages", "part-1.jsonl", text)
    write(landing, "community/messages", "part-1-dup.jsonl", text)
    con = load(tmp_path, "community")
    # raw keeps every delivered row with its lineage; staging dedupes by msgid
    assert counts(con, "messages") == (4, 0)


def test_empty_file_and_empty_partition(tmp_path, landing):
    write(landing, "community/messages", "part-1.jsonl", "")
    write(landing, "community/messages", "part-2.jsonl", jsonl(message("m1")))
    con = load(tmp_path, "community")
    assert counts(con, "messages") == (1, 0)
    assert con.execute(
        "SELECT files FROM load_log WHERE entity='messages'"
    ).fetchone()[0] == 2


def test_truncated_gzip_keeps_complete_lines(tmp_path, landing):
    body = jsonl(*[message(f"m{i}", content="内容" * 50 + str(i)) for i in range(200)])
    full = gzip.compress(body.encode(), mtime=0)
    d = landing / "community/messages" / f"dt={DT}"
    d.mkdir(parents=True)
    (d / "part-1.jsonl.gz").write_bytes(full[: len(full) * 2 // 3])
    # how many complete lines a streaming decompressor can recover
    import zlib

    dec = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(full[: len(full) * 2 // 3])
    complete = dec.count(b"\n")
    assert 0 < complete < 200
    write(landing, "community/messages", "part-2.jsonl", jsonl(message("other")))
    con = load(tmp_path, "community")
    rows, q = counts(con, "messages")
    assert rows == complete + 1  # the other file is untouched
    (_, line, reason), = quarantine(con, "messages")
    assert line == complete + 1
    assert reason.startswith("truncated gzip")


def test_corrupt_gzip_does_not_stop_other_files(tmp_path, landing):
    d = landing / "community/messages" / f"dt={DT}"
    d.mkdir(parents=True)
    (d / "part-1.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00garbage-not-deflate")
    write(landing, "community/messages", "part-2.jsonl", jsonl(message("ok")))
    con = load(tmp_path, "community")
    assert counts(con, "messages") == (1, 1)
    assert "gzip" in quarantine(con, "messages")[0][2]


def test_invalid_utf8_line_is_quarantined(tmp_path, landing):
    good = json.dumps(message("m1"), ensure_ascii=False).encode()
    bad = b'{"msgid": "m2", "content": "\xff\xfe"}'
    write(landing, "community/messages", "part-1.jsonl", good + b"\n" + bad + b"\n" + good + b"\n")
    con = load(tmp_path, "community")
    assert counts(con, "messages") == (2, 1)
    assert quarantine(con, "messages")[0][1:] == (2, "invalid UTF-8")


# ---------------------------------------------------------------- idempotency, concurrency


def test_reloading_a_day_replaces_it(tmp_path, landing):
    write(landing, "community/messages", "part-1.jsonl", jsonl(message("m1"), message("m2", msgtype="x")))
    write(landing, "community/messages", "part-1.jsonl",
          jsonl(message("m9")), dt=date(2025, 3, 2))
    raw = tmp_path / "raw" / "community.duckdb"
    for _ in range(2):
        loader.ingest_source_days("community", [DT, date(2025, 3, 2)], landing, raw)
    con = duckdb.connect(str(raw), read_only=True)
    assert counts(con, "messages") == (2, 1)
    assert con.execute("SELECT count(DISTINCT load_id) FROM load_log").fetchone()[0] == 2
    con.close()
    # the source fixes day 1: a rerun of that day only replaces day 1
    write(landing, "community/messages", "part-1.jsonl", jsonl(message("m1"), message("m2")))
    loader.ingest_source_day("community", DT, landing, raw)
    con = duckdb.connect(str(raw), read_only=True)
    assert counts(con, "messages") == (3, 0)


def _ingest_proc(args):
    source, landing, raw = args
    t0 = time.monotonic()
    loader.ingest_source_day(source, DT, Path(landing), Path(raw))
    return source, t0, time.monotonic()


def test_three_sources_load_concurrently_and_same_source_writers_queue(tmp_path, landing):
    write(landing, "crm/contacts", "part-1.csv", CONTACT_HEADER + "\n" + contact("C1") + "\n")
    write(landing, "shop/orders", "part-1.jsonl", jsonl(order("T1")))
    write(landing, "community/messages", "part-1.jsonl", jsonl(message("m1")))
    raw = tmp_path / "raw"
    jobs = [(s, str(landing), str(raw / f"{s}.duckdb")) for s in C.SOURCES]
    jobs.append(("community", str(landing), str(raw / "community.duckdb")))  # 2nd writer
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.map(_ingest_proc, jobs)
    assert sorted(r[0] for r in results) == ["community", "community", "crm", "shop"]
    for source, table in (("crm", "contacts"), ("shop", "orders"), ("community", "messages")):
        con = duckdb.connect(str(raw / f"{source}.duckdb"), read_only=True)
        assert counts(con, table) == (1, 0)
        con.close()


def test_unknown_source_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown source"):
        loader.ingest_source_day("erp", DT, tmp_path, tmp_path / "x.duckdb")


def test_crlf_gzip_bom_csv_and_header_only_file(tmp_path, landing):
    text = "\ufeff" + CONTACT_HEADER + "\r\n" + contact("C1") + "\r\n" + contact("C2") + "\r\n"
    write(landing, "crm/contacts", "part-1.csv.gz", text)
    write(landing, "crm/contacts", "part-2.csv", CONTACT_HEADER + "\n")
    con = load(tmp_path, "crm")
    assert counts(con, "contacts") == (2, 0)
    assert con.execute("SELECT max(length(is_deleted)) FROM contacts").fetchone()[0] == 5
    assert con.execute(
        "SELECT count(*) FROM schema_drift WHERE entity = 'contacts'"
    ).fetchone()[0] == 0


# ---------------------------------------------------------------- hostile input (sources.md "Bad input")


def test_stray_quote_in_unquoted_field_costs_at_most_its_own_line(tmp_path, landing):
    lines = [
        CONTACT_HEADER,
        contact("C1"),  # 2
        contact("C2").replace("张伟😊", '王"平'),  # 3 stray quote: read literally, as csv does
        contact("C3"),  # 4
        contact("C4", city='"北京, 朝阳区"'),  # 5 a real quoted field after the stray quote
        contact("C5"),  # 6
        contact("C6"),  # 7
        contact("C7").replace("张伟😊", '"王, 平'),  # 8 opening quote never closed: 13 fields
        contact("C8"),  # 9
        contact("C9", city='"上海, 徐汇"'),  # 10
        contact("C10").replace("张伟😊", '"王平'),  # 11 never closed, 12 fields: read literally
        contact("C11"),  # 12
        contact("C12", city='"上海, 徐汇"'),  # 13
    ]
    write(landing, "crm/contacts", "part-1.csv", "\n".join(lines) + "\n")
    con = load(tmp_path, "crm")
    assert counts(con, "contacts") == (11, 1)
    names = dict(con.execute("SELECT contact_id, name FROM contacts").fetchall())
    assert names["C2"] == '王"平' and names["C10"] == '"王平'
    (_, line, reason), = quarantine(con, "contacts")
    assert line == 8
    assert reason == "unclosed quoted field; expected 12 fields (header), found 13"
    loaded = [r[0] for r in con.execute("SELECT _line FROM contacts ORDER BY _line").fetchall()]
    assert loaded == [2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("name", ["part-1.csv", "part-1.csv.gz"])
def test_csv_any_line_ending_loads_with_physical_lines(tmp_path, landing, ending, name):
    text = "\ufeff" + ending.join([CONTACT_HEADER, contact("C1"), contact("C2", deleted="maybe"),
                                   contact("C3")]) + ending
    write(landing, "crm/contacts", name, text)
    con = load(tmp_path, "crm")
    assert counts(con, "contacts") == (2, 1)
    assert con.execute("SELECT list(_line ORDER BY _line) FROM contacts").fetchone()[0] == [2, 4]
    assert quarantine(con, "contacts")[0][1] == 3
    assert con.execute("SELECT count(*) FROM schema_drift").fetchone()[0] == 0
    assert con.execute("SELECT max(length(is_deleted)) FROM contacts").fetchone()[0] == 5


def test_jsonl_lone_cr_and_mixed_line_endings(tmp_path, landing):
    a, b, c = (json.dumps(message(m), ensure_ascii=False) for m in ("m1", "m2", "m3"))
    write(landing, "community/messages", "part-1.jsonl", a + "\r" + b + "\r\n" + c + "\n")
    con = load(tmp_path, "community")
    assert counts(con, "messages") == (3, 0)
    assert con.execute("SELECT list(_line ORDER BY _line) FROM messages").fetchone()[0] == [1, 2, 3]


def test_plain_jsonl_named_gz_loads_its_lines(tmp_path, landing):
    d = landing / "shop/orders" / f"dt={DT}"
    d.mkdir(parents=True)
    (d / "part-1.jsonl.gz").write_text(jsonl(order("T1"), order("T2", status="lost"), order("T3")))
    con = load(tmp_path, "shop")
    assert counts(con, "orders") == (2, 1)
    assert quarantine(con, "orders")[0][1:] == (2, "unknown status value: lost")


def test_jsonl_bom_keeps_the_first_record(tmp_path, landing):
    write(landing, "shop/orders", "part-1.jsonl", "\ufeff" + jsonl(order("T1"), order("T2")))
    write(landing, "shop/orders", "part-2.jsonl.gz", "\ufeff" + jsonl(order("T3")))
    con = load(tmp_path, "shop")
    assert counts(con, "orders") == (3, 0)
    assert con.execute(
        "SELECT _line FROM orders WHERE order_id = 'T1'").fetchone()[0] == 1


@pytest.mark.parametrize("name", ["part-1.csv", "part-1.csv.gz"])
def test_non_utf8_csv_rejected_per_line(tmp_path, landing, name):
    gbk = contact("C2").replace("张伟😊", "王平").encode("gbk")  # a GBK export line
    text = ("\ufeff" + CONTACT_HEADER + "\r\n" + contact("C1") + "\r\n").encode() + gbk + (
        "\r\n" + contact("C3") + "\r\n").encode()
    write(landing, "crm/contacts", name, text)
    con = load(tmp_path, "crm")
    assert counts(con, "contacts") == (2, 1)
    assert quarantine(con, "contacts")[0][1:] == (3, "invalid UTF-8")
    assert con.execute("SELECT list(_line ORDER BY _line) FROM contacts").fetchone()[0] == [2, 4]


def test_non_utf8_jsonl_in_gzip_rejected_per_line(tmp_path, landing):
    good = json.dumps(message("m1"), ensure_ascii=False).encode()
    bad = json.dumps(message("m2", content="你好"), ensure_ascii=False).encode("gbk")
    write(landing, "community/messages", "part-1.jsonl.gz", good + b"\n" + bad + b"\n" + good)
    con = load(tmp_path, "community")
    assert counts(con, "messages") == (2, 1)
    assert quarantine(con, "messages")[0][1:] == (2, "invalid UTF-8")


def test_duplicated_json_key_is_quarantined(tmp_path, landing):
    good = json.dumps(order("T1"), ensure_ascii=False)
    dup = json.dumps(order("T2"), ensure_ascii=False)[:-1] + ', "status": "cancelled"}'
    write(landing, "shop/orders", "part-1.jsonl", good + "\n" + dup + "\n" + good + "\n")
    con = load(tmp_path, "shop")
    assert counts(con, "orders") == (2, 1)
    (_, line, reason), = quarantine(con, "orders")
    assert (line, reason) == (2, "duplicated key in JSON object: status")


def test_layout_outside_the_contract_is_reported_not_loaded(tmp_path, landing):
    write(landing, "crm/contacts", "part-1.csv", CONTACT_HEADER + "\n" + contact("C1") + "\n")
    stray = {
        "crm/contacts/dt=2025-13-01/part-1.csv": "malformed partition folder",
        "crm/contacts/dt=20250301/part-1.csv": "malformed partition folder",
        "crm/contacts/part-1.csv": "outside any dt=",
        "crm/leads/dt=2025-03-01/part-1.csv": "unknown entity 'leads'",
        "crm/contacts/dt=2025-03-01/notes.txt": "not a part file",
        "crm/contacts/dt=2025-03-01/part-2.jsonl": "not a part file",
        "crm/readme.md": "outside any entity folder",
        "erp/orders/dt=2025-03-01/part-1.csv": "unknown source folder",
    }
    for rel in stray:
        (landing / rel).parent.mkdir(parents=True, exist_ok=True)
        (landing / rel).write_text(CONTACT_HEADER + "\n" + contact("X1") + "\n")
    (landing / "_manifest.json").write_text("{}")  # a file at the root is no source's
    raw = tmp_path / "raw" / "crm.duckdb"
    result = loader.ingest_source("crm", [DT], landing, raw)
    reported = {"crm/contacts/dt=2025-13-01", "crm/contacts/dt=20250301", "crm/contacts/part-1.csv",
                "crm/leads", "crm/contacts/dt=2025-03-01/notes.txt",
                "crm/contacts/dt=2025-03-01/part-2.jsonl", "crm/readme.md", "erp"}
    assert {i.path for i in result.layout_issues} == reported
    con = duckdb.connect(str(raw), read_only=True)
    rows = dict(con.execute("SELECT path, reason FROM layout_issues").fetchall())
    assert set(rows) == reported
    for rel, why in stray.items():
        path = next(p for p in reported if rel.startswith(p))
        assert why in rows[path], (rel, rows[path])
    assert con.execute(
        "SELECT count(*) FROM layout_issues WHERE at_landing_root").fetchone()[0] == 1
    assert counts(con, "contacts") == (1, 0)  # only the partition file loads
    assert con.execute("SELECT count(DISTINCT _load_id) FROM layout_issues").fetchone()[0] == 1
    con.close()
    # reported whatever dates are loaded; gone from the table once the landing zone is fixed
    for rel in stray:
        (landing / rel).unlink()
    for folder in ("crm/contacts/dt=2025-13-01", "crm/contacts/dt=20250301", "crm/leads",
                   "erp"):
        import shutil

        shutil.rmtree(landing / folder)
    assert loader.ingest_source("crm", [], landing, raw).layout_issues == []
    con = duckdb.connect(str(raw), read_only=True)
    assert con.execute("SELECT count(*) FROM layout_issues").fetchone()[0] == 0


def test_reload_reflects_the_files_the_partition_holds_now(tmp_path, landing):
    day2 = date(2025, 3, 2)
    write(landing, "community/messages", "part-1.jsonl", jsonl(message("m1"), message("m2")))
    write(landing, "community/messages", "part-2.jsonl", jsonl(message("m3"), message("x", msgtype="?")))
    write(landing, "community/messages", "part-1.jsonl", jsonl(message("m9")), dt=day2)
    write(landing, "community/groups", "part-1.jsonl",
          jsonl({"roomid": "r1", "updated_at": 1740831160123}), dt=day2)
    raw = tmp_path / "raw" / "community.duckdb"

    def state():
        con = duckdb.connect(str(raw), read_only=True)
        try:
            return (con.execute("SELECT _dt, count(*) FROM messages GROUP BY 1 ORDER BY 1").fetchall(),
                    counts(con, "messages")[1], counts(con, "groups")[0])
        finally:
            con.close()

    loader.ingest_source_days("community", [DT, day2], landing, raw)
    assert state() == ([(DT, 3), (day2, 1)], 1, 1)
    loader.ingest_source_days("community", [DT, day2], landing, raw)  # idempotent
    assert state() == ([(DT, 3), (day2, 1)], 1, 1)
    # a file removed from day 1: its rows and its quarantined line go
    (landing / f"community/messages/dt={DT}/part-2.jsonl").unlink()
    loader.ingest_source_day("community", DT, landing, raw)
    assert state() == ([(DT, 2), (day2, 1)], 0, 1)
    # a file replaced and one added
    write(landing, "community/messages", "part-1.jsonl", jsonl(message("m1")))
    write(landing, "community/messages", "part-3.jsonl.gz", jsonl(message("m4"), message("m5")))
    loader.ingest_source_day("community", DT, landing, raw)
    assert state() == ([(DT, 3), (day2, 1)], 0, 1)
    # day 2's folders emptied, then gone: its raw rows go (every entity of the source)
    (landing / f"community/messages/dt={day2}/part-1.jsonl").unlink()
    loader.ingest_source_day("community", day2, landing, raw)
    assert state() == ([(DT, 3)], 0, 1)
    import shutil

    shutil.rmtree(landing / f"community/groups/dt={day2}")
    loader.ingest_source_day("community", day2, landing, raw)
    assert state() == ([(DT, 3)], 0, 0)


def test_ingest_summary_counts_and_prints_layout_issues(tmp_path, landing):
    from siyu import pipeline
    from siyu.config import Settings

    write(landing, "shop/orders", "part-1.jsonl", jsonl(order("T1")))
    write(landing, "shop/orders", "notes.txt", "not data")
    (landing / "shop/orders/dt=2025-3-1").mkdir()
    (landing / "erp").mkdir()
    (landing / "crm").mkdir()
    settings = Settings.from_env(landing_root=landing, warehouse=tmp_path / "wh" / "siyu.duckdb",
                                 raw_dir=tmp_path / "raw")
    said: list[str] = []
    summaries = [pipeline.ingest(settings, source, [DT], progress=said.append)
                 for source in ("shop", "crm")]
    assert [(s["layout_issues"], s["landing_root_issues"]) for s in summaries] == [(2, 1), (0, 1)]
    assert summaries[0]["rows_loaded"] == 1
    assert pipeline.layout_issue_count(summaries) == 3  # the unknown source counted once
    printed = [line for line in said if "not loaded:" in line]
    assert any("shop/orders/dt=2025-03-01/notes.txt" in line for line in printed)
    assert any("shop/orders/dt=2025-3-1 (malformed partition folder" in line for line in printed)
    assert sum("erp (unknown source folder" in line for line in printed) == 2


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_truncated_gzip_with_crlf_or_cr_keeps_complete_lines(tmp_path, landing, ending):
    rows = [contact(f"C{i}", city="上海" * 40) for i in range(300)]
    body = ending.join([CONTACT_HEADER, *rows]) + ending
    full = gzip.compress(body.encode(), mtime=0)
    d = landing / "crm/contacts" / f"dt={DT}"
    d.mkdir(parents=True)
    (d / "part-1.csv.gz").write_bytes(full[: len(full) // 2])
    import zlib

    partial = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(full[: len(full) // 2]).decode(
        "utf-8", "ignore")
    complete_lines = partial.count(ending)  # the header is one of them
    assert 10 < complete_lines < 300
    con = load(tmp_path, "crm")
    assert counts(con, "contacts") == (complete_lines - 1, 1)
    (_, line, reason), = quarantine(con, "contacts")
    assert line == complete_lines + 1 and reason.startswith("truncated gzip")
    assert con.execute("SELECT max(_line) FROM contacts").fetchone()[0] == complete_lines
