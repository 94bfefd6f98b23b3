"""`siyu check-landing`: a landing zone checked without loading it, with the loader's rules.

Hand-made landings (tests/fixtures_landing.py) with counts a person can count, and bad ones
whose findings must equal what the loader quarantines and records when it loads the same
landing; the shared sample landing likewise.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from datetime import date
from pathlib import Path

import duckdb
import pytest
from siyu import check_landing as chk
from siyu import cli, loader
from siyu import contract as C

from .fixtures_landing import CSV_COLUMNS, Landing, contact, customer, message, order, staff

D1, D2, D3, D4 = (date(2025, 3, d) for d in (1, 2, 3, 4))


def _dt(day: date) -> str:
    return f"dt={day.isoformat()}"


def clean_landing(root: Path) -> Path:
    """3 contacts, 1 staff, 4 orders (2 + 1 + 1 on three days), 1 customer, 4 messages
    (2 + 1 + 1): every daily entity has every day, nothing is wrong."""
    return (
        Landing()
        .add("crm/contacts", D1, contact("C1"), contact("C2"), contact("C3"))
        .add("crm/staff", D1, staff())
        .add("shop/orders", D1, order("T1", "B1"), order("T2", "B2"))
        .add("shop/orders", D2, order("T3", "B1", at="2025-03-02 10:00:00"))
        .add("shop/orders", D3, order("T4", "B3", at="2025-03-03 10:00:00"))
        .add("shop/customers", D1, customer("B1"))
        .add("community/messages", D1, message("m1", "wmA"), message("m2", "wmB"))
        .add("community/messages", D2, message("m3", "wmA", at="2025-03-02 09:00:00"))
        .add("community/messages", D3, message("m4", "wmA", at="2025-03-03 09:00:00"))
        .write(root)
    )


# the findings of bad_landing, written out by hand
BAD_CONTACTS = f"crm/contacts/{_dt(D1)}/part-1.csv"
BAD_ORDERS = f"shop/orders/{_dt(D1)}/part-1.jsonl"
BAD_REJECTED = [
    ("crm/contacts", BAD_CONTACTS, 4, "unknown is_deleted value: maybe"),
    ("crm/contacts", BAD_CONTACTS, 5, "expected 12 fields (header), found 3"),
    ("shop/orders", BAD_ORDERS, 3, "malformed JSON"),
]
BAD_LAYOUT = {
    "crm/contacts/dt=2025-3-02": "malformed partition folder (expected dt=YYYY-MM-DD)",
    f"shop/orders/{_dt(D1)}/notes.txt":
        "not a part file of shop/orders (expected part*.jsonl or part*.jsonl.gz)",
    "crm_old": "unknown source folder (expected one of crm, shop, community)",
}


def bad_landing(root: Path) -> Path:
    """A malformed JSON line, a CSV row with an unknown enum value and one with too few
    fields, an unknown CSV column and an unknown JSON key, three paths outside the layout,
    and shop/orders (daily) without its 2025-03-02 partition."""
    (
        Landing()
        .add("crm/contacts", D1, contact("C1"), contact("C2"))
        .add("shop/orders", D1, order("T1", "B1"), order("T2", "B2"))
        .add("shop/orders", D3, order("T3", "B1", at="2025-03-03 10:00:00"))
        .add("community/messages", D1, message("m1", "wmA"))
        .add("community/messages", D2, {**message("m2", "wmA", at="2025-03-02 09:00:00"),
                                        "sync_batch": "b7"})
        .add("community/messages", D3, message("m3", "wmA", at="2025-03-03 09:00:00"))
        .write(root)
    )
    bad_csv = ("C9,wmC9,,王芳,13800138009,,上海,store_qr,zhangwei,2025-03-01 10:00:00,"
               "2025-03-01 10:00:00,maybe\n"  # line 4: unknown is_deleted value
               "C10,only,three\n")  # line 5: 3 fields, the header has 12
    with open(root / BAD_CONTACTS, "a", encoding="utf-8") as f:
        f.write(bad_csv)
    with open(root / BAD_ORDERS, "a", encoding="utf-8") as f:
        f.write('{"order_id": "T9", "buyer_id": \n')  # line 3: malformed JSON
    header = CSV_COLUMNS["contacts"] + ["remark"]  # a column the contract does not know
    row = list(contact("C4").values()) + ["VIP"]
    (root / f"crm/contacts/{_dt(D1)}/part-2.csv").write_text(
        ",".join(header) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    # outside the layout: a malformed dt folder, a stray file in a partition, an unknown source
    (root / "crm/contacts/dt=2025-3-02").mkdir()
    (root / "crm/contacts/dt=2025-3-02/part-1.csv").write_text(",".join(CSV_COLUMNS["contacts"]))
    (root / f"shop/orders/{_dt(D1)}/notes.txt").write_text("re-sent tomorrow")
    (root / "crm_old").mkdir()
    return root


def damaged_landing(root: Path) -> Path:
    """File-level trouble: a truncated gzip, a non-UTF-8 CSV line, an empty file, a plain
    file named .gz, CRLF line endings."""
    Landing().add("crm/contacts", D1, contact("C1"), contact("C2")).write(root)
    part = root / f"crm/contacts/{_dt(D1)}/part-1.csv"
    part.write_bytes(part.read_bytes() + "C3,,,".encode() + b"\xff\xfe bad" + b",,,,,,,,\n")
    orders = root / f"shop/orders/{_dt(D1)}"
    orders.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(order(f"T{i}", "B1")) + "\n" for i in range(40)).encode()
    packed = gzip.compress(lines, mtime=0)
    (orders / "part-1.jsonl.gz").write_bytes(packed[: len(packed) * 2 // 3])  # truncated
    messages = root / f"community/messages/{_dt(D1)}"
    messages.mkdir(parents=True, exist_ok=True)
    (messages / "part-1.jsonl").write_bytes(
        b"".join(json.dumps(message(f"m{i}", "wmA")).encode() + b"\r\n" for i in range(3)))
    (messages / "part-2.jsonl").write_bytes(b"")
    (messages / "part-3.jsonl.gz").write_text(json.dumps(message("m9", "wmB")) + "\n")
    return root


def check_json(capsys, *argv: str) -> tuple[int, dict]:
    code = cli.main(["check-landing", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def by_entity(doc: dict) -> dict[str, dict]:
    return {e["entity"]: e for e in doc["entities"]}


def rejected_of(doc: dict) -> list[tuple[str, str, int, str]]:
    return [(r["entity"], r["file"], r["line"], r["reason"]) for r in doc["rejected"]]


def loader_findings(landing: Path, raw_dir: Path) -> dict:
    """Load every landed day of every source with the loader; what it quarantined, the
    layout issues and unknown columns it recorded, and rows per entity (loaded + rejected)."""
    found: dict = {"rejected": [], "layout": {}, "unknown": set(), "rows": {}}
    for source in C.SOURCES:
        raw = raw_dir / f"{source}.duckdb"
        loader.ingest_source(source, loader.landed_dates(landing, source), landing, raw)
        con = duckdb.connect(str(raw), read_only=True)
        try:
            found["rejected"] += con.execute(
                "SELECT ? || '/' || entity, _file, _line, reason FROM quarantine", [source]
            ).fetchall()
            found["layout"].update(con.execute("SELECT path, reason FROM layout_issues").fetchall())
            found["unknown"] |= set(con.execute(
                "SELECT _file, column_name FROM schema_drift WHERE change = 'added'").fetchall())
            found["rows"].update(con.execute(
                "SELECT ? || '/' || entity, sum(rows_loaded + rows_quarantined)::INTEGER"
                " FROM load_log GROUP BY entity", [source]).fetchall())
        finally:
            con.close()
    found["rejected"].sort()
    return found


def assert_agrees_with_the_loader(doc: dict, landing: Path, raw_dir: Path) -> dict:
    """The check's rejected lines, layout problems, unknown columns and row counts are the
    loader's for the same landing."""
    found = loader_findings(landing, raw_dir)
    assert sorted(rejected_of(doc)) == found["rejected"]
    assert {i["path"]: i["reason"] for i in doc["layout_problems"]} == found["layout"]
    assert {(f["file"], c) for e in doc["entities"] for f in e["files"]
            for c in f["unknown_columns"]} == found["unknown"]
    assert {e["entity"]: e["rows"] for e in doc["entities"] if e["rows"]} == {
        entity: rows for entity, rows in found["rows"].items() if rows}
    return found


