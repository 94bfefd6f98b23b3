-- Acquisition by department (kpis.md "Acquisition", "By department": acquisition follows the
-- spend, not the owner). One row per contact and department that acquired it: every department
-- that ran a campaign on the contact's source_channel in the calendar month of the contact's
-- created_at (the campaign's dates, both ends inclusive, overlap that month), whoever owns the
-- contact. A channel with campaigns of several departments gives the contact to each; a
-- contact whose channel had no campaign that month has no row (it counts for `all` only).
-- A campaign without a department counts for `unknown` (as its spend does in CAC); one whose
-- end is before its start never ran.
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

campaigns as (
    select distinct
        channel,
        coalesce(department, 'unknown') as department,
        start_date,
        end_date
    from {{ ref('stg_crm__campaigns') }}
    where end_date >= start_date
)

select distinct
    contacts.contact_id,
    campaigns.department,
    contacts.source_channel,
    contacts.created_at,
    contacts.created_date
from contacts
inner join campaigns
    on campaigns.channel = contacts.source_channel
   and campaigns.start_date < {{ dbt.dateadd('month', 1, 'contacts.created_month') }}
   and campaigns.end_date >= contacts.created_month
