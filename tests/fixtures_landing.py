"""Builders of tiny hand-made landing zones (../shared/spec/sources.md) and a `siyu run` helper.

A ``Landing`` collects records per ``<source>/<entity>`` and day and writes them in the
contract's layout: ``<root>/<source>/<entity>/dt=YYYY-MM-DD/part-1.csv|jsonl``, CRM as CSV
with a header row listing the contract's columns, shop and community as JSON Lines. Entities
without records are not written at all (the loader handles missing folders).

Times follow the contract: CRM 'YYYY-MM-DD HH:MM:SS' wall time, shop ISO 8601 with +08:00,
community epoch milliseconds (UTC); the business timezone is Asia/Shanghai.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

BIN = Path(sys.executable).parent / "siyu"
TZ = "Asia/Shanghai"

CSV_COLUMNS = {
    "contacts": ["contact_id", "external_userid", "unionid", "name", "phone", "email", "city",
                 "source_channel", "owner_staff_id", "created_at", "updated_at", "is_deleted"],
    "contact_tags": ["contact_id", "tag_group", "tag_name", "action", "tagged_at", "staff_id"],
    "staff": ["staff_id", "name", "department", "role", "is_active", "updated_at"],
    "campaigns": ["campaign_id", "channel", "department", "start_date", "end_date",
                  "spend_cny", "updated_at"],
    "surveys": ["response_id", "contact_id", "score", "submitted_at"],
}


def epoch_ms(local: str) -> int:
    """'YYYY-MM-DD HH:MM:SS' in the business timezone -> epoch milliseconds (UTC)."""
    moment = datetime.strptime(local, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo(TZ))
    return int(moment.timestamp() * 1000)


def shop_time(local: str) -> str:
    """'YYYY-MM-DD HH:MM:SS' business wall time -> ISO 8601 with the +08:00 offset."""
    return local.replace(" ", "T") + "+08:00"


def staff(staff_id: str = "zhangwei", department: str = "sales",
          updated_at: str = "2025-03-01 08:00:00") -> dict:
    return {"staff_id": staff_id, "name": "张伟", "department": department, "role": "advisor",
            "is_active": "true", "updated_at": updated_at}


def contact(contact_id: str, *, phone: str = "", email: str = "", external_userid: str = "",
            unionid: str = "", created_at: str = "2025-03-01 10:00:00",
            updated_at: str | None = None, is_deleted: str = "false",
            owner_staff_id: str = "zhangwei", source_channel: str = "store_qr") -> dict:
    return {"contact_id": contact_id, "external_userid": external_userid, "unionid": unionid,
            "name": "李伟😊", "phone": phone, "email": email, "city": "上海",
            "source_channel": source_channel, "owner_staff_id": owner_staff_id,
            "created_at": created_at, "updated_at": updated_at or created_at,
            "is_deleted": is_deleted}


def order(order_id: str, buyer_id: str, *, buyer_phone: str | None = None,
          unionid: str | None = None, at: str = "2025-03-05 20:11:05",
          paid_amount: str = "269.00") -> dict:
    """A paid order snapshot; ``at`` is business wall time (created = paid = updated)."""
    t = shop_time(at)
    return {"order_id": order_id, "buyer_id": buyer_id, "buyer_phone": buyer_phone,
            "unionid": unionid, "channel": "mini_program", "status": "paid",
            "created_at": t, "paid_at": t, "updated_at": t, "currency": "CNY",
            "total_amount": paid_amount, "discount_amount": "0.00", "shipping_amount": "0.00",
            "paid_amount": paid_amount, "coupon_code": None,
            "items": [{"sku": "SK-1001", "product_name": "修护精华 30ml", "category": "serum",
                       "quantity": 1, "unit_price": paid_amount}]}


def customer(buyer_id: str, *, phone: str | None = None, unionid: str | None = None,
             registered_at: str = "2025-03-05 12:00:00", updated_at: str | None = None) -> dict:
    return {"buyer_id": buyer_id, "phone": phone, "unionid": unionid, "nickname": "小李",
            "registered_at": shop_time(registered_at),
            "updated_at": shop_time(updated_at or registered_at)}


def message(msgid: str, external_userid: str, *, at: str = "2025-03-07 15:00:00",
            staff_id: str = "zhangwei", msgtype: str = "text") -> dict:
    """A 1v1 message sent by the customer ``external_userid`` to ``staff_id``."""
    return {"msgid": msgid, "chat_type": "single", "roomid": None, "from": external_userid,
            "from_type": "customer", "tolist": [staff_id], "msgtime": epoch_ms(at),
            "msgtype": msgtype, "content": "这个精华敏感肌能用吗？" if msgtype == "text" else None}


class Landing:
    """Records per (source/entity, dt); ``write(root)`` lays them out as the contract says."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, date], list[dict]] = defaultdict(list)

    def add(self, entity: str, dt: date, *records: dict) -> Landing:
        self.records[(entity, dt)].extend(records)
        return self

    def write(self, root: Path) -> Path:
        for (entity, dt), rows in self.records.items():
            source, name = entity.split("/")
            folder = root / source / name / f"dt={dt.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            if source == "crm":
                buf = io.StringIO()
                w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS[name], lineterminator="\n")
                w.writeheader()
                w.writerows(rows)
                (folder / "part-1.csv").write_text(buf.getvalue(), encoding="utf-8")
            else:
                text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
                (folder / "part-1.jsonl").write_text(text, encoding="utf-8")
        return root


def siyu_run(landing: Path, warehouse: Path, as_of: date, work: Path,
             from_date: date | None = None) -> None:
    """`siyu run` on a landing zone and warehouse (a backfill with ``from_date``); fails the
    test with the tail of the log."""
    env = dict(os.environ)
    env.update(
        SIYU_LOG_DIR=str(work / "logs"),
        SIYU_TIMEZONE=TZ,
        # keep dbt's manifest/partial parse out of the repo's dbt_project/target
        DBT_TARGET_PATH=str(work / "dbt_target"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="False",
        # a hand-made landing holds made-up people, not personal data: the public demo salt
        # is fine here (siyu.pii.check_salt refuses it on a landing `siyu generate` did not write)
        SIYU_ALLOW_DEMO_SALT="1",
    )
    env.pop("SIYU_RAW_DIR", None)
    proc = subprocess.run(
        [str(BIN), "run", "--landing", str(landing), "--warehouse", str(warehouse),
         "--as-of", as_of.isoformat(),
         *(["--from", from_date.isoformat()] if from_date else [])],
        env=env, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"siyu run --as-of {as_of} failed:\n{(proc.stdout + proc.stderr)[-6000:]}")
    bad = quarantined(warehouse)
    assert not bad, f"the hand-made landing zone has rejected rows: {bad}"


def quarantined(warehouse: Path) -> list[tuple]:
    """Rows the loader rejected (a hand-made landing zone must have none)."""
    out = []
    for source in ("crm", "shop", "community"):
        raw = warehouse.parent / f"{warehouse.stem}_raw" / f"{source}.duckdb"
        if raw.exists():
            out += query(raw, "SELECT _file, _line, reason FROM quarantine")
    return out


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
