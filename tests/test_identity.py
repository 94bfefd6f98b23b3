"""Identity resolution end to end (sources.md "Identity") on hand-made landing zones.

Each fixture writes a tiny landing zone, runs the real pipeline (`siyu run`: ingest + the whole
dbt build) and the tests read the warehouse read-only and compare with values worked out by
hand. One shared landing zone (one run) holds the disjoint scenarios of cases 1, 2, 3 and 5;
the stability case needs its own warehouse and three runs (day 1, 2, 3).

Phones and e-mails leave the raw layer only as salted hashes (siyu.pii.pii_hash, the same in
dbt): the warehouse's values are mapped back to the clear values this file wrote (`clear`),
so the expectations read as before and prove the hashes link exactly as the values did.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from siyu.pii import pii_hash

from .fixtures_landing import (
    Landing,
    contact,
    customer,
    message,
    order,
    query,
    siyu_run,
    staff,
)

DAY = date(2025, 3, 10)

# ------------------------------------------------------------------ case 1: transitive chain
CHAIN_WM = "wmChainA0001"
CHAIN_UNIONID = "oChainUnion000001"
CHAIN_PHONE = "13800138000"
CHAIN_USERS = 2  # {C1, B1, B2, wmA} and {C9}

# ------------------------------------------------------------------ case 2: malformed phone
BAD_PHONE = "1380013800"  # 10 digits
BAD_PHONE_USERS = 2

# ------------------------------------------------------------------ case 3: over-shared phone
OVERSHARED_PHONE = "13800000000"  # 30 contacts + 21 buyers = 51 records > 50
SHARED_50_PHONE = "13900000000"  # 25 contacts + 25 buyers = 50 records: still links
OVERSHARED_CONTACTS = [f"C3000{i:04d}" for i in range(1, 31)]
OVERSHARED_BUYERS = [f"B3000{i:04d}" for i in range(1, 22)]
SHARED_50_CONTACTS = [f"C3100{i:04d}" for i in range(1, 26)]
SHARED_50_BUYERS = [f"B3100{i:04d}" for i in range(1, 26)]
OVERSHARED_USERS = 51 + 1

# ------------------------------------------------------------------ case 5: e-mails
EMAIL = "li.wei@example.com"
NO_AT_EMAIL = "li.wei.example.com"
EMAIL_USERS = 1 + 2  # {C5-1, C5-2}, {C5-3}, {C5-4}

TOTAL_USERS = CHAIN_USERS + BAD_PHONE_USERS + OVERSHARED_USERS + EMAIL_USERS  # 59


def shared_landing() -> Landing:
    land = Landing()
    land.add("crm/staff", DAY, staff())

    # case 1: C1 -phone- B1 -unionid- B2, C1 -external_userid- WeCom sender; C9 apart
    land.add("crm/contacts", DAY,
             contact("C10000001", phone="+86 138 0013 8000", external_userid=CHAIN_WM,
                     created_at="2025-03-01 09:00:00"),
             contact("C10000009", phone="13912345678", external_userid="wmOther0009",
                     email="other9@example.com", created_at="2025-03-02 09:00:00"))
    land.add("shop/orders", DAY,
             order("T10000001", "B10000001", buyer_phone=CHAIN_PHONE, unionid=CHAIN_UNIONID,
                   at="2025-03-05 20:11:05"),
             order("T10000002", "B10000002", unionid=CHAIN_UNIONID, at="2025-03-06 21:00:00"))
    land.add("shop/customers", DAY,
             customer("B10000002", unionid=CHAIN_UNIONID, registered_at="2025-03-06 12:00:00"))
    land.add("community/messages", DAY, message("m-chain-1", CHAIN_WM, at="2025-03-07 15:00:00"))

    # case 2: the same 10-digit phone on two contacts
    land.add("crm/contacts", DAY,
             contact("C20000001", phone=BAD_PHONE, created_at="2025-03-03 10:00:00"),
             contact("C20000002", phone=BAD_PHONE, created_at="2025-03-03 11:00:00"))

    # case 3: 13800000000 on 30 contacts (in three spellings) and 21 buyers (customers 1-11,
    # orders 11-21: buyer 11 carries it in both and counts once); 13900000000 on 25 + 25
    spellings = ["13800000000", "138-0000-0000", "+86 138 0000 0000"]
    for i, cid in enumerate(OVERSHARED_CONTACTS):
        land.add("crm/contacts", DAY, contact(cid, phone=spellings[i % 3],
                                              created_at=f"2025-03-04 10:{i:02d}:00"))
    for i, bid in enumerate(OVERSHARED_BUYERS[:11]):
        land.add("shop/customers", DAY,
                 customer(bid, phone=OVERSHARED_PHONE, registered_at=f"2025-03-04 11:{i:02d}:00"))
    for i, bid in enumerate(OVERSHARED_BUYERS[10:]):
        land.add("shop/orders", DAY, order(f"T3000{i:04d}", bid, buyer_phone="8613800000000",
                                           at=f"2025-03-04 12:{i:02d}:00"))
    for i, cid in enumerate(SHARED_50_CONTACTS):
        land.add("crm/contacts", DAY, contact(cid, phone="139 0000 0000",
                                              created_at=f"2025-03-04 13:{i:02d}:00"))
    for i, bid in enumerate(SHARED_50_BUYERS):
        land.add("shop/orders", DAY, order(f"T3100{i:04d}", bid, buyer_phone=SHARED_50_PHONE,
                                           at=f"2025-03-04 14:{i:02d}:00"))

    # case 5: one e-mail in two spellings; an e-mail without '@' on two contacts
    land.add("crm/contacts", DAY,
             contact("C50000001", email=" Li.Wei@Example.COM ", created_at="2025-03-05 10:00:00"),
             contact("C50000002", email=EMAIL, created_at="2025-03-05 11:00:00"),
             contact("C50000003", email=NO_AT_EMAIL, created_at="2025-03-05 12:00:00"),
             contact("C50000004", email=NO_AT_EMAIL, created_at="2025-03-05 13:00:00"))
    return land


@pytest.fixture(scope="module")
def shared_wh(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("identity_shared")
    landing = shared_landing().write(work / "landing")
    warehouse = work / "wh" / "siyu.duckdb"
    siyu_run(landing, warehouse, DAY, work)
    return warehouse


def h(value: str) -> str:
    """The warehouse's identifier_value of a normalised phone or e-mail."""
    return pii_hash(value)


