-- New contacts (docs/kpi-book.md "Acquisition") per business day of created_at, source_channel and
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
        {{ company_total_label('source_channel') }} as source_channel,
        {{ company_total_label('department') }} as department,
        count(*) as new_contacts
    from contacts
    {{ group_with_company_total(['created_date'], ['source_channel', 'department']) }}
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
