-- Integrity: the staff-level daily KPI marts add up to the company totals ('all') of the
-- department-level ones, counts never exceed their parents (answered <= matured <=
-- inquiries; effective <= matured <= outreaches), and every response run of
-- int_conversations__staff_runs answers exactly one inquiry of fct_inquiries.
with staff_response as (
    select {{ adapter.quote('date') }}, sum(inquiries) as inquiries, sum(matured_2h) as matured_2h,
        sum(answered_2h) as answered_2h, sum(answered_48h) as answered_48h
    from {{ ref('kpi_response_daily') }}
    group by {{ adapter.quote('date') }}
),

all_response as (
    select {{ adapter.quote('date') }}, inquiries, matured_2h, answered_2h, answered_48h
    from {{ ref('kpi_response_department_daily') }}
    where department = 'all'
),

staff_effective as (
    select {{ adapter.quote('date') }}, sum(outreaches) as outreaches, sum(matured_outreaches) as matured_outreaches,
        sum(effective_outreaches) as effective_outreaches
    from {{ ref('kpi_one_on_one_effective_daily') }}
    group by {{ adapter.quote('date') }}
),

all_effective as (
    select {{ adapter.quote('date') }}, outreaches, matured_outreaches, effective_outreaches
    from {{ ref('kpi_one_on_one_effective_department_daily') }}
    where department = 'all'
)

select 'response staff vs all' as check_name, a.{{ adapter.quote('date') }}
from all_response as a
left join staff_response as s on s.{{ adapter.quote('date') }} = a.{{ adapter.quote('date') }}
where coalesce(s.inquiries, 0) <> a.inquiries
   or coalesce(s.matured_2h, 0) <> a.matured_2h
   or coalesce(s.answered_2h, 0) <> a.answered_2h
   or coalesce(s.answered_48h, 0) <> a.answered_48h

union all

select 'effective staff vs all', a.{{ adapter.quote('date') }}
from all_effective as a
left join staff_effective as s on s.{{ adapter.quote('date') }} = a.{{ adapter.quote('date') }}
where coalesce(s.outreaches, 0) <> a.outreaches
   or coalesce(s.matured_outreaches, 0) <> a.matured_outreaches
   or coalesce(s.effective_outreaches, 0) <> a.effective_outreaches

union all

select 'response counts ordered', {{ adapter.quote('date') }}
from {{ ref('kpi_response_department_daily') }}
where not (answered_2h <= matured_2h and matured_2h <= inquiries
           and answered_48h <= matured_48h and matured_48h <= inquiries)

union all

select 'effective counts ordered', {{ adapter.quote('date') }}
from {{ ref('kpi_one_on_one_effective_department_daily') }}
where not (effective_outreaches <= matured_outreaches and matured_outreaches <= outreaches)

union all

select 'response run without its inquiry', cast(r.started_at as date)
from {{ ref('int_conversations__staff_runs') }} as r
left join {{ ref('fct_inquiries') }} as i
    on i.inquiry_id = r.answered_inquiry_id and i.response_msgid = r.staff_run_id
where r.run_type = 'response' and i.inquiry_id is null

union all

select 'answered inquiry without a response run', i.started_date
from {{ ref('fct_inquiries') }} as i
left join {{ ref('int_conversations__staff_runs') }} as r
    on r.staff_run_id = i.response_msgid and r.run_type = 'response'
where i.responded_at is not null and r.staff_run_id is null
