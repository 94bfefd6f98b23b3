-- Lifecycle stage of every unified user on each of the last var('lifecycle_history_days')
-- days up to as_of, with the rules of dim_users evaluated at each day's end (kpis.md
-- "Users and lifecycle"). A user enters the distribution on the day it is first seen by any
-- identifier. Whether an order qualifies is judged as of the run (kpis.md), also for the
-- earlier days; the as_of day matches dim_users exactly (tested). The rules are the macro
-- lifecycle_stage (macros/lifecycle.sql), shared with dim_users.
with days as (
    select date_day, day_end
    from {{ ref('dim_dates') }}
    {%- if var('lifecycle_history_days') | int > 0 %}
    where date_day > (select max(date_day) from {{ ref('dim_dates') }}) - {{ var('lifecycle_history_days') | int }}
    {%- endif %}
),

users as (
    select
        u.user_id,
        {{ department_or_none('u.department') }} as department,
        u.first_seen_at,
        (select min(i.first_seen_at) from {{ ref('dim_user_identifiers') }} as i where i.user_id = u.user_id)
            as known_since
    from {{ ref('dim_users') }} as u
),

user_days as (
    select u.user_id, u.department, u.first_seen_at, d.date_day, d.day_end
    from users as u
    inner join days as d on coalesce(u.known_since, u.first_seen_at) < d.day_end
),

purchases as (
    select
        ud.user_id,
        ud.date_day,
        count(*) filter (where o.is_qualifying) as qualifying_purchases,
        count(*) filter (where o.is_qualifying and o.paid_at > ud.day_end - interval '365 day')
            as qualifying_purchases_365d,
        sum(o.net_revenue) as ltv
    from user_days as ud
    inner join {{ ref('fct_orders') }} as o
        on o.user_id = ud.user_id and o.is_paid and o.paid_at < ud.day_end
    group by 1, 2
),

states as (
    select
        ud.user_id,
        ud.department,
        ud.date_day,
        ud.day_end,
        ud.first_seen_at,
        coalesce(p.qualifying_purchases, 0) as qualifying_purchases,
        coalesce(p.qualifying_purchases_365d, 0) as qualifying_purchases_365d,
        p.ltv / nullif(p.qualifying_purchases, 0) as lifetime_aov,
        exists(
            select 1 from {{ ref('fct_user_active_windows') }} as w
            where w.user_id = ud.user_id and ud.date_day between w.active_from and w.active_to
        ) as interacted_30d
    from user_days as ud
    left join purchases as p using (user_id, date_day)
),

with_mean as (
    select *, avg(lifetime_aov) over (partition by date_day) as mean_lifetime_aov_of_buyers
    from states
)

select
    user_id,
    department,
    date_day,
    {{ lifecycle_stage('qualifying_purchases_365d', 'first_seen_at', 'day_end', 'interacted_30d',
                       'qualifying_purchases', 'lifetime_aov', 'mean_lifetime_aov_of_buyers') }}
        as lifecycle_stage
from with_mean
