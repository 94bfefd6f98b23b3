-- DAU / MAU (docs/kpi-book.md "Users and lifecycle"): distinct unified users with an interaction
-- that day / in the trailing 30 days ((end - 30 days, end]). Interactions: customer messages,
-- content opens and clicks, qualifying purchases. department = the user's owning department
-- (`none` for users without a CRM owner); `all` is the company total.
with days as (
    select date_day from {{ ref('dim_dates') }}
),

users as (
    select user_id, {{ department_or_none('department') }} as department from {{ ref('dim_users') }}
),

-- each user once per day with an interaction; counting these rows is counting distinct users
-- (at 1M users this model: 3.5 s -> 1.7 s against count(distinct) per group, the same rows)
day_users as (
    select distinct cast(interaction_at as date) as date_day, user_id
    from {{ ref('fct_user_interactions') }}
),

-- the company row is written out, not company_total_label: it counts the users of every
-- interaction, the departments only those found in dim_users (not the same rows)
daily_active as (
    select d.date_day, u.department, count(*) as dau
    from day_users as d
    inner join users as u using (user_id)
    group by 1, 2
    union all
    select date_day, 'all', count(user_id)
    from day_users
    group by 1
),

window_deltas as (
    select w.active_from as date_day, u.department, 1 as delta
    from {{ ref('fct_user_active_windows') }} as w inner join users as u using (user_id)
    union all
    select w.active_to + 1, u.department, -1
    from {{ ref('fct_user_active_windows') }} as w inner join users as u using (user_id)
),

deltas as (
    select date_day, {{ company_total_label('department') }} as department, sum(delta) as delta
    from window_deltas
    {{ group_with_company_total(['date_day'], 'department') }}
),

departments as (
    select distinct department from deltas
),

grid as (
    select d.date_day, p.department from days as d cross join departments as p
),

monthly as (
    select
        g.date_day,
        g.department,
        sum(coalesce(x.delta, 0)) over (
            partition by g.department order by g.date_day rows unbounded preceding
        ) + coalesce((
            -- windows opened before the calendar's first day
            select sum(y.delta) from deltas as y
            where y.department = g.department and y.date_day < (select min(date_day) from days)
        ), 0) as mau
    from grid as g
    left join deltas as x using (date_day, department)
)

select
    m.date_day as date,
    m.department,
    coalesce(a.dau, 0) as dau,
    cast(m.mau as bigint) as mau,
    cast(coalesce(a.dau, 0) as {{ type_double() }}) / nullif(m.mau, 0) as dau_mau_ratio
from monthly as m
left join daily_active as a using (date_day, department)