def clear(identifier_type: str, value: str) -> str:
    """The clear value (written by this file) of a hashed phone/e-mail; other types as they are.
    A phone or e-mail in the warehouse is never clear: it must be a 64-hex hash."""
    if identifier_type not in ("phone", "email"):
        return value
    assert len(value) == 64 and set(value) <= set("0123456789abcdef"), value
    known = [CHAIN_PHONE, "13912345678", OVERSHARED_PHONE, SHARED_50_PHONE, EMAIL,
             "other9@example.com", "13722220009", "13722220001", "13722220003", "13722220004",
             Q_EMAIL]
    return {h(v): v for v in known}.get(value, value)


def identifiers(wh: Path) -> dict[tuple[str, str], str]:
    """(identifier_type, clear identifier_value) -> user_id from marts.dim_user_identifiers."""
    rows = query(wh, "SELECT identifier_type, identifier_value, user_id "
                     "FROM marts.dim_user_identifiers")
    return {(t, clear(t, v)): u for t, v, u in rows}


def dim_users(wh: Path) -> set[str]:
    return {u for (u,) in query(wh, "SELECT user_id FROM marts.dim_users")}


# --------------------------------------------------------------------------- case 1


def test_transitive_chain_across_crm_shop_and_wecom_is_one_user(shared_wh):
    ids = identifiers(shared_wh)
    chain = {
        ("contact_id", "C10000001"), ("phone", CHAIN_PHONE), ("external_userid", CHAIN_WM),
        ("buyer_id", "B10000001"), ("unionid", CHAIN_UNIONID), ("buyer_id", "B10000002"),
    }
    other = {("contact_id", "C10000009"), ("phone", "13912345678"),
             ("external_userid", "wmOther0009"), ("email", "other9@example.com")}
    assert chain | other <= ids.keys()
    chain_users = {ids[k] for k in chain}
    other_users = {ids[k] for k in other}
    assert len(chain_users) == 1 and len(other_users) == 1
    assert chain_users != other_users
    users = dim_users(shared_wh)
    assert chain_users | other_users <= users

    # the chain's user: 1 contact, 2 buyer ids, 1 external user; anchored on C1 (seen first)
    (user,) = chain_users
    assert query(shared_wh, "SELECT contacts, buyer_ids, external_userids FROM marts.dim_users "
                            "WHERE user_id = ?", [user]) == [(1, 2, 1)]
    anchors = query(shared_wh, "SELECT identifier_type, identifier_value FROM "
                               "marts.dim_user_identifiers WHERE user_id = ? AND is_anchor", [user])
    assert anchors == [("contact_id", "C10000001")]
    # source_records: contacts + buyers carrying the value (the WeCom sender is not one)
    recs = dict(query(shared_wh, "SELECT identifier_type || ':' || identifier_value, "
                                 "source_records FROM marts.dim_user_identifiers WHERE user_id = ?",
                      [user]))
    assert recs[f"phone:{h(CHAIN_PHONE)}"] == 2  # C1 (+86 spelling) and B1
    assert recs[f"unionid:{CHAIN_UNIONID}"] == 2  # B1 and B2
    assert recs[f"external_userid:{CHAIN_WM}"] == 1  # C1
    # the links audit names the phone (C1-B1), the unionid (B1-B2) and wmA (C1-WeCom)
    links = {(t, clear(t, v)): (n, c, b) for t, v, n, c, b in query(
        shared_wh, "SELECT identifier_type, identifier_value, records_linked, contacts_linked, "
                   "buyers_linked FROM audit.audit_identity__links WHERE user_id = ?", [user])}
    assert links[("phone", CHAIN_PHONE)] == (2, 1, 1)
    assert links[("unionid", CHAIN_UNIONID)] == (2, 0, 2)
    assert links[("external_userid", CHAIN_WM)][:2] == (2, 1)


