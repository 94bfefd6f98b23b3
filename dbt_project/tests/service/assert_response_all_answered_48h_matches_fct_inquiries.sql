-- Integrity (recompute a KPI a second way): per day, the company-total ('all') answered_48h
-- and matured_48h of kpi_response_department_daily must equal the counts of fct_inquiries
-- matured for 48h and answered within 48h. Returns the days where they disagree.
with kpi as (
    select {{ adapter.quote('date') }}, answered_48h, matured_48h
    from {{ ref('kpi_response_department_daily') }}
    where department = 'all'
),

recomputed as (
    select
        started_date as {{ adapter.quote('date') }},
        count(*) filter (where is_matured_48h and responded_at <= started_at + interval '48 hour')
            as answered_48h,
        count(*) filter (where started_at + interval '48 hour' <= {{ as_of_end() }}) as matured_48h
    from {{ ref('fct_inquiries') }}
    group by started_date
)

select
    coalesce(k.{{ adapter.quote('date') }}, r.{{ adapter.quote('date') }}) as {{ adapter.quote('date') }},
    k.answered_48h as kpi_answered_48h,
    r.answered_48h as recomputed_answered_48h,
    k.matured_48h as kpi_matured_48h,
    r.matured_48h as recomputed_matured_48h
from kpi as k
full outer join recomputed as r on r.{{ adapter.quote('date') }} = k.{{ adapter.quote('date') }}
where coalesce(k.answered_48h, 0) <> coalesce(r.answered_48h, 0)
   or coalesce(k.matured_48h, 0) <> coalesce(r.matured_48h, 0)
