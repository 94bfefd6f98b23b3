"""Incremental runs across changes to earlier data: a user merge, a refund delivered 5 days
late, an orders file withdrawn inside the lookback and reloaded with ``siyu run --from``. The
daily runs must equal one full build of the final landing zone, table by table (the daily
chain on a generated landing is tests/test_incremental.py)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from .fixtures_landing import (
    Landing, contact, customer, message, order, query, shop_time, siyu_run, staff,
)
from .warehouse_compare import differences

# --------------------------------------------------------------------------- hand-made changes
# A tiny landing (tests/fixtures_landing.py) whose later days change earlier data: a user
# merge, a refund arriving 5 days late, and an orders file withdrawn inside the lookback.
#
#   contact c1 (phone P1) and buyer b1 (phone P1) are one person from the start;
#   contact c2 (phone P2, WeCom wx2) and buyer b2 (no phone) are two people until dt 03-07
#     brings b2's customer record with phone P2: they merge, c2 (seen first) keeps its id;
#   o3  b1, paid 300 on 02-24 (dt 02-24); dt 03-05 part-1 cancels it (a later snapshot);
#   o1  b1, paid 100 on 03-01;  o2  b2, paid 200 on 03-02;
#   o4  b1, paid 50 on 03-05 (dt 03-05 part-1, the file later withdrawn);
#   o5  b1, paid 20 on 03-05 (dt 03-05 part-2, stays);
#   r1  refund of 80 on o2 at 03-03, delivered on dt 03-08 (5 days late).
# Daily runs 03-05 .. 03-08, then part-1 of dt 03-05 is removed and `siyu run --from 03-05`
# reloads (3 days back: inside the 7-day lookback, so no --full-refresh), then the daily
# run of 03-09. A full build of the final landing must equal that warehouse table by table.

D = date.fromisoformat
P1, P2 = "13912345601", "13912345602"


def _changes_landing(root: Path) -> Path:
    land = (
        Landing()
        .add("crm/staff", D("2025-02-24"), staff(updated_at="2025-02-24 08:00:00"))
        .add("crm/contacts", D("2025-02-24"),
             contact("c1", phone=P1, created_at="2025-02-24 09:00:00"))
        .add("shop/orders", D("2025-02-24"), order("o3", "b1", buyer_phone=P1, at="2025-02-24 10:00:00",
                                                 paid_amount="300.00"))
        .add("crm/contacts", D("2025-03-01"),
             contact("c2", phone=P2, external_userid="wx2", created_at="2025-03-01 09:00:00"))
        .add("shop/orders", D("2025-03-01"), order("o1", "b1", buyer_phone=P1, at="2025-03-01 10:00:00",
                                                 paid_amount="100.00"))
        .add("community/messages", D("2025-03-01"), message("m1", "wx2", at="2025-03-01 11:00:00"))
        .add("shop/orders", D("2025-03-02"), order("o2", "b2", at="2025-03-02 10:00:00",
                                                 paid_amount="200.00"))
        .add("shop/orders", D("2025-03-05"),
             order("o4", "b1", buyer_phone=P1, at="2025-03-05 10:00:00", paid_amount="50.00"),
             {**order("o3", "b1", buyer_phone=P1, at="2025-02-24 10:00:00", paid_amount="300.00"),
              "status": "cancelled", "updated_at": shop_time("2025-03-05 11:00:00")})
        .add("shop/customers", D("2025-03-07"), customer("b2", phone=P2, registered_at="2025-03-02 09:00:00",
                                                         updated_at="2025-03-07 09:00:00"))
        .add("shop/refunds", D("2025-03-08"),
             {"refund_id": "r1", "order_id": "o2", "amount": "80.00",
              "refunded_at": shop_time("2025-03-03 12:00:00"), "reason": "damaged"})
        .add("community/messages", D("2025-03-09"), message("m2", "wx2", at="2025-03-09 11:00:00"))
    )
    land.write(root)
    # a second orders file of dt 03-05, which stays when part-1 is withdrawn
    (root / "shop" / "orders" / "dt=2025-03-05" / "part-2.jsonl").write_text(
        json.dumps(order("o5", "b1", buyer_phone=P1, at="2025-03-05 12:00:00", paid_amount="20.00"))
        + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def changes(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("changes")
    root = _changes_landing(tmp / "landing")
    wh = tmp / "daily" / "siyu.duckdb"
    seen = {}
    for day in ("2025-03-06", "2025-03-07", "2025-03-08"):  # the first loads 02-24 .. 03-06
        siyu_run(root, wh, D(day), tmp / "daily")
        seen[day] = {
            "ltv": dict(query(wh, "SELECT user_id, ltv FROM marts.dim_users")),
            "order_users": dict(query(wh, "SELECT order_id, user_id FROM marts.fct_orders")),
        }
    (root / "shop" / "orders" / "dt=2025-03-05" / "part-1.jsonl").unlink()
    siyu_run(root, wh, D("2025-03-08"), tmp / "daily", from_date=D("2025-03-05"))
    seen["withdrawn"] = {
        "stg": query(wh, "SELECT order_id, status, _dt FROM staging.stg_shop__orders ORDER BY 1"),
        "fct": query(wh, "SELECT order_id, net_revenue, is_qualifying FROM marts.fct_orders ORDER BY 1"),
    }
    siyu_run(root, wh, D("2025-03-09"), tmp / "daily")
    full = tmp / "full" / "siyu.duckdb"
    siyu_run(root, full, D("2025-03-09"), tmp / "full")
    return {"wh": wh, "full": full, "seen": seen}


def _user_of(wh: Path, identifier_type: str, value: str) -> str:
    return query(wh, "SELECT user_id FROM marts.dim_user_identifiers "
                     "WHERE identifier_type = ? AND identifier_value = ?", [identifier_type, value])[0][0]


def test_withdrawn_orders_file_leaves_staging_and_marts(changes):
    # o4 was only in the withdrawn file: gone; o3 falls back to its snapshot of dt 02-24
    # (paid 300, from before the lookback window); o5 of the same day's other file stays
    assert changes["seen"]["withdrawn"]["stg"] == [
        ("o1", "paid", D("2025-03-01")), ("o2", "paid", D("2025-03-02")),
        ("o3", "paid", D("2025-02-24")), ("o5", "paid", D("2025-03-05"))]
    assert [r[0] for r in changes["seen"]["withdrawn"]["fct"]] == ["o1", "o2", "o3", "o5"]
    wh = changes["wh"]
    assert query(wh, "SELECT count(*) FROM staging.stg_shop__orders WHERE order_id = 'o4'") == [(0,)]
    assert query(wh, "SELECT count(*) FROM marts.fct_orders WHERE order_id = 'o4'") == [(0,)]
    # before the withdrawal o3 was cancelled and o4 counted
    before = changes["seen"]["2025-03-08"]["order_users"]
    assert "o4" in before


def test_merge_moves_old_orders_and_ltv_to_the_surviving_user(changes):
    wh, seen = changes["wh"], changes["seen"]
    u1, u2 = _user_of(wh, "contact_id", "c1"), _user_of(wh, "contact_id", "c2")
    assert _user_of(wh, "buyer_id", "b2") == u2  # merged on 03-07, c2 seen first keeps its id
    before_merge = seen["2025-03-06"]["order_users"]["o2"]
    assert before_merge != u2 and seen["2025-03-07"]["order_users"]["o2"] == u2
    assert before_merge not in seen["2025-03-07"]["ltv"]  # the retired id left dim_users
    assert seen["2025-03-06"]["ltv"][before_merge] == 200
    assert seen["2025-03-07"]["ltv"][u2] == 200
    # the late refund (03-03, delivered 03-08) lowers the merged user's LTV to 200 - 80
    assert seen["2025-03-08"]["ltv"][u2] == 120
    ltv = dict(query(wh, "SELECT user_id, ltv FROM marts.dim_users"))
    assert ltv[u2] == 120
    assert ltv[u1] == 100 + 300 + 20  # o3 back to paid (its cancel was withdrawn), o4 gone
    assert query(wh, "SELECT net_revenue, refunded_amount FROM marts.fct_orders WHERE order_id = 'o2'"
                 ) == [(120, 80)]


def test_changes_daily_runs_equal_a_full_build(changes):
    assert differences(changes["wh"], changes["full"]) == {}
