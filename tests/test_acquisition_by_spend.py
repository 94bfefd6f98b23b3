"""Acquisition by department follows the campaign spend, not the owner (kpis.md "Acquisition",
"By department"): on a generated warehouse, the marketing department's new contacts of the
as-of day are the contacts created that day through a channel on which marketing ran a
campaign that month, whoever owns them, counted here with an independent query (EXISTS over
the campaigns rather than the model's join). By owner, marketing's number would be the
contacts its staff own; the generator's marketing staff run campaigns and own few or none.
The rule's edge cases are dbt unit tests (`acquisition_follows_the_campaign_departments_of_the_month`)."""

from __future__ import annotations

import duckdb

SPEND_RULE = """
    SELECT count(*) FROM staging.stg_crm__contacts AS c
    WHERE CAST(c.created_at AS DATE) = $day
      AND EXISTS (
          SELECT 1 FROM staging.stg_crm__campaigns AS k
          WHERE k.channel = c.source_channel AND k.department = $dept
            AND k.end_date >= k.start_date
            AND k.start_date <= last_day(CAST(c.created_at AS DATE))
            AND k.end_date >= CAST(date_trunc('month', c.created_at) AS DATE))
"""


def test_marketing_new_contacts_follow_its_campaigns_not_its_contacts(published_warehouse):
    warehouse, as_of = published_warehouse
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        by_spend = con.execute(SPEND_RULE, {"day": as_of, "dept": "marketing"}).fetchone()[0]
        owned = con.execute(
            "SELECT count(*) FROM staging.stg_crm__contacts AS c "
            "JOIN staging.stg_crm__staff AS s ON s.staff_id = c.owner_staff_id "
            "WHERE CAST(c.created_at AS DATE) = ? AND s.department = 'marketing'",
            [as_of]).fetchone()[0]
        published = dict(con.execute(
            "SELECT department, value FROM marts.kpi_department_daily "
            "WHERE date = ? AND kpi = 'new_contacts'", [as_of]).fetchall())
        everyone = con.execute(
            "SELECT count(*) FROM staging.stg_crm__contacts WHERE CAST(created_at AS DATE) = ?",
            [as_of]).fetchone()[0]
    finally:
        con.close()
    assert by_spend > owned  # the rule changes marketing's number on this data
    assert published["marketing"] == by_spend
    assert published["all"] == everyone  # the company counts each new contact once