# ---------------------------------------------------------------------------- clean


def test_clean_landing_exits_0_with_the_rows_a_person_counts(tmp_path, capsys):
    root = clean_landing(tmp_path / "landing")
    code, doc = check_json(capsys, str(root))
    assert code == 0
    assert doc["ok"] is True and doc["critical"] == []
    assert (doc["from"], doc["to"]) == ("2025-03-01", "2025-03-03")
    rows = {name: e["rows"] for name, e in by_entity(doc).items() if e["rows"]}
    assert rows == {"crm/contacts": 3, "crm/staff": 1, "shop/orders": 4, "shop/customers": 1,
                    "community/messages": 4}
    assert doc["totals"] == {"files": 9, "rows": 13, "rejected": 0}
    orders = by_entity(doc)["shop/orders"]
    assert orders["daily"] is True and orders["partitions"] == 3 and orders["missing_days"] == []
    assert [(f["file"], f["rows"]) for f in orders["files"]] == [
        (f"shop/orders/{_dt(D1)}/part-1.jsonl", 2), (f"shop/orders/{_dt(D2)}/part-1.jsonl", 1),
        (f"shop/orders/{_dt(D3)}/part-1.jsonl", 1)]
    assert doc["rejected"] == [] and doc["layout_problems"] == []
    # the text output: a table with the same counts, and the verdict
    assert cli.main(["check-landing", str(root)]) == 0
    text = capsys.readouterr().out
    table = {line.split()[0]: line.split() for line in text.splitlines()[2:16]}
    assert table["crm/contacts"][1:4] == ["1", "1", "3"]  # days, files, rows
    assert table["shop/orders"][1:5] == ["*", "3", "3", "4"]  # daily, days, files, rows
    assert table["total"][1:4] == ["9", "13", "0"]
    assert "OK: no critical problem (exit 0)" in text