def test_dim_users_counts_every_person_of_the_shared_landing_once(shared_wh):
    # 2 (chain, C9) + 2 (malformed phone) + 51 + 1 (over-shared / exactly 50) + 3 (e-mails)
    assert len(dim_users(shared_wh)) == TOTAL_USERS
    assert query(shared_wh, "SELECT count(DISTINCT user_id) FROM marts.dim_user_identifiers") == [
        (TOTAL_USERS,)]


# --------------------------------------------------------------------------- case 2


def test_malformed_phone_never_links(shared_wh):
    ids = identifiers(shared_wh)
    a, b = ids[("contact_id", "C20000001")], ids[("contact_id", "C20000002")]
    assert a != b
    assert {a, b} <= dim_users(shared_wh)
    assert not [k for k in ids if k[1] == BAD_PHONE]
    # each of them is a user of one identifier (its contact_id)
    assert sorted(v for v in ids.values() if v in (a, b)) == sorted([a, b])
    assert query(shared_wh, "SELECT count(*) FROM audit.audit_identity__overshared_identifiers "
                            "WHERE identifier_value = ?", [h(BAD_PHONE)]) == [(0,)]


# --------------------------------------------------------------------------- case 3


def test_overshared_phone_links_nobody_and_is_audited(shared_wh):
    ids = identifiers(shared_wh)
    records = ([("contact_id", c) for c in OVERSHARED_CONTACTS]
               + [("buyer_id", b) for b in OVERSHARED_BUYERS])
    assert len(records) == 51
    users = [ids[k] for k in records]
    assert len(set(users)) == 51  # nobody linked
    assert set(users) <= dim_users(shared_wh)
    assert ("phone", OVERSHARED_PHONE) not in ids
    audit = [(t, clear(t, v), *rest) for t, v, *rest in query(
        shared_wh, "SELECT identifier_type, identifier_value, records, contacts, buyers, "
                   "threshold FROM audit.audit_identity__overshared_identifiers")]
    assert audit == [("phone", OVERSHARED_PHONE, 51, 30, 21, 50)]


def test_exactly_fifty_sharing_records_are_linked(shared_wh):
    ids = identifiers(shared_wh)
    records = ([("contact_id", c) for c in SHARED_50_CONTACTS]
               + [("buyer_id", b) for b in SHARED_50_BUYERS] + [("phone", SHARED_50_PHONE)])
    assert {ids[k] for k in records} == {ids[("phone", SHARED_50_PHONE)]}
    assert query(shared_wh, "SELECT source_records FROM marts.dim_user_identifiers "
                            "WHERE identifier_type = 'phone' AND identifier_value = ?",
                 [h(SHARED_50_PHONE)]) == [(50,)]
    assert query(shared_wh, "SELECT contacts, buyer_ids FROM marts.dim_users WHERE user_id = ?",
                 [ids[("phone", SHARED_50_PHONE)]]) == [(25, 25)]


# --------------------------------------------------------------------------- case 5


def test_email_is_trimmed_and_lowercased_and_needs_an_at(shared_wh):
    ids = identifiers(shared_wh)
    assert ids[("contact_id", "C50000001")] == ids[("contact_id", "C50000002")] == ids[
        ("email", EMAIL)]
    assert query(shared_wh, "SELECT source_records FROM marts.dim_user_identifiers "
                            "WHERE identifier_type = 'email' AND identifier_value = ?",
                 [h(EMAIL)]) == [(2,)]
    assert [k for k in ids if k[0] == "email" and k[1].strip().lower() == EMAIL] == [
        ("email", EMAIL)]
    assert ids[("contact_id", "C50000003")] != ids[("contact_id", "C50000004")]
    assert not [k for k in ids if k[1] == NO_AT_EMAIL]


