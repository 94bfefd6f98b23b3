-- Acquisition by department (docs/kpi-book.md "Acquisition": by department, acquisition follows the
-- spend, not the owner). One row per contact and department that acquired it: every department
-- that ran a campaign on the contact's source_channel in the calendar month of the contact's
-- created_at (a spend day of the campaign falls in that month: its dates, both ends inclusive,
-- overlap the month), whoever owns the contact. A channel with campaigns of several departments
-- gives the contact to each; a contact whose channel had no campaign that month has no row (it
-- counts for `all` only). The campaign days are int_campaigns__spend_days, the one home of the
-- campaign rules: a campaign without a department counts for `unknown` (as its spend does in
-- CAC); one whose end is before its start never ran (no days).
with contacts as (
    select
        contact_id,
        source_channel,
        created_at,
        cast(created_at as date) as created_date,
        cast({{ dbt.date_trunc('month', 'created_at') }} as date) as created_month
    from {{ ref('stg_crm__contacts') }}
    where created_at < {{ as_of_end() }}
),

campaign_months as (
    select distinct
        channel,
        department,
        spend_month
    from {{ ref('int_campaigns__spend_days') }}
)

select distinct
    contacts.contact_id,
    campaign_months.department,
    contacts.source_channel,
    contacts.created_at,
    contacts.created_date
from contacts
inner join campaign_months
    on campaign_months.channel = contacts.source_channel
   and campaign_months.spend_month = contacts.created_month