# ---------------------------------------------------------------------------- bad


def test_bad_landing_reports_each_problem_with_file_line_and_reason(tmp_path, capsys):
    root = bad_landing(tmp_path / "landing")
    code, doc = check_json(capsys, str(root))
    assert code == 1 and doc["ok"] is False
    assert rejected_of(doc) == BAD_REJECTED
    assert {i["path"]: i["reason"] for i in doc["layout_problems"]} == BAD_LAYOUT
    entities = by_entity(doc)
    assert entities["shop/orders"]["missing_days"] == ["2025-03-02"]
    assert entities["community/messages"]["missing_days"] == []
    files = {f["file"]: f for e in doc["entities"] for f in e["files"]}
    assert files[f"crm/contacts/{_dt(D1)}/part-2.csv"]["unknown_columns"] == ["remark"]
    assert files[f"community/messages/{_dt(D2)}/part-1.jsonl"]["unknown_columns"] == ["sync_batch"]
    assert entities["crm/contacts"]["unknown_columns"] == ["remark"]
    assert (files[BAD_CONTACTS]["rows"], files[BAD_CONTACTS]["rejected"]) == (4, 2)
    assert (files[BAD_ORDERS]["rows"], files[BAD_ORDERS]["rejected"]) == (3, 1)
    kinds = [p["kind"] for p in doc["critical"]]
    assert sorted(kinds) == ["layout"] * 3 + ["missing_day"] + ["rejected_lines"] * 2
    messages = [p["message"] for p in doc["critical"]]
    assert "crm/contacts: 2 of 5 rows rejected (40% > 1%)" in messages
    assert "shop/orders: 1 of 4 rows rejected (25% > 1%)" in messages
    assert any(p["message"].startswith("shop/orders (delivered daily): no partition for 1 day")
               and "2025-03-02" in p["message"] for p in doc["critical"])
    # the text output names the same things
    assert cli.main(["check-landing", str(root)]) == 1
    text = capsys.readouterr().out
    for _entity, file, line, reason in BAD_REJECTED:
        assert f"  {file}:{line}  {reason}" in text
    for path, reason in BAD_LAYOUT.items():
        assert f"  {path}  {reason}" in text
    assert "  shop/orders  2025-03-02" in text
    assert f"crm/contacts  unknown remark: 1 file(s), e.g. crm/contacts/{_dt(D1)}/part-2.csv" in text
    assert "CRITICAL: 6 problem(s) (exit 1)" in text  # 3 layout, 2 rejected shares, 1 day