# --------------------------------------------------------------------------- case 4

D1, D2, D3 = date(2025, 3, 10), date(2025, 3, 11), date(2025, 3, 12)
# P is seen first (created 03-02) but has the larger contact_id and phone; Q (created 03-04)
# gains an e-mail on day 2 and P's phone on day 3, which merges them: P's id must survive.
P = contact("C40000009", phone="13722220009", external_userid="wmStableP009",
            created_at="2025-03-02 10:00:00")
Q = contact("C40000001", phone="13722220001", created_at="2025-03-04 10:00:00")
Q_EMAIL = "q.new@example.com"


def stability_days() -> dict[date, Landing]:
    day1 = (Landing()
            .add("crm/staff", D1, staff())
            .add("crm/contacts", D1, P, Q)
            .add("shop/orders", D1, order("T40000003", "B40000003", buyer_phone="13722220003",
                                          unionid="oStableR000003", at="2025-03-05 20:00:00"))
            .add("community/messages", D1, message("m-stable-1", "wmStableP009",
                                                   at="2025-03-06 09:30:00")))
    day2 = (Landing()
            .add("crm/contacts", D2,
                 {**Q, "email": "Q.New@Example.com", "updated_at": "2025-03-11 09:00:00"},
                 contact("C40000004", phone="13722220004", created_at="2025-03-11 10:00:00")))
    day3 = Landing().add("crm/contacts", D3, {**Q, "email": "Q.New@Example.com",
                                              "phone": "137 2222 0009",
                                              "updated_at": "2025-03-12 09:00:00"})
    return {D1: day1, D2: day2, D3: day3}


@pytest.fixture(scope="module")
def stability_runs(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("identity_stability")
    landing, warehouse = work / "landing", work / "wh" / "siyu.duckdb"
    out = {}
    for day, land in stability_days().items():
        land.write(landing)
        siyu_run(landing, warehouse, day, work)
        out[day] = {
            "ids": identifiers(warehouse),
            "users": dim_users(warehouse),
            "changes": [(t, clear(t, v), *rest) for t, v, *rest in query(
                warehouse, "SELECT identifier_type, identifier_value, previous_user_id, "
                           "current_user_id, change_kind, previous_as_of, changed_as_of "
                           "FROM audit.audit_identity__user_id_changes")],
        }
    return out


def test_user_ids_are_stable_across_runs_and_merge_keeps_the_first_seen(stability_runs):
    r1, r2, r3 = stability_runs[D1], stability_runs[D2], stability_runs[D3]
    ids1, ids2, ids3 = r1["ids"], r2["ids"], r3["ids"]
    p, q = ids1[("contact_id", "C40000009")], ids1[("contact_id", "C40000001")]
    r = ids1[("buyer_id", "B40000003")]

    # day 1: P (contact, phone, wm, WeCom sender), Q, R (buyer, phone, unionid)
    assert len({p, q, r}) == 3 and r1["users"] == {p, q, r}
    assert ids1[("external_userid", "wmStableP009")] == ids1[("phone", "13722220009")] == p
    assert ids1[("unionid", "oStableR000003")] == ids1[("phone", "13722220003")] == r

    # day 2: every day-1 identifier keeps its user; Q's new e-mail joins Q; S is new
    assert {k: ids2[k] for k in ids1} == ids1
    assert ids2[("email", Q_EMAIL)] == q
    s = ids2[("contact_id", "C40000004")]
    assert s not in {p, q, r} and ids2[("phone", "13722220004")] == s
    assert r2["users"] == {p, q, r, s}
    assert r2["changes"] == []

    # day 3: Q's new version carries P's phone -> one user, P's id (seen first) survives
    q_identifiers = {("contact_id", "C40000001"), ("phone", "13722220001"), ("email", Q_EMAIL)}
    p_identifiers = {k for k, u in ids2.items() if u == p}
    assert {ids3[k] for k in q_identifiers | p_identifiers} == {p}
    assert ids3[("buyer_id", "B40000003")] == r and ids3[("contact_id", "C40000004")] == s
    assert {k: ids3[k] for k in ids2 if k not in q_identifiers} == {
        k: u for k, u in ids2.items() if k not in q_identifiers}
    assert r3["users"] == {p, r, s}
    assert sorted(r3["changes"]) == sorted(
        (t, v, q, p, "merge", D2, D3) for t, v in q_identifiers)
