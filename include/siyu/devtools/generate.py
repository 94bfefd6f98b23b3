"""Realistic landing-zone generator (``siyu generate``), written from the landing contract (docs/landing-contract.md).

It simulates a private-domain operation day by day and streams each delivery day (``dt``) to
disk as soon as no later event can land in it, so memory holds only a few days of rows and
per-person state in numpy arrays. Deterministic for a seed (one ``numpy`` generator drawn in
a fixed order, gzip headers without time stamps).

What the data does, so the KPIs mean something:
* people are acquired over time through channels with campaign spend (crm/campaigns);
* most contacts are tagged within hours of creation, some later, some tags removed;
* purchase propensity has a long tail (most buyers buy once, a few many times); 618 (June
  1-18) and Double-11 (Nov 1-11) lift orders and chats; order snapshots are re-delivered as
  status moves created -> paid -> shipped -> completed, some are cancelled, some refunded
  (refunds land days later, some in two partial parts);
* customers open 1v1 inquiries of 1-3 messages; staff answer in 1-3 messages, fast in office
  hours, slowly at night and on weekends, service faster than sales, some never; bots reply;
  staff send outreaches; some messages are revoked, some re-pulled on a later day;
* content pushes reach group members and friends with 20-40 % open rates;
* NPS answers skew positive.

Quirks of the contract are all present (phone formats, BOM, Chinese text and emoji, time
formats per source, late data, gzip, several parts per day, empty files, a duplicated file,
columns added or reordered) and a small rate of each kind of bad input, listed in the manifest
(``_manifest.json`` at the landing root) with its file and line.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from .. import contract as C

TZ_OFFSET = timedelta(hours=8)  # Asia/Shanghai has no DST
TZ = timezone(TZ_OFFSET)

CHANNELS = ["douyin_ad", "store_qr", "referral", "official_account", "livestream", "tmall_card"]
CHANNEL_P = [0.28, 0.2, 0.14, 0.16, 0.14, 0.08]
SHOP_CHANNELS = ["mini_program", "tmall", "jd", "douyin_shop", "offline_store"]
SHOP_CHANNEL_P = [0.4, 0.2, 0.12, 0.16, 0.12]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛",
         "秀英", "明", "超", "霞", "平", "刚", "桂英", "婷", "雪"]
EMOJI = ["", "", "", "", "😊", "🌸", "✨", "🍀", "🐱"]
CITIES = ["上海", "北京, 朝阳区", "杭州, 西湖区", "广州", "深圳", "成都", "上海 \"浦东\"", "南京"]
PRODUCTS = [("SK-1001", "修护精华 30ml", "serum", "299.00"), ("SK-1002", "补水面膜 5片", "mask", "129.00"),
            ("SK-1003", "洁面乳 120g", "cleanser", "89.00"), ("SK-1004", "防晒霜 SPF50", "sunscreen", "159.00"),
            ("SK-1005", "眼霜 15ml", "eye_cream", "399.00"), ("SK-1006", "精华水 150ml", "toner", "219.00")]
TAGS = {
    "lifecycle": ["新客", "潜在客户", "老客", "高价值"],
    "interest": ["护肤", "彩妆", "抗老", "美白"],
    "need": ["补水", "控油", "修护", "祛痘"],
    "budget": ["100以下", "100-300", "300以上"],
    "skin_type": ["干皮", "油皮", "混合皮", "敏感肌"],
}
CUSTOMER_TEXT = ["这个精华敏感肌能用吗？", "请问什么时候发货？", "有优惠券吗😊", "我的订单到哪了",
                 "面膜怎么用比较好", "可以退换吗？", "直播间的价格还有吗", "谢谢！", "好的👌"]
STAFF_TEXT = ["您好，在的～", "可以用的，成分很温和", "今天下单明天发货哦", "给您发一张优惠券🎁",
              "已经帮您查询了，请稍等", "新品上市，欢迎了解", "周末有活动，记得来看看"]
BOT_TEXT = ["您好，客服稍后回复您～", "感谢关注，回复1查看活动"]
REFUND_REASONS = ["质量问题", "不想要了", "发错货", "过敏"]
DEPTS = {"marketing": 2, "operations": 3, "sales": 4, "service": 3}
DEPT_PREFIX = {"marketing": "mkt", "operations": "ops", "sales": "sales", "service": "svc"}
ROLES = {"marketing": "市场专员", "operations": "社群运营", "sales": "销售顾问", "service": "客服专员"}
EXTRA_COLUMNS = ["remark", "sync_batch", "wechat_nickname"]

BAD_KINDS_CSV = ("missing_key", "missing_time", "bad_time", "bad_enum")
BAD_KINDS_JSON = ("missing_key", "bad_time", "bad_enum", "malformed_json")


def _peak(day: date) -> float:
    if day.month == 6 and day.day <= 18:
        return 2.5 if day.day >= 16 else 1.6
    if day.month == 11 and day.day <= 11:
        return 3.0 if day.day >= 10 else 1.8
    return 1.0


class _Writer:
    """Buffers rows per (entity, dt) and writes a dt when no later event can land in it."""

    def __init__(self, out: Path, rng: np.random.Generator, bad_rate: float, gzip_rate: float,
                 parts: int):
        self.out, self.rng = out, rng
        self.bad_rate, self.gzip_rate, self.parts = bad_rate, gzip_rate, max(1, parts)
        self.buf: dict[tuple[str, date], list[dict]] = defaultdict(list)
        self.rows_written: dict[str, int] = defaultdict(int)
        self.bad_counts: dict[str, int] = defaultdict(int)
        self.bad_rows: list[dict] = []
        self.truncated: list[dict] = []
        self.files = self.bytes = self.gzip_files = self.empty_files = self.dup_files = 0
        self.drifted = 0

    def add(self, entity: str, dt: date, row: dict) -> None:
        self.buf[(entity, dt)].append(row)

    def flush(self, upto: date) -> None:
        for key in sorted(k for k in self.buf if k[1] <= upto):
            rows = self.buf.pop(key)
            self._write_partition(key[0], key[1], rows)

    # -- bad input ---------------------------------------------------------------------
    def _corrupt(self, ent: C.Entity, row: dict, kind: str) -> tuple[dict | str, str]:
        row = dict(row)
        times = [f.name for f in ent.fields if f.required and f.kind in
                 (C.CRM_TIME, C.ISO_TIME, C.EPOCH_MS)]
        enums = [f.name for f in ent.fields if f.enum]
        if kind == "missing_key":
            row[ent.key[0]] = "" if ent.fmt == "csv" else None
        elif kind == "missing_time" and times:
            row[times[-1]] = ""
        elif kind == "bad_time" and times:
            bad = {C.CRM_TIME: "2025/03/01 10:00", C.ISO_TIME: "2025-13-01T10:00:00+08:00",
                   C.EPOCH_MS: "abc"}
            row[times[-1]] = bad[ent.field(times[-1]).kind]
        elif kind == "bad_enum" and enums:
            row[enums[0]] = "unknown_value"
        elif kind == "bad_amount":
            amt = [f.name for f in ent.fields if f.kind == C.AMOUNT and row.get(f.name)]
            row[amt[0]] = "12.3.4"
        elif kind == "time_without_offset":
            row["updated_at" if "updated_at" in row else times[-1]] = "2025-03-01T10:00:00"
        elif kind == "malformed_json":
            text = json.dumps(row, ensure_ascii=False)
            return text[: max(5, len(text) // 2)], kind
        else:
            return row, ""
        return row, kind

    def _kinds(self, ent: C.Entity) -> list[str]:
        if ent.fmt == "csv":
            kinds = ["missing_key", "bad_time", "missing_time"]
            if any(f.enum for f in ent.fields):
                kinds.append("bad_enum")
            return kinds
        kinds = list(BAD_KINDS_JSON)
        if not any(f.enum for f in ent.fields):
            kinds.remove("bad_enum")
        if ent.source == "shop":
            kinds.append("time_without_offset")
            if any(f.kind == C.AMOUNT for f in ent.fields):
                kinds.append("bad_amount")
        return kinds

    # -- files ------------------------------------------------------------------------
    def _write_partition(self, entity: str, dt: date, rows: list[dict]) -> None:
        ent = C.BY_PATH[entity]
        rng = self.rng
        folder = self.out / ent.source / ent.name / f"dt={dt.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        n_parts = int(rng.integers(1, self.parts + 1)) if len(rows) > 3 else 1
        assign = rng.integers(0, n_parts, size=len(rows))
        # bad rows: each row independently, one kind chosen at random
        bad = rng.random(len(rows)) < self.bad_rate
        kinds = self._kinds(ent)
        ext = "csv" if ent.fmt == "csv" else "jsonl"
        for part in range(n_parts):
            part_rows = [(r, b) for r, b, a in zip(rows, bad, assign) if a == part]
            is_gz = rng.random() < self.gzip_rate
            name = f"part-{part + 1}.{ext}" + (".gz" if is_gz else "")
            lines: list[str] = []
            bad_here: list[tuple[int, str]] = []
            if ent.fmt == "csv":
                cols = list(ent.columns)
                extra = None
                if rng.random() < 0.05:  # the source reorders / adds columns
                    self.drifted += 1
                    if rng.random() < 0.5:
                        cols = list(rng.permutation(cols))
                    else:
                        extra = EXTRA_COLUMNS[int(rng.integers(len(EXTRA_COLUMNS)))]
                        cols.insert(int(rng.integers(1, len(cols))), extra)
                sio = io.StringIO()
                w = csv.writer(sio, lineterminator="\n")
                w.writerow(cols)
                for r, b in part_rows:
                    if b:
                        r, kind = self._corrupt(ent, r, kinds[int(rng.integers(len(kinds)))])
                        if kind:
                            bad_here.append((len(lines) + 2, kind))
                    vals = {**r, extra: f"批次{int(rng.integers(100))}"} if extra else r
                    w.writerow(["" if vals.get(c) is None else vals.get(c) for c in cols])
                    lines.append("")
                text = ("\ufeff" if rng.random() < 0.3 else "") + sio.getvalue()
                n_data = len(part_rows)
            else:
                out = []
                extra_key = rng.random() < 0.05
                for r, b in part_rows:
                    line = None
                    if b:
                        mutated, kind = self._corrupt(ent, r, kinds[int(rng.integers(len(kinds)))])
                        if kind:
                            bad_here.append((len(out) + 1, kind))
                        if isinstance(mutated, str):
                            line = mutated
                        else:
                            r = mutated
                    if line is None:
                        if extra_key:
                            r = {**r, "sync_batch": "b1"}
                        line = json.dumps(r, ensure_ascii=False)
                    out.append(line)
                text = "".join(x + "\n" for x in out)
                n_data = len(out)
            data = text.encode("utf-8")
            path = folder / name
            truncate = is_gz and n_data > 20 and rng.random() < self.bad_rate * 20
            if is_gz:
                data = gzip.compress(data, mtime=0)
                self.gzip_files += 1
                if truncate:
                    data = data[: len(data) * 2 // 3]
            path.write_bytes(data)
            self.files += 1
            self.bytes += len(data)
            self.rows_written[entity] += n_data
            rel = path.relative_to(self.out).as_posix()
            if truncate:
                import zlib

                dec = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
                complete = dec.count(b"\n") - (1 if ent.fmt == "csv" else 0)
                self.truncated.append({"file": rel, "complete_lines": complete})
                lost_from = dec.count(b"\n") + 1  # physical line where the loss starts
                bad_here = [(ln, k) for ln, k in bad_here if ln < lost_from]
            for ln, kind in bad_here:
                self.bad_rows.append({"file": rel, "line": ln, "entity": entity, "kind": kind})
                self.bad_counts[f"{entity}:{kind}"] += 1
        if rng.random() < 0.01:
            (folder / f"part-{n_parts + 1}.{ext}").write_bytes(b"")
            self.empty_files += 1
            self.files += 1

    def duplicate_one_file(self) -> None:
        """Deliver one plain file twice (the source re-sent it), as the landing contract warns."""
        candidates = sorted(self.out.glob("community/messages/dt=*/part-1.jsonl"))
        candidates = [p for p in candidates if p.stat().st_size > 0]
        if not candidates:
            return
        src = candidates[len(candidates) // 2]
        dup = src.with_name("part-1-dup.jsonl")
        dup.write_bytes(src.read_bytes())
        rel = src.relative_to(self.out).as_posix()
        for b in [b for b in self.bad_rows if b["file"] == rel]:
            self.bad_rows.append({**b, "file": dup.relative_to(self.out).as_posix()})
            self.bad_counts[f"{b['entity']}:{b['kind']}"] += 1
        self.rows_written["community/messages"] += sum(1 for _ in src.open("rb"))
        self.files += 1
        self.dup_files += 1
        self.bytes += dup.stat().st_size


def _fmt_phone(rng: np.random.Generator, phone: str) -> str:
    k = int(rng.integers(6))
    if k == 0:
        return f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    if k == 1:
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    if k == 2:
        return f"86-{phone}"
    if k == 3:
        return f"0086{phone}"
    return phone


def generate(out: Path | str, users: int, days: int, start: date | str, seed: int,
             bad_rate: float = 0.001, gzip_rate: float = 0.15, parts: int = 3,
             progress: Callable[[str], None] | None = None) -> dict:
    """Write a landing zone under ``out``; return the manifest (also out/_manifest.json).

    The steps run in a fixed order, each drawing from the one random generator: that order is
    what makes a seed's landing zone the same byte for byte (``_Simulation``)."""
    t0 = time.perf_counter()
    out = Path(out)
    start = date.fromisoformat(start) if isinstance(start, str) else start
    if users < 1 or days < 1:
        raise ValueError("users and days must be positive")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.Generator(np.random.PCG64(seed))
    w = _Writer(out, rng, bad_rate, gzip_rate, parts)
    sim = _Simulation(w, rng, users, days, start)
    sim.write_staff()
    sim.draw_people()
    sim.contacts_before_window()
    sim.campaigns()
    sim.groups()
    for d in range(days):
        day = sim.simulate_day(d)
        w.flush(day)
        if progress and (d % 30 == 29 or d == days - 1):
            progress(f"  generated {d + 1}/{days} days ({day})")
    w.flush(sim.end + timedelta(days=60))
    w.duplicate_one_file()
    manifest = {
        "args": {"users": users, "days": days, "start": start.isoformat(), "seed": seed,
                 "parts": parts, "bad_rate": bad_rate, "gzip_rate": gzip_rate},
        "as_of": sim.end.isoformat(),
        "timezone": "Asia/Shanghai",
        "rows_written": dict(sorted(w.rows_written.items())),
        "bad_rows_injected": dict(sorted(w.bad_counts.items())),
        "bad_rows": w.bad_rows,
        "truncated_files": w.truncated,
        "file_stats": {"duplicated_files": w.dup_files, "gzip_files": w.gzip_files,
                       "empty_files": w.empty_files, "files_with_column_changes": w.drifted},
        "files": w.files,
        "bytes": w.bytes,
        "staff": len(sim.staff),
        "groups": sim.n_groups,
        "front_desk_phones": ["19900001111"],
        "placeholder_phone": "13800000000",
        "seconds_generate": round(time.perf_counter() - t0, 2),
    }
    (out / "_manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return manifest


def _crm_ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _at(day: date, seconds: float) -> datetime:
    return datetime(day.year, day.month, day.day) + timedelta(seconds=float(seconds))


def _pid_str(i: int) -> str:
    return f"{i:08d}"


def _wm(i: int) -> str:
    return f"wm{(i * 2654435761) % (16**16):016x}"


class _Simulation:
    """The operation simulated day by day: the staff, the people (their traits drawn once, as
    numpy arrays), and what happens each day, written through a ``_Writer``. Every step draws
    from the one generator ``rng``; ``generate`` calls them in a fixed order."""

    def __init__(self, w: _Writer, rng: np.random.Generator, users: int, days: int,
                 start: date) -> None:
        self.w, self.rng, self.n, self.days, self.start = w, rng, users, days, start
        self.end = start + timedelta(days=days - 1)
        w.end = self.end
        self.staff: list[tuple[str, str]] = []
        for dept, n in DEPTS.items():
            for i in range(n):
                self.staff.append((f"{DEPT_PREFIX[dept]}_{i:03d}", dept))
        self.owners = [s for s, d in self.staff if d in ("sales", "service", "operations")]
        self.svc_sales = [s for s, d in self.staff if d in ("sales", "service")]
        self.dept_of = dict(self.staff)
        self.contact_created: dict[int, datetime] = {}
        self.known: list[int] = []  # people with a CRM contact so far
        self.n_groups = max(2, users // 800)
        self.group_members: dict[int, list[int]] = defaultdict(list)
        self.order_seq = self.msg_seq = self.push_seq = 0
        self.buyer_seen: set[int] = set()

    # ------------------------------------------------------------ time stamps (some draw)

    def shop_ts(self, t: datetime) -> str:
        if self.rng.random() < 0.05:  # same instant, another offset
            return (t - TZ_OFFSET).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        return t.strftime("%Y-%m-%dT%H:%M:%S+08:00")

    def epoch(self, t: datetime) -> int:
        return int((t - TZ_OFFSET).replace(tzinfo=timezone.utc).timestamp() * 1000) + int(
            self.rng.integers(0, 1000))

    def late(self, day: date, p: float = 0.08) -> date:
        d = day + timedelta(days=int(self.rng.integers(1, 4))) if self.rng.random() < p else day
        return min(d, self.end) if d > self.end else d

    def dt_of(self, t: datetime) -> date:
        return self.late(t.date())

    # ------------------------------------------------------------ staff and people

    def write_staff(self) -> None:
        start = self.start
        for sid, dept in self.staff:
            self.w.add("crm/staff", start, {
                "staff_id": sid, "name": SURNAMES[hash_idx(sid) % len(SURNAMES)]
                + GIVEN[hash_idx(sid) % len(GIVEN)], "department": dept, "role": ROLES[dept],
                "is_active": "true", "updated_at": _crm_ts(_at(start, 3600 * 9))})

    def draw_people(self) -> None:
        rng, n, days = self.rng, self.n, self.days
        self.acq_day = np.floor(rng.beta(1.2, 1.0, n) * days * 1.25).astype(int) - days // 4
        self.has_contact = rng.random(n) < 0.85
        self.channel = rng.choice(len(CHANNELS), size=n, p=CHANNEL_P)
        self.owner = rng.integers(0, len(self.owners), size=n)
        self.phone_num = rng.integers(130_0000_0000, 199_9999_9999, size=n)
        self.phone_bad = rng.random(n) < 0.01
        self.has_phone = rng.random(n) < 0.85
        self.has_wm = rng.random(n) < 0.9
        self.has_union = rng.random(n) < 0.5
        self.has_email = rng.random(n) < 0.2
        self.placeholder = np.zeros(n, bool)
        self.placeholder[rng.choice(n, size=min(60, max(1, n // 5)), replace=False)] = True
        self.buy_rate = np.where(rng.random(n) < 0.55, rng.lognormal(-4.2, 1.0, n), 0.0)
        self.chat_rate = rng.lognormal(-3.6, 0.8, n)
        self.walk_in = rng.random(n) < 0.03
        self.name_idx = rng.integers(0, 10**6, size=n)

    def phone_of(self, i: int) -> str | None:
        if self.placeholder[i]:
            return "13800000000"
        if not self.has_phone[i]:
            return None
        p = str(self.phone_num[i])
        return p[:10] if self.phone_bad[i] else p

    def display_name(self, i: int) -> str:
        k = int(self.name_idx[i])
        return SURNAMES[k % len(SURNAMES)] + GIVEN[(k // 31) % len(GIVEN)] + EMOJI[k % len(EMOJI)]

    def contact_row(self, i: int, created: datetime, updated: datetime, deleted: bool) -> dict:
        p = self.phone_of(i)
        email = f" {'Li' if i % 2 else 'WANG'}.{i}@Example.COM " if self.has_email[i] else ""
        return {
            "contact_id": f"C{_pid_str(i)}", "external_userid": _wm(i) if self.has_wm[i] else "",
            "unionid": f"o6_{i:012x}PfL2M" if self.has_union[i] else "",
            "name": self.display_name(i),
            "phone": _fmt_phone(self.rng, p) if p else "", "email": email,
            "city": CITIES[i % len(CITIES)], "source_channel": CHANNELS[self.channel[i]],
            "owner_staff_id": self.owners[self.owner[i]], "created_at": _crm_ts(created),
            "updated_at": _crm_ts(updated), "is_deleted": "true" if deleted else "false",
        }

    def tag_new_contact(self, i: int, created: datetime) -> None:
        """Tag events of a new contact: most within 6 hours, most contacts in 3-4 groups."""
        rng = self.rng
        n_groups_tagged = int(rng.choice([1, 2, 3, 4], p=[0.08, 0.12, 0.35, 0.45]))
        for g in ("lifecycle", "interest", "need", "skin_type")[:n_groups_tagged]:
            delay = rng.exponential(3 * 3600) if rng.random() < 0.75 else rng.uniform(6, 96) * 3600
            t = created + timedelta(seconds=float(delay))
            if t.date() > self.end:
                continue
            auto = rng.random() < 0.3
            # tags of contacts made before the window arrive with them in the first delivery
            self.w.add("crm/contact_tags", self.dt_of(t) if t.date() >= self.start else self.start, {
                "contact_id": f"C{_pid_str(i)}", "tag_group": g,
                "tag_name": TAGS[g][int(rng.integers(len(TAGS[g])))], "action": "add",
                "tagged_at": _crm_ts(t), "staff_id": "" if auto else self.owners[self.owner[i]]})

    def contacts_before_window(self) -> None:
        """Contacts acquired before the window arrive in the first delivery."""
        start = self.start
        for i in np.nonzero(self.has_contact & (self.acq_day < 0))[0]:
            created = _at(start + timedelta(days=int(self.acq_day[i])),
                          self.rng.uniform(8 * 3600, 22 * 3600))
            self.contact_created[int(i)] = created
            self.known.append(int(i))
            self.w.add("crm/contacts", start, self.contact_row(int(i), created, created, False))
            self.tag_new_contact(int(i), created)

    def campaigns(self) -> None:
        """One campaign per channel and month of the window."""
        rng, start, end, n = self.rng, self.start, self.end, self.n
        month = date(start.year, start.month, 1)
        k = 0
        while month <= end:
            nxt = date(month.year + month.month // 12, month.month % 12 + 1, 1)
            for ch in CHANNELS:
                if ch in ("referral",):
                    continue
                s_day = month + timedelta(days=int(rng.integers(0, 5)))
                e_day = min(nxt - timedelta(days=1), s_day + timedelta(days=int(rng.integers(10, 25))))
                spend = float(rng.uniform(2000, 20000)) * max(1, n / 5000) * _peak(s_day)
                self.w.add("crm/campaigns", max(start, month - timedelta(days=1)) if month > start else start, {
                    "campaign_id": f"CMP{k:05d}", "channel": ch, "department": "marketing",
                    "start_date": s_day.isoformat(), "end_date": e_day.isoformat(),
                    "spend_cny": f"{spend:.2f}", "updated_at": _crm_ts(_at(max(start, month - timedelta(days=1)) if month > start else start, 36000))})
                k += 1
            month = nxt

    def groups(self) -> None:
        for g in range(self.n_groups):
            created = _at(self.start - timedelta(days=30), 3600 * 10 + g)
            self.w.add("community/groups", self.start, {
                "roomid": f"wr{g:09d}", "name": f"护肤交流群{g + 1}",
                "owner_staff_id": self.owners[g % len(self.owners)], "created_at": self.epoch(created),
                "category": ["livestream", "vip", "new_customer"][g % 3], "updated_at": self.epoch(created)})

    # ------------------------------------------------------------ one day

    def simulate_day(self, d: int) -> date:
        """Everything that happens on day ``d`` of the window; returns that day."""
        day = self.start + timedelta(days=d)
        peak = _peak(day)
        weekend = day.weekday() >= 5
        self.new_contacts(day, d)
        self.contact_updates(day)
        if d % 30 == 15:  # a staff member changes department version
            self.staff_change(day)
        active = self.acq_day <= d
        self.orders(day, active, peak, weekend)
        self.chats(day, active, peak, weekend)
        self.outreaches(day, active)
        self.group_chat(day)
        self.content(day, active)
        self.surveys(day, d)
        return day

    def new_contacts(self, day: date, d: int) -> None:
        rng, w, end = self.rng, self.w, self.end
        new = np.nonzero(self.has_contact & (self.acq_day == d))[0]
        for i in new:
            i = int(i)
            created = _at(day, rng.uniform(7 * 3600, 23.9 * 3600))
            self.contact_created[i] = created
            self.known.append(i)
            w.add("crm/contacts", self.dt_of(created), self.contact_row(i, created, created, False))
            self.tag_new_contact(i, created)
            if self.has_wm[i] and rng.random() < 0.4:  # joins a group
                g = int(rng.integers(self.n_groups))
                self.group_members[g].append(i)
                t = created + timedelta(minutes=float(rng.uniform(1, 600)))
                if t.date() <= end:
                    w.add("community/group_members", self.dt_of(t), {
                        "roomid": f"wr{g:09d}", "member_id": _wm(i), "member_type": "customer",
                        "action": "join", "event_time": self.epoch(t)})

    def contact_updates(self, day: date) -> None:
        rng, w, known = self.rng, self.w, self.known
        if not known:
            return
        for i in rng.choice(known, size=min(len(known), max(1, len(known) // 300)), replace=False):
            i = int(i)
            t = _at(day, rng.uniform(9 * 3600, 20 * 3600))
            if t <= self.contact_created[i]:
                continue
            deleted = rng.random() < 0.1
            w.add("crm/contacts", self.dt_of(t), self.contact_row(i, self.contact_created[i], t, deleted))
            if rng.random() < 0.3:  # a tag removed
                g = "interest"
                w.add("crm/contact_tags", self.dt_of(t), {
                    "contact_id": f"C{_pid_str(i)}", "tag_group": g,
                    "tag_name": TAGS[g][int(rng.integers(len(TAGS[g])))], "action": "remove",
                    "tagged_at": _crm_ts(t), "staff_id": self.owners[self.owner[i]]})

    def staff_change(self, day: date) -> None:
        sid, dept = self.staff[int(self.rng.integers(len(self.staff)))]
        self.w.add("crm/staff", day, {"staff_id": sid, "name": "员工" + sid[-3:], "department": dept,
                   "role": ROLES[dept], "is_active": "true",
                   "updated_at": _crm_ts(_at(day, 3600 * 11))})

    def orders(self, day: date, active: np.ndarray, peak: float, weekend: bool) -> None:
        lam = self.buy_rate * active * peak * (1.3 if weekend else 1.0)
        n_orders = self.rng.poisson(lam)
        for i in np.nonzero(n_orders)[0]:
            i = int(i)
            for _ in range(int(n_orders[i])):
                self.order_seq += 1
                _order(self.w, self.rng, i, self.order_seq, day, self.end, _at, self.shop_ts,
                       self.dt_of, self.phone_of, self.walk_in, self.has_union, self.buyer_seen)

    def chats(self, day: date, active: np.ndarray, peak: float, weekend: bool) -> None:
        """1v1 inquiries and their answers."""
        chatting = np.nonzero((self.rng.random(self.n) < self.chat_rate * peak * (0.7 if weekend else 1.0))
                              & self.has_wm & active & self.has_contact)[0]
        for i in chatting:
            self.msg_seq = _conversation(self.w, self.rng, int(i), self.msg_seq, day, self.end, _at,
                                         self.epoch, self.dt_of, _wm,
                                         self.owners[self.owner[int(i)]], self.svc_sales,
                                         self.dept_of)

    def outreaches(self, day: date, active: np.ndarray) -> None:
        """Staff write to their contacts; about a third answer."""
        rng, end, n = self.rng, self.end, self.n
        has_wm, has_contact = self.has_wm, self.has_contact
        for i in rng.choice(np.nonzero(has_wm & active & has_contact)[0] if (has_wm & active & has_contact).any() else np.array([0]),
                            size=max(1, n // 400)):
            i = int(i)
            if not (has_wm[i] and active[i] and has_contact[i]):
                continue
            sid = self.owners[self.owner[i]]
            t = _at(day, rng.uniform(9 * 3600, 19 * 3600))
            for _ in range(int(rng.integers(1, 3))):
                self.msg_seq += 1
                t += timedelta(seconds=float(rng.uniform(5, 120)))
                _msg(self.w, rng, self.msg_seq, "single", None, sid, "staff", [_wm(i)], t,
                     self.epoch, self.dt_of, STAFF_TEXT)
            if rng.random() < 0.35:
                t2 = t + timedelta(hours=float(rng.exponential(10)))
                if t2.date() <= end:
                    self.msg_seq += 1
                    _msg(self.w, rng, self.msg_seq, "single", None, _wm(i), "customer", [sid], t2,
                         self.epoch, self.dt_of, CUSTOMER_TEXT)

    def group_chat(self, day: date) -> None:
        rng = self.rng
        for g, members in self.group_members.items():
            if not members:
                continue
            speakers = rng.choice(members, size=min(len(members), int(rng.poisson(1 + len(members) * 0.05))),
                                  replace=False)
            for i in speakers:
                self.msg_seq += 1
                t = _at(day, rng.uniform(8 * 3600, 23 * 3600))
                _msg(self.w, rng, self.msg_seq, "group", f"wr{g:09d}", _wm(int(i)), "customer", [], t,
                     self.epoch, self.dt_of, CUSTOMER_TEXT)
            if rng.random() < 0.02 and members:  # someone leaves
                i = members.pop(int(rng.integers(len(members))))
                t = _at(day, rng.uniform(8 * 3600, 23 * 3600))
                self.w.add("community/group_members", self.dt_of(t), {
                    "roomid": f"wr{g:09d}", "member_id": _wm(i), "member_type": "customer",
                    "action": "leave", "event_time": self.epoch(t)})

    def content(self, day: date, active: np.ndarray) -> None:
        """Content pushes and their delivered / opened / clicked events."""
        rng, w, end = self.rng, self.w, self.end
        epoch, dt_of = self.epoch, self.dt_of
        reachable = np.nonzero(self.has_wm & active & self.has_contact)[0]
        for _ in range(int(rng.integers(1, 3))):
            if len(reachable) == 0:
                break
            self.push_seq += 1
            ch = ["group", "moments", "1v1"][int(rng.integers(3))]
            sid = [s for s, dd in self.staff if dd == "operations"][int(rng.integers(3))]
            t = _at(day, rng.uniform(10 * 3600, 21 * 3600))
            pid = f"PU{self.push_seq:07d}"
            w.add("community/content_pushes", dt_of(t), {
                "push_id": pid, "content_id": f"CT{int(rng.integers(1000))}",
                "title": ["新品上市", "直播预告", "护肤小课堂", "会员福利"][int(rng.integers(4))],
                "channel": ch, "staff_id": sid, "sent_time": epoch(t)})
            open_p = rng.uniform(0.2, 0.4)
            for i in rng.choice(reachable, size=min(len(reachable), max(3, len(reachable) // 20)),
                                replace=False):
                te = t + timedelta(seconds=float(rng.uniform(1, 60)))
                if rng.random() < 0.95:
                    w.add("community/content_events", dt_of(te), {"push_id": pid,
                          "external_userid": _wm(int(i)), "event": "delivered", "event_time": epoch(te)})
                if rng.random() < open_p:
                    to = te + timedelta(minutes=float(rng.exponential(90)))
                    if to.date() <= end:
                        w.add("community/content_events", dt_of(to), {"push_id": pid,
                              "external_userid": _wm(int(i)), "event": "opened", "event_time": epoch(to)})
                        if rng.random() < 0.25:
                            tc = to + timedelta(seconds=float(rng.uniform(3, 300)))
                            w.add("community/content_events", dt_of(tc), {"push_id": pid,
                                  "external_userid": _wm(int(i)), "event": "clicked", "event_time": epoch(tc)})

    def surveys(self, day: date, d: int) -> None:
        """NPS answers, skewed positive."""
        rng, known = self.rng, self.known
        for i in rng.choice(known, size=min(len(known), max(0, int(rng.poisson(len(known) / 250)))),
                            replace=False) if known else []:
            t = _at(day, rng.uniform(9 * 3600, 22 * 3600))
            score = int(rng.choice(11, p=[.02, .02, .02, .03, .03, .06, .07, .13, .17, .2, .25]))
            self.w.add("crm/surveys", self.dt_of(t), {"response_id": f"S{d:04d}_{int(i)}", "contact_id": f"C{_pid_str(int(i))}",
                       "score": score, "submitted_at": _crm_ts(t)})


def hash_idx(text: str) -> int:
    """A stable small hash (Python's hash() is salted per process)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(text))


def _order(w, rng, i, seq, day, end, at, shop_ts, dt_of, phone_of, walk_in, has_union,
           buyer_seen) -> None:
    created = at(day, rng.uniform(0, 86399))
    sku, pname, cat, price = PRODUCTS[int(rng.integers(len(PRODUCTS)))]
    qty = int(rng.integers(1, 4))
    total = float(price) * qty
    discount = round(total * float(rng.choice([0, 0, 0.1, 0.2])), 2)
    paid_amt = total - discount
    ch = "offline_store" if walk_in[i] else SHOP_CHANNELS[int(rng.choice(5, p=SHOP_CHANNEL_P))]
    phone = "19900001111" if walk_in[i] else phone_of(i)
    base = {
        "order_id": f"T{seq:09d}", "buyer_id": f"B{i:08d}", "buyer_phone": phone,
        "unionid": f"o6_{i:012x}PfL2M" if has_union[i] and rng.random() < 0.8 else None,
        "channel": ch, "status": "created", "created_at": shop_ts(created), "paid_at": None,
        "updated_at": shop_ts(created), "currency": "CNY", "total_amount": f"{total:.2f}",
        "discount_amount": f"{discount:.2f}", "shipping_amount": "0.00", "paid_amount": "0.00",
        "coupon_code": "NEW10" if discount else None,
        "items": [{"sku": sku, "product_name": pname, "category": cat, "quantity": qty,
                   "unit_price": price}],
    }
    if i not in buyer_seen:
        buyer_seen.add(i)
        w.add("shop/customers", dt_of(created), {
            "buyer_id": base["buyer_id"], "phone": phone, "unionid": base["unionid"],
            "nickname": "买家" + str(i % 1000) + EMOJI[i % len(EMOJI)],
            "registered_at": shop_ts(created), "updated_at": shop_ts(created)})
    w.add("shop/orders", dt_of(created), dict(base))
    r = rng.random()
    if r < 0.08:  # never paid: cancelled later
        t = created + timedelta(hours=float(rng.uniform(1, 30)))
        if t.date() <= end:
            w.add("shop/orders", dt_of(t), {**base, "status": "cancelled", "updated_at": shop_ts(t)})
        return
    if r < 0.11:  # still unpaid
        return
    paid = created + timedelta(seconds=float(rng.uniform(20, 900)))
    if paid.date() > end:
        return
    snap = {**base, "status": "paid", "paid_at": shop_ts(paid), "updated_at": shop_ts(paid),
            "paid_amount": f"{paid_amt:.2f}"}
    w.add("shop/orders", dt_of(paid), snap)
    t = paid
    for status, hours in (("shipped", (4, 48)), ("completed", (72, 200))):
        t = t + timedelta(hours=float(rng.uniform(*hours)))
        if t.date() > end:
            return
        w.add("shop/orders", dt_of(t), {**snap, "status": status, "updated_at": shop_ts(t)})
    if rng.random() < 0.07:  # refunds, days later; full or in two partial parts
        t = t + timedelta(days=float(rng.uniform(1, 8)))
        if t.date() > end:
            return
        full = rng.random() < 0.5
        parts = [paid_amt] if full else [round(paid_amt * 0.3, 2), round(paid_amt * 0.2, 2)]
        for k, amt in enumerate(parts):
            tk = t + timedelta(hours=k * 30)
            if tk.date() > end:
                break
            w.add("shop/refunds", dt_of(tk), {
                "refund_id": f"R{seq:09d}{k}", "order_id": base["order_id"], "amount": f"{amt:.2f}",
                "refunded_at": shop_ts(tk), "reason": REFUND_REASONS[int(rng.integers(4))]})
        if full:
            w.add("shop/orders", dt_of(t), {**snap, "status": "refunded", "updated_at": shop_ts(t)})


def _msg(w, rng, seq, chat_type, roomid, sender, sender_type, tolist, t, epoch, dt_of, texts,
         revoke_p: float = 0.01) -> None:
    kind = "text" if rng.random() < 0.75 else ["image", "voice", "video", "link", "miniprogram",
                                                 "file", "emotion"][int(rng.integers(7))]
    if rng.random() < revoke_p:
        kind = "revoke"
    row = {"msgid": f"{seq:010d}_{int(rng.integers(1, 9))}", "chat_type": chat_type,
           "roomid": roomid, "from": sender, "from_type": sender_type, "tolist": tolist,
           "msgtime": epoch(t), "msgtype": kind,
           "content": texts[int(rng.integers(len(texts)))] if kind == "text" else None}
    dt = dt_of(t)
    w.add("community/messages", dt, row)
    if rng.random() < 0.01 and dt < w.end:  # re-pulled the next day
        w.add("community/messages", dt + timedelta(days=1), row)


def _conversation(w, rng, i, seq, day, end, at, epoch, dt_of, wm, owner_sid, svc_sales,
                  dept_of) -> int:
    """A customer inquiry of 1-3 messages, maybe a bot reply, then (usually) a staff answer."""
    hour = float(rng.choice(24, p=_HOUR_P))
    t = at(day, hour * 3600 + rng.uniform(0, 3599))
    sid = owner_sid if rng.random() < 0.7 else svc_sales[int(rng.integers(len(svc_sales)))]
    for _ in range(int(rng.integers(1, 4))):
        seq += 1
        _msg(w, rng, seq, "single", None, wm(i), "customer", [sid], t, epoch, dt_of, CUSTOMER_TEXT)
        t += timedelta(seconds=float(rng.uniform(5, 90)))
    if rng.random() < 0.3:
        seq += 1
        _msg(w, rng, seq, "single", None, sid, "bot", [wm(i)], t + timedelta(seconds=2), epoch,
             dt_of, BOT_TEXT, revoke_p=0)
    if rng.random() < 0.08:
        return seq  # never answered
    office = 9 <= t.hour < 19 and t.weekday() < 5
    median = 600 if office else 5 * 3600
    if dept_of.get(sid) == "service":
        median /= 2
    t += timedelta(seconds=float(rng.lognormal(np.log(median), 1.0)))
    for _ in range(int(rng.integers(1, 4))):
        if t.date() > end:
            break
        seq += 1
        _msg(w, rng, seq, "single", None, sid, "staff", [wm(i)], t, epoch, dt_of, STAFF_TEXT)
        t += timedelta(seconds=float(rng.uniform(10, 120)))
    return seq


_HOUR_W = np.array([1, .5, .3, .2, .2, .3, .8, 2, 4, 6, 7, 7, 6, 6, 6, 6, 6, 6, 6, 7, 8, 8, 6, 3])
_HOUR_P = _HOUR_W / _HOUR_W.sum()
