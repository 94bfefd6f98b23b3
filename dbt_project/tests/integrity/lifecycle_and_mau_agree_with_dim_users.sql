-- Integrity: the as-of day of the lifecycle distribution equals dim_users' stages, and MAU of
-- the as-of day equals the users dim_users counts as having interacted in the last 30 days.
with as_of_day as (
    select max(date_day) as date_day from {{ ref('dim_dates') }}
),

daily as (
    select lifecycle_stage, users
    from {{ ref('kpi_lifecycle_daily') }}
    where department = 'all' and date = (select date_day from as_of_day)
),

dim as (
    select lifecycle_stage, count(*) as users from {{ ref('dim_users') }} group by 1
)

select 'lifecycle ' || coalesce(d.lifecycle_stage, m.lifecycle_stage) as check_name,
       d.users as from_daily, m.users as from_dim_users
from daily as d
full outer join dim as m using (lifecycle_stage)
where d.users is distinct from m.users
union all
select 'mau', a.mau, (select count(*) from {{ ref('dim_users') }} where interactions_30d > 0)
from {{ ref('kpi_active_users_daily') }} as a
where a.department = 'all' and a.date = (select date_day from as_of_day)
  and a.mau <> (select count(*) from {{ ref('dim_users') }} where interactions_30d > 0)
