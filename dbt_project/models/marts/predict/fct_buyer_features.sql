-- Predictive KPIs: one row per user with at least one qualifying purchase up to the end of
-- as_of, with what the models and the lifecycle baseline need besides purchases: the
-- acquisition channel (dim_users.source_channel) and the last interaction (any customer
-- message, content open or click, or qualifying purchase: fct_user_interactions) before the
-- end of as_of and before the evaluation origin, the end of as_of - 90 days.
{%- set end = as_of_end() %}

with buyers as (
    select distinct user_id from {{ ref('fct_user_purchase_days') }}
),

interactions as (
    select
        i.user_id,
        max(i.interaction_at) as last_interaction_at,
        max(case when i.interaction_at < {{ as_of_date() }} + interval '1 day' - interval '90 days'
                 then i.interaction_at end) as last_interaction_at_origin
    from {{ ref('fct_user_interactions') }} as i
    inner join buyers as b on b.user_id = i.user_id
    where i.interaction_at < {{ end }}
    group by 1
)

select
    b.user_id,
    {{ as_of_date() }} as as_of,
    u.source_channel,
    {{ department_or_none('u.department') }} as department,
    i.last_interaction_at,
    i.last_interaction_at_origin
from buyers as b
inner join {{ ref('dim_users') }} as u on u.user_id = b.user_id
left join interactions as i on i.user_id = b.user_id
