-- New contacts (kpis.md "Acquisition") per business day of created_at, source_channel and
-- department of the contact's owner, counting every contact created before the end of as_of
-- (deleted later or not). Rows: every calendar day x (each channel and 'all') x (each
-- department and 'all'); a count, so a day without new contacts is 0.
with calendar as (
    select date_day from {{ ref('dim_dates') }}
),

contacts as (
    select
        cast(contacts.created_at as date) as created_date,
        contacts.source_channel,
        {{ department_of('staff') }} as department
    from {{ ref('stg_crm__contacts') }} as contacts
    left join {{ ref('stg_crm__staff') }} as staff on staff.staff_id = contacts.owner_staff_id
    where contacts.created_at < {{ as_of_end() }}
),

daily as (
    select
        created_date,
        case when grouping(source_channel) = 1 then 'all' else source_channel end as source_channel,
        case when grouping(department) = 1 then 'all' else department end as department,
        count(*) as new_contacts
    from contacts
    group by grouping sets (
        (created_date, source_channel, department), (created_date, source_channel),
        (created_date, department), (created_date)
    )
),

channels as (
    select distinct source_channel from contacts
    union
    select 'all'
),

departments as (
    select department from {{ ref('stg_crm__staff') }}
    union
    select department from contacts
    union
    select 'all'
)

select
    calendar.date_day as date,
    channels.source_channel,
    departments.department,
    coalesce(daily.new_contacts, 0) as new_contacts
from calendar
cross join channels
cross join departments
left join daily
    on daily.created_date = calendar.date_day
   and daily.source_channel = channels.source_channel
   and daily.department = departments.department
