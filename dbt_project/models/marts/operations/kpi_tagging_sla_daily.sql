-- 6-hour tagging SLA (运营需在6小时内完成标签化分群, docs/kpi-book.md "Tags") per day of created_at and
-- owning department (+ 'all'): contacts created that day (deleted later or not); of those
-- matured (created_at + 6h <= end of as_of), the ones whose first `add` of any group has
-- tagged_at <= created_at + 6h. "Within 6 hours" is <= 6 x 3600 s exactly.
-- A first add BEFORE created_at (clock skew, contact re-created) counts as within 6 hours: the
-- contact did carry a tag by created_at + 6h; such contacts are counted in
-- tagged_before_created for auditing.
with calendar as (
    select date_day from {{ ref('dim_dates') }}
),

contacts as (
    select
        contacts.contact_id,
        contacts.created_at,
        {{ department_of('staff') }} as department
    from {{ ref('stg_crm__contacts') }} as contacts
    left join {{ ref('stg_crm__staff') }} as staff on staff.staff_id = contacts.owner_staff_id
    where contacts.created_at < {{ as_of_end() }}
),

first_adds as (
    select contact_id, min(tagged_at) as first_added_at
    from {{ ref('stg_crm__contact_tags') }}
    where action = 'add' and tagged_at < {{ as_of_end() }}
    group by contact_id
),

per_contact as (
    select
        cast(contacts.created_at as date) as created_date,
        contacts.department,
        contacts.created_at + interval '6 hour' <= {{ as_of_end() }} as is_matured,
        coalesce(first_adds.first_added_at <= contacts.created_at + interval '6 hour', false) as is_tagged_within_6h,
        coalesce(first_adds.first_added_at < contacts.created_at, false) as is_tagged_before_created
    from contacts
    left join first_adds on first_adds.contact_id = contacts.contact_id
),

daily as (
    select
        created_date,
        {{ company_total_label('department') }} as department,
        count(*) as contacts_created,
        count(*) filter (where is_matured) as matured_6h,
        count(*) filter (where is_matured and is_tagged_within_6h) as tagged_within_6h,
        count(*) filter (where is_tagged_before_created) as tagged_before_created
    from per_contact
    {{ group_with_company_total(['created_date'], 'department') }}
),

departments as (
    select department from {{ ref('stg_crm__staff') }}
    union
    select department from per_contact
    union
    select 'all'
)

select
    calendar.date_day as date,
    departments.department,
    coalesce(daily.contacts_created, 0) as contacts_created,
    coalesce(daily.matured_6h, 0) as matured_6h,
    coalesce(daily.tagged_within_6h, 0) as tagged_within_6h,
    case
        when daily.matured_6h > 0 then cast(daily.tagged_within_6h as {{ type_double() }}) / daily.matured_6h
    end as tagging_sla_6h,
    coalesce(daily.tagged_before_created, 0) as tagged_before_created
from calendar
cross join departments
left join daily
    on daily.created_date = calendar.date_day and daily.department = departments.department
