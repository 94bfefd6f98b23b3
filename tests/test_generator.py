"""The generator follows the landing-zone contract, field by field and format by format."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import zlib
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from siyu import contract as C
from siyu import loader
from siyu.devtools.generate import generate

CRM_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
SHOP_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
AMOUNT = re.compile(r"^\d+\.\d\d$")
SH = timezone(timedelta(hours=8))


def read_text(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
    return data.decode("utf-8")


def normalise_phone(value: str) -> str | None:
    digits = re.sub(r"[\s\-()]", "", value)
    digits = re.sub(r"^(\+86|0086|86)(\d{11})$", r"\2", digits)
    return digits if re.fullmatch(r"1\d{10}", digits) else None


@pytest.fixture(scope="module")
def zone(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "landing"
    manifest = generate(out, users=500, days=45, start="2025-05-20", seed=5, bad_rate=0.01)
    bad = {(b["file"], b["line"]) for b in manifest["bad_rows"]}
    truncated = {t["file"]: t["complete_lines"] for t in manifest["truncated_files"]}
    rows: dict[str, list[tuple[str, int, date, dict | None]]] = {e.path: [] for e in C.ENTITIES}
    for ent in C.ENTITIES:
        for f in sorted((out / ent.source / ent.name).glob("dt=*/*")):
            rel = f.relative_to(out).as_posix()
            dt = date.fromisoformat(f.parent.name[3:])
            text = read_text(f)
            if rel in truncated:  # keep complete lines only
                text = text[: text.rfind("\n") + 1]
            if ent.fmt == "csv":
                text = text.lstrip("\ufeff")
                for i, rec in enumerate(csv.DictReader(io.StringIO(text)), start=2):
                    if (rel, i) not in bad:
                        rows[ent.path].append((rel, i, dt, rec))
            else:
                for i, line in enumerate(text.splitlines(), start=1):
                    if (rel, i) not in bad and line.strip():
                        rows[ent.path].append((rel, i, dt, json.loads(line)))
    return out, manifest, rows


def test_every_entity_present(zone):
    _, _, rows = zone
    for path, found in rows.items():
        assert found, f"no rows for {path}"


def test_csv_headers_are_contract_columns_plus_allowed_extras(zone):
    out, _, _ = zone
    seen_bom = seen_reordered = 0
    for ent in (e for e in C.ENTITIES if e.fmt == "csv"):
        for f in (out / ent.source / ent.name).glob("dt=*/*"):
            text = read_text(f)
            if not text:
                continue
            seen_bom += text.startswith("\ufeff")
            header = next(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
            assert set(ent.columns) <= set(header)
            assert set(header) - set(ent.columns) <= {"remark", "sync_batch", "wechat_nickname"}
            seen_reordered += [c for c in header if c in ent.columns] != list(ent.columns)
    assert seen_bom > 0
    assert seen_reordered > 0


def test_json_keys_and_types(zone):
    _, _, rows = zone
    for ent in (e for e in C.ENTITIES if e.fmt == "jsonl"):
        for _, _, _, obj in rows[ent.path]:
            assert set(ent.columns) <= set(obj), (ent.path, obj)
            for f in ent.fields:
                v = obj[f.name]
                if f.kind == C.EPOCH_MS:
                    assert isinstance(v, int) and 1.5e12 < v < 2e12
                elif f.kind == C.ISO_TIME and v is not None:
                    assert SHOP_TIME.match(v), v
                elif f.kind == C.AMOUNT and v is not None:
                    assert AMOUNT.match(v), v
                if f.enum:
                    assert v in f.enum
                if f.required:
                    assert v not in (None, "")


def test_crm_fields(zone):
    _, _, rows = zone
    for ent in (e for e in C.ENTITIES if e.fmt == "csv"):
        for _, _, _, rec in rows[ent.path]:
            for f in ent.fields:
                v = rec[f.name]
                if f.kind == C.CRM_TIME and v:
                    assert CRM_TIME.match(v), v
                if f.enum:
                    assert v in f.enum
                if f.required:
                    assert v, (ent.path, f.name, rec)
    scores = [int(r[3]["score"]) for r in rows["crm/surveys"]]
    assert all(0 <= s <= 10 for s in scores)
    assert sum(s >= 9 for s in scores) > sum(s <= 6 for s in scores)  # skewed positive


def test_phones_normalise_except_a_few_malformed(zone):
    _, _, rows = zone
    phones = [r[3]["phone"] for r in rows["crm/contacts"] if r[3]["phone"]]
    normalised = [normalise_phone(p) for p in phones]
    assert sum(p is None for p in normalised) < 0.05 * len(phones)
    formats = {("+86 " in p) or ("-" in p) or p.startswith("0086") for p in phones}
    assert formats == {True, False}
    assert normalised.count("13800000000") > 50 or len(phones) < 300


def test_event_times_are_on_or_before_delivery_day(zone):
    _, _, rows = zone
    for _, _, dt, obj in rows["community/messages"]:
        t = datetime.fromtimestamp(obj["msgtime"] / 1000, SH).date()
        assert t <= dt
    late = 0
    for _, _, dt, obj in rows["shop/orders"]:
        t = datetime.fromisoformat(obj["updated_at"]).astimezone(SH).date()
        assert t <= dt
        late += t < dt
    assert late > 0  # some late data


def test_order_snapshots_refunds_and_repulls(zone):
    _, _, rows = zone
    by_order: dict[str, list] = {}
    for _, _, dt, o in rows["shop/orders"]:
        by_order.setdefault(o["order_id"], []).append(o)
    assert any(len(v) > 1 for v in by_order.values())  # re-delivered on status change
    paid = {}
    for oid, snaps in by_order.items():
        latest = max(snaps, key=lambda o: datetime.fromisoformat(o["updated_at"]))
        paid[oid] = float(latest["paid_amount"])
    refunded: dict[str, float] = {}
    for _, _, _, r in rows["shop/refunds"]:
        assert r["order_id"] in by_order
        refunded[r["order_id"]] = refunded.get(r["order_id"], 0) + float(r["amount"])
    assert refunded
    for oid, amount in refunded.items():
        assert amount <= paid[oid] + 0.001
    msgids = [m["msgid"] for _, _, _, m in rows["community/messages"]]
    assert len(msgids) > len(set(msgids))  # re-pulls and the duplicated file
    types = {m["from_type"] for _, _, _, m in rows["community/messages"]}
    assert types == {"customer", "staff", "bot"}
    assert any(m["msgtype"] == "revoke" for _, _, _, m in rows["community/messages"])


def test_content_open_rate_is_realistic(zone):
    _, _, rows = zone
    reached, opened = set(), set()
    for _, _, _, e in rows["community/content_events"]:
        reached.add((e["push_id"], e["external_userid"]))
        if e["event"] == "opened":
            opened.add((e["push_id"], e["external_userid"]))
    assert 0.15 < len(opened) / len(reached) < 0.45


def test_files_quirks_present(zone):
    out, manifest, _ = zone
    files = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith("_")]
    assert any(p.suffix == ".gz" for p in files)
    assert any(p.stat().st_size == 0 for p in files)
    assert manifest["file_stats"]["duplicated_files"] == 1
    parts = {}
    for p in files:
        parts[p.parent] = parts.get(p.parent, 0) + 1
    assert max(parts.values()) > 1


def test_rows_written_matches_disk(zone):
    out, manifest, _ = zone
    truncated = {t["file"] for t in manifest["truncated_files"]}
    for ent in C.ENTITIES:
        n = 0
        for f in (out / ent.source / ent.name).glob("dt=*/*"):
            if f.relative_to(out).as_posix() in truncated:
                n = None
                break
            text = read_text(f)
            lines = text.count("\n")
            n += max(lines - 1, 0) if ent.fmt == "csv" else lines
        if n is not None:
            assert n == manifest["rows_written"].get(ent.path, 0), ent.path


def test_manifest_bad_rows_are_really_bad_and_the_loader_agrees(zone, tmp_path):
    out, manifest, _ = zone
    assert manifest["bad_rows"], "bad_rate=0.01 should inject bad rows"
    kinds = {b["kind"] for b in manifest["bad_rows"]}
    assert {"missing_key", "bad_time", "bad_enum"} <= kinds
    got = set()
    for source in C.SOURCES:
        loader.ingest_source_days(source, loader.landed_dates(out, source), out,
                                  tmp_path / f"{source}.duckdb")
        import duckdb

        con = duckdb.connect(str(tmp_path / f"{source}.duckdb"), read_only=True)
        got |= set(con.execute("SELECT _file, _line FROM quarantine").fetchall())
        con.close()
    expected = {(b["file"], b["line"]) for b in manifest["bad_rows"]}
    tails = {(t["file"], t["complete_lines"] + 1 + (1 if t["file"].startswith("crm") else 0))
             for t in manifest["truncated_files"]}
    assert got == expected | tails


def test_deterministic_for_a_seed(tmp_path):
    def tree_hash(root: Path) -> str:
        h = hashlib.sha256()
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.name != "_manifest.json":
                h.update(p.relative_to(root).as_posix().encode())
                h.update(p.read_bytes())
        return h.hexdigest()

    a = generate(tmp_path / "a", users=80, days=10, start=date(2025, 3, 1), seed=1)
    generate(tmp_path / "b", users=80, days=10, start=date(2025, 3, 1), seed=1)
    generate(tmp_path / "c", users=80, days=10, start=date(2025, 3, 1), seed=2)
    assert tree_hash(tmp_path / "a") == tree_hash(tmp_path / "b")
    assert tree_hash(tmp_path / "a") != tree_hash(tmp_path / "c")
    assert a["as_of"] == "2025-03-10"


def test_bad_rate_zero_writes_no_bad_rows(tmp_path):
    m = generate(tmp_path / "z", users=200, days=20, start="2025-03-01", seed=9, bad_rate=0)
    assert m["bad_rows"] == [] and m["truncated_files"] == []


def test_gzip_files_are_valid_or_listed_as_truncated(zone):
    out, manifest, _ = zone
    truncated = {t["file"] for t in manifest["truncated_files"]}
    for p in out.rglob("*.gz"):
        rel = p.relative_to(out).as_posix()
        if rel in truncated:
            with pytest.raises(EOFError):
                gzip.decompress(p.read_bytes())
        else:
            gzip.decompress(p.read_bytes())