def test_bad_landing_findings_are_the_loaders(tmp_path, capsys):
    root = bad_landing(tmp_path / "landing")
    _code, doc = check_json(capsys, str(root))
    found = assert_agrees_with_the_loader(doc, root, tmp_path / "raw")
    assert [r[1:] for r in found["rejected"]] == [r[1:] for r in BAD_REJECTED]


def test_damaged_files_are_unreadable_and_rejected_as_the_loader_does(tmp_path, capsys):
    root = damaged_landing(tmp_path / "landing")
    code, doc = check_json(capsys, str(root))
    assert code == 1
    assert_agrees_with_the_loader(doc, root, tmp_path / "raw")
    files = {f["file"]: f for e in doc["entities"] for f in e["files"]}
    truncated = files[f"shop/orders/{_dt(D1)}/part-1.jsonl.gz"]
    assert truncated["unreadable"].startswith("truncated gzip file")
    assert 0 < truncated["rows"] - truncated["rejected"] < 40  # its complete lines count
    assert [p["message"] for p in doc["critical"] if p["kind"] == "unreadable_file"] == [
        f"shop/orders/{_dt(D1)}/part-1.jsonl.gz: {truncated['unreadable']}"]
    assert (f"{_dt(D1)}/part-1.csv", 4, "invalid UTF-8") in {
        (r["file"].removeprefix("crm/contacts/"), r["line"], r["reason"]) for r in doc["rejected"]}
    messages = {f["file"].rsplit("/", 1)[1]: f["rows"] for f in
                by_entity(doc)["community/messages"]["files"]}
    assert messages == {"part-1.jsonl": 3, "part-2.jsonl": 0, "part-3.jsonl.gz": 1}


def test_a_file_that_cannot_be_read_is_critical_and_the_rest_is_checked(tmp_path, capsys,
                                                                        monkeypatch):
    root = clean_landing(tmp_path / "landing")
    locked = f"shop/orders/{_dt(D2)}/part-1.jsonl"
    real = chk._unreadable
    monkeypatch.setattr(chk, "_unreadable", lambda p: "cannot read the file: Permission denied"
                        if p.as_posix().endswith(locked) else real(p))
    code, doc = check_json(capsys, str(root))
    assert code == 1
    assert doc["critical"] == [{"kind": "unreadable_file",
                                "message": f"{locked}: cannot read the file: Permission denied"}]
    assert by_entity(doc)["shop/orders"]["rows"] == 3  # the other two days' files


# ---------------------------------------------------------------------------- options


def test_from_to_choose_the_days_read_and_the_days_owed(tmp_path, capsys):
    root = bad_landing(tmp_path / "landing")
    code, doc = check_json(capsys, str(root), "--from", "2025-03-03", "--to", "2025-03-04")
    assert (doc["from"], doc["to"]) == ("2025-03-03", "2025-03-04")
    entities = by_entity(doc)
    assert entities["shop/orders"]["rows"] == 1 and entities["crm/contacts"]["rows"] == 0
    assert doc["rejected"] == []  # the bad lines are on 2025-03-01
    assert entities["shop/orders"]["missing_days"] == ["2025-03-04"]
    assert entities["community/messages"]["missing_days"] == ["2025-03-04"]
    assert code == 1  # the missing 2025-03-04 and the layout (always checked whole)
    # an explicit --from owes every day from it, also before an entity's first partition
    _code, doc = check_json(capsys, str(root), "--from", "2025-02-28", "--to", "2025-03-01")
    assert by_entity(doc)["shop/orders"]["missing_days"] == ["2025-02-28"]


def test_rejected_threshold(tmp_path, capsys):
    root = bad_landing(tmp_path / "landing")
    _code, doc = check_json(capsys, str(root), "--max-rejected", "50")
    assert "rejected_lines" not in {p["kind"] for p in doc["critical"]}
    assert doc["max_rejected_pct"] == 50 and len(doc["rejected"]) == 3  # still listed
    _code, doc = check_json(capsys, str(root), "--max-rejected", "0")
    assert [p["message"].split(":")[0] for p in doc["critical"]
            if p["kind"] == "rejected_lines"] == ["crm/contacts", "shop/orders"]


# ---------------------------------------------------------------------------- JSON shape


