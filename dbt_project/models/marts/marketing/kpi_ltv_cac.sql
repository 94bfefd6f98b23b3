-- LTV/CAC per acquisition channel (docs/kpi-book.md "Acquisition"): LTV at 365 days where complete,
-- else the longest complete horizon (labelled in ltv_horizon_days), over every complete cohort
-- of the channel (user-weighted: total LTV / users); CAC over all months to date (total
-- allocated spend / new contacts). The source material's bar: LTV/CAC >= 3.
with cohorts as (
    select channel, horizon_days, sum(total_ltv) as total_ltv, sum(users) as users
    from {{ ref('kpi_ltv_cohorts') }}
    where is_complete
    group by 1, 2
),

longest as (
    select {{ distinct_on('channel') }} *
    from cohorts
    {{ keep_first('channel', 'horizon_days desc') }}
),

cac as (
    select channel, sum(spend_cny) as spend_cny, sum(new_contacts) as new_contacts
    from {{ ref('kpi_cac_monthly') }}
    group by 1
),

channels as (
    select channel from longest
    union
    select channel from cac
)

select
    c.channel,
    l.horizon_days as ltv_horizon_days,
    l.users as ltv_users,
    {{ decimal_of_double("l.total_ltv / nullif(l.users, 0)") }} as ltv,
    cast(k.spend_cny as decimal(18, 2)) as spend_cny,
    k.new_contacts,
    {{ decimal_of_double("k.spend_cny / nullif(k.new_contacts, 0)") }} as cac,
    {{ divide_double(
        divide_double('l.total_ltv', 'nullif(l.users, 0)'),
        'nullif(' ~ divide_double('k.spend_cny', 'nullif(k.new_contacts, 0)') ~ ', 0)'
    ) }} as ltv_cac_ratio,
    {{ divide_double(
        divide_double('l.total_ltv', 'nullif(l.users, 0)'),
        'nullif(' ~ divide_double('k.spend_cny', 'nullif(k.new_contacts, 0)') ~ ', 0)'
    ) }} >= 3
        as meets_ltv_cac_bar
from channels as c
left join longest as l using (channel)
left join cac as k using (channel)
