-- Lifecycle stage of every unified user on each of the last var('lifecycle_history_days')
-- days up to as_of, with the rules of dim_users evaluated at each day's end (docs/kpi-book.md
-- "Users and lifecycle"). A user enters the distribution on the day it is first seen by any
-- identifier. Whether an order qualifies is judged as of the run (docs/kpi-book.md "Conventions"),
-- also for the earlier days; the as_of day matches dim_users exactly (tested). The rules are the
-- macro lifecycle_stage (macros/lifecycle.sql), shared with dim_users.
with days as (
    select date_day, day_start, day_end
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

-- What each user had bought by the end of each history day, as running sums over the days
-- (joining every order to every later day would be orders x days rows: ~230M at 1M users).
-- An order counts from the day it was paid (orders paid before the history, from its first
-- day); a qualifying one leaves the 365-day count on the first day whose end is 365 days or
-- more after its payment (the rule of dim_users: paid_at > day_end - 365 days).
history as (
    select min(date_day) as first_day, min(day_start) as first_day_start, max(day_end) as last_day_end
    from days
),

paid_orders as (
    select o.user_id, o.paid_at, o.is_qualifying, o.net_revenue
    from {{ ref('fct_orders') }} as o
    where o.is_paid and o.paid_at < (select last_day_end from history)
),

order_steps as (
    select
        o.user_id,
        case when cast(o.paid_at as date) > h.first_day then cast(o.paid_at as date)
             else h.first_day end as date_day,
        case when o.is_qualifying then 1 else 0 end as qualifying_step,
        case when o.is_qualifying then 1 else 0 end as qualifying_365d_step,
        o.net_revenue as revenue_step
    from paid_orders as o
    cross join history as h
    union all
    -- leaving the 365-day count on a history day
    select o.user_id, d.date_day, 0, -1, null
    from paid_orders as o
    inner join days as d
        on o.paid_at + interval '365 day' > d.day_start
        and o.paid_at + interval '365 day' <= d.day_end
    where o.is_qualifying
    union all
    -- or before the history started
    select o.user_id, h.first_day, 0, -1, null
    from paid_orders as o
    cross join history as h
    where o.is_qualifying and o.paid_at + interval '365 day' <= h.first_day_start
),

daily_steps as (
    select
        user_id,
        date_day,
        sum(qualifying_step) as qualifying_step,
        sum(qualifying_365d_step) as qualifying_365d_step,
        sum(revenue_step) as revenue_step
    from order_steps
    group by 1, 2
),

-- per user, the totals from each day with a step until the day before its next one
-- (valid_until: exclusive); a user-day reads the one range that holds it
purchases as (
    select
        user_id,
        date_day as valid_from,
        lead(date_day, 1, cast('9999-12-31' as date))
            over (partition by user_id order by date_day) as valid_until,
        cast(sum(qualifying_step) over running as bigint) as qualifying_purchases,
        cast(sum(qualifying_365d_step) over running as bigint) as qualifying_purchases_365d,
        sum(revenue_step) over running as ltv
    from daily_steps
    window running as (
        partition by user_id order by date_day rows between unbounded preceding and current row
    )
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
        w.user_id is not null as interacted_30d
    from user_days as ud
    left join purchases as p
        on p.user_id = ud.user_id and ud.date_day >= p.valid_from and ud.date_day < p.valid_until
    -- a user's active windows are disjoint (merged islands): at most one holds the day, so
    -- this join adds no rows (the unique test on user_id, date_day would fail otherwise)
    left join {{ ref('fct_user_active_windows') }} as w
        on w.user_id = ud.user_id and ud.date_day between w.active_from and w.active_to
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
