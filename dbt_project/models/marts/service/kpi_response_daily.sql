-- Response rates and FRT per day x staff member (docs/kpi-book.md "Response rates"), published.
-- Day = business day the inquiry started. Rate within X = inquiries matured for X and
-- answered within X / inquiries matured for X (NULL when none matured). FRT p50/p90 by
-- linear interpolation (quantile_cont) over the day's answered inquiries, whatever their
-- FRT and maturity, rounded to the millisecond (the source precision). Rows only for
-- days and staff with at least one inquiry.
with inquiries as (
    select * from {{ ref('fct_inquiries') }}
)

select
    started_date as {{ adapter.quote('date') }},
    staff_id,
    department,
    count(*) as inquiries,
    count(*) filter (where is_matured_2h) as matured_2h,
    count(*) filter (where is_matured_2h and is_answered_2h) as answered_2h,
    {{ conversations_rate('count(*) filter (where is_matured_2h and is_answered_2h)',
                          'count(*) filter (where is_matured_2h)') }} as response_rate_2h,
    count(*) filter (where is_matured_48h) as matured_48h,
    count(*) filter (where is_matured_48h and is_answered_48h) as answered_48h,
    {{ conversations_rate('count(*) filter (where is_matured_48h and is_answered_48h)',
                          'count(*) filter (where is_matured_48h)') }} as response_rate_48h,
    {{ round_double(percentile_cont('frt_seconds', 0.5), 3) }} as frt_p50_seconds,
    {{ round_double(percentile_cont('frt_seconds', 0.9), 3) }} as frt_p90_seconds,
    {{ round_double(percentile_cont('frt_business_seconds', 0.5), 3) }} as frt_business_p50_seconds,
    {{ round_double(percentile_cont('frt_business_seconds', 0.9), 3) }} as frt_business_p90_seconds
from inquiries
group by started_date, staff_id, department
