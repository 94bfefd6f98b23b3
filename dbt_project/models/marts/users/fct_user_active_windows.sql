-- Per user, the runs of business days on which the user "had an interaction in the last 30
-- days" (docs/kpi-book.md "Users and lifecycle"): an interaction at t counts for day D when
-- D_end - 30 days < t < D_end, i.e. for D from date(t) to date(t + 30 days - 1 microsecond) - 1 day
-- ... which is date(t) + 29 days, or + 28 days when t is exactly midnight.
-- Overlapping or adjacent windows of a user are merged (gaps and islands), so a day is
-- covered by at most one window per user and counts of users per day are plain sums.
with windows as (
    -- distinct, so that (first_day, last_day) orders a user's windows totally and both
    -- window functions below see the same order
    select distinct
        user_id,
        cast(interaction_at as date) as first_day,
        cast(interaction_at + interval '29 day' - interval '1 microsecond' as date) as last_day
    from {{ ref('fct_user_interactions') }}
),

ordered as (
    select
        *,
        max(last_day) over (
            partition by user_id order by first_day, last_day
            rows between unbounded preceding and 1 preceding
        ) as previous_last_day
    from windows
),

islands as (
    select
        *,
        sum(case when previous_last_day is null or first_day > previous_last_day + 1 then 1 else 0 end)
            over (partition by user_id order by first_day, last_day rows unbounded preceding)
            as island
    from ordered
)

select
    user_id,
    min(first_day) as active_from,
    max(last_day) as active_to
from islands
group by user_id, island