TOP_KEYS = {"landing", "from", "to", "max_rejected_pct", "ok", "critical", "totals", "entities",
            "rejected", "layout_problems"}
ENTITY_KEYS = {"entity", "daily", "partitions", "rows", "rejected", "rejected_pct",
               "missing_days", "unknown_columns", "files"}
FILE_KEYS = {"file", "dt", "bytes", "rows", "rejected", "unknown_columns", "missing_columns",
             "unreadable"}


def test_json_has_the_documented_shape(tmp_path, capsys):
    root = bad_landing(tmp_path / "landing")
    _code, doc = check_json(capsys, str(root))
    assert set(doc) == TOP_KEYS
    assert doc["landing"] == str(root.resolve())
    assert set(doc["totals"]) == {"files", "rows", "rejected"}
    assert [e["entity"] for e in doc["entities"]] == [e.path for e in C.ENTITIES]
    for e in doc["entities"]:
        assert set(e) == ENTITY_KEYS
        assert e["daily"] == C.BY_PATH[e["entity"]].daily
        for f in e["files"]:
            assert set(f) == FILE_KEYS
            assert f["file"].startswith(e["entity"] + "/dt=" + f["dt"] + "/")
    assert all(set(p) == {"kind", "message"} and p["kind"] in chk.CRITICAL_KINDS
               for p in doc["critical"])
    assert all(set(r) == {"entity", "file", "line", "reason"} for r in doc["rejected"])
    assert all(set(i) == {"path", "reason"} for i in doc["layout_problems"])
    # every key is in the documented shape (`siyu check-landing --help`)
    epilog = _check_landing_parser().epilog
    for key in TOP_KEYS | ENTITY_KEYS | FILE_KEYS | {"kind", "message", "path", "line", "reason"}:
        assert f'"{key}"' in epilog, key
    for kind in chk.CRITICAL_KINDS:
        assert kind in epilog


def _check_landing_parser():
    parser = cli.build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices["check-landing"]


# ---------------------------------------------------------------------------- writes nothing


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*")}


def test_writes_nothing_in_the_landing_or_anywhere_else(tmp_path, capsys, monkeypatch):
    landing = bad_landing(tmp_path / "landing")
    damaged_landing(tmp_path / "landing")  # gzip parts, so decompressed copies are made
    work, tmp = tmp_path / "cwd", tmp_path / "tmp"
    work.mkdir()
    tmp.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    monkeypatch.delenv("SIYU_DUCKDB_TEMP_DIR", raising=False)
    made: list[str] = []
    real = tempfile.TemporaryDirectory

    def spy(*args, **kwargs):
        d = real(*args, **kwargs)
        made.append(d.name)
        return d

    monkeypatch.setattr(tempfile, "TemporaryDirectory", spy)
    before = _snapshot(tmp_path)
    assert cli.main(["check-landing", str(landing)]) == 1
    assert cli.main(["check-landing", str(landing), "--json", "--files"]) == 1
    capsys.readouterr()
    after = _snapshot(tmp_path)
    # TMPDIR's own mtime moved: the check's temporary folders were made there and removed
    assert after.pop("tmp")[0] == before.pop("tmp")[0] and list(tmp.iterdir()) == []
    assert after == before  # every file and folder of the landing and the cwd as it was
    assert made and all(Path(d).parent == tmp and not Path(d).exists() for d in made)


# ---------------------------------------------------------------------------- the sample


def test_sample_landing_findings_agree_with_the_loader(sample_landing, tmp_path, capsys):
    code, doc = check_json(capsys, str(sample_landing))
    found = assert_agrees_with_the_loader(doc, sample_landing, tmp_path / "raw")
    manifest = json.loads((sample_landing.parent / "landing.manifest.json").read_text())
    assert len(found["rejected"]) == sum(manifest["bad_rows_injected"].values()) == 6
    assert (doc["from"], doc["to"]) == ("2025-03-01", manifest["as_of"])
    # a landing written by someone else from the contract: nothing critical
    assert code == 0 and doc["critical"] == [] and doc["layout_problems"] == []
    assert by_entity(doc)["community/messages"]["unknown_columns"] == ["action"]


def test_check_landing_needs_a_landing_zone(tmp_path):
    with pytest.raises(FileNotFoundError, match="no landing zone at"):
        chk.check_landing(tmp_path / "nope")
