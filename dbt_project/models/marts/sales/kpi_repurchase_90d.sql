-- Published: 90-day repurchase rate by cohort month of the first qualifying purchase (t0)
-- and acquisition channel (docs/kpi-book.md "90-day repurchase rate"). A user is matured when
-- t0 + 90 days <= end of as_of and repurchased when a matured user has another qualifying
-- purchase with paid_at in (t0, t0 + 90 days]. rate = repurchased / matured (NULL when no
-- user has matured); users not yet matured are counted in immature_users.
{%- set end = as_of_end() %}

with buyers as (
    select * from {{ ref('fct_user_repurchase_90d') }}
)

select
    cohort_month,
    {{ company_total_label('source_channel') }} as channel,
    count(*) as cohort_users,
    count(*) filter (where is_matured) as matured_users,
    count(*) filter (where is_matured and is_repurchased) as repurchased_users,
    cast(count(*) filter (where is_matured and is_repurchased) as {{ type_double() }})
        / nullif(count(*) filter (where is_matured), 0) as repurchase_rate_90d,
    count(*) filter (where not is_matured) as immature_users
from buyers
{{ group_with_company_total(['cohort_month'], 'source_channel') }}
