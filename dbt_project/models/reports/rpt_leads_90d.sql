-- New users ("leads") of the 90 days up to each report day, for lead quality and the sales
-- staff's conversion: matured when first seen 30 days before the end of the day; converted
-- when the first qualifying purchase came within 30 days of first seen. A lead is a person
-- the CRM holds a contact for: a buyer first seen by a purchase (no contact, channel
-- 'unknown') was never a lead and would convert by construction.
select
    d.report_date,
    u.user_id,
    u.source_channel as channel,
    u.owner_staff_id,
    u.first_seen_at + interval 30 day <= cast(d.report_date + 1 as timestamp) as matured,
    coalesce(u.first_purchase_at <= u.first_seen_at + interval 30 day, false) as converted
from {{ ref('rpt_report_days') }} as d
inner join {{ bi_ref('dim_users') }} as u
    on
        u.first_seen_at > cast(d.report_date + 1 as timestamp) - interval 90 day
        and u.first_seen_at < cast(d.report_date + 1 as timestamp)
where u.primary_contact_id is not null
