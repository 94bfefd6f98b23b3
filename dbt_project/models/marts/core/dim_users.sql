-- Published: the user 360, one row per unified user as of the end of the as-of day.
-- Per docs/kpi-book.md "Conventions": channel, owner and department come from the user's
-- earliest-created contact, preferring active ones; a user with no CRM contact has source_channel
-- 'unknown' and no owner. First seen = earliest of contact created_at, first message as sender,
-- first qualifying purchase. LTV = net revenue of the user's paid orders (0 for a non-buyer).
{%- set end = as_of_end() %}

with identities as (
    select * from {{ ref('int_identity__users') }}
),

users as (
    select
        user_id,
        count(*) filter (where identifier_type = 'contact_id') as contacts,
        count(*) filter (where identifier_type = 'buyer_id') as buyer_ids,
        count(*) filter (where identifier_type = 'external_userid') as external_userids
    from identities
    group by 1
),

contacts as (
    select
        i.user_id,
        c.contact_id,
        c.source_channel,
        c.owner_staff_id,
        c.created_at,
        c.is_deleted,
        row_number() over (
            partition by i.user_id
            order by c.is_deleted asc, c.created_at asc nulls last, c.contact_id asc
        ) as preference
    from identities as i
    inner join {{ ref('stg_crm__contacts') }} as c
        on i.identifier_type = 'contact_id' and c.contact_id = i.identifier_value
    where c.updated_at < {{ end }}
),

contact_summary as (
    select
        user_id,
        min(created_at) as first_contact_created_at,
        bool_or(not is_deleted) as is_active_contact
    from contacts
    group by 1
),

primary_contact as (
    select c.user_id, c.contact_id as primary_contact_id, c.source_channel, c.owner_staff_id,
           s.department
    from contacts as c
    left join {{ ref('stg_crm__staff') }} as s on s.staff_id = c.owner_staff_id
    where c.preference = 1
),

orders as (
    select
        user_id,
        min(paid_at) filter (where is_qualifying) as first_purchase_at,
        max(paid_at) filter (where is_qualifying) as last_purchase_at,
        count(*) filter (where is_qualifying) as qualifying_purchases,
        count(*) filter (where is_qualifying and paid_at > {{ end }} - interval '365 day')
            as qualifying_purchases_365d,
        coalesce(sum(net_revenue) filter (where is_paid), 0) as ltv,
        coalesce(sum(net_revenue) filter (where is_paid and paid_at > {{ end }} - interval '365 day'), 0)
            as net_revenue_365d
    from {{ ref('fct_orders') }}
    where user_id is not null
    group by 1
),

interactions as (
    select
        user_id,
        max(interaction_at) as last_interaction_at,
        min(interaction_at) filter (where interaction_type = 'message') as first_message_at,
        count(*) filter (where interaction_at > {{ end }} - interval '30 day') as interactions_30d
    from {{ ref('fct_user_interactions') }}
    group by 1
),

nps as (
    select {{ distinct_on('i.user_id') }}
        i.user_id, s.score as latest_nps_score, s.submitted_at as latest_nps_at
    from {{ ref('stg_crm__surveys') }} as s
    inner join identities as i
        on i.identifier_type = 'contact_id' and i.identifier_value = s.contact_id
    where s.submitted_at < {{ end }}
    {{ keep_first('i.user_id', 's.submitted_at desc, s.response_id desc') }}
),

tags as (
    select
        user_id,
        {{ string_agg_distinct_sorted("tag_group || ':' || tag_name", "'; '") }}
            as current_tags,
        count(distinct tag_group) as tag_groups_held,
        count(distinct tag_group) filter (
            where tag_group in (
                {% for g in var('required_tag_groups') -%}
                    '{{ g }}'{{ ", " if not loop.last }}
                {%- endfor %}
            )
        ) = {{ var('required_tag_groups') | length }} as has_required_tag_groups
    from {{ ref('dim_contact_tags_current') }}
    where user_id is not null
    group by 1
),

joined as (
    select
        u.user_id,
        least(cs.first_contact_created_at, it.first_message_at, o.first_purchase_at) as first_seen_at,
        coalesce(pc.source_channel, 'unknown') as source_channel,
        pc.owner_staff_id,
        pc.department,
        pc.primary_contact_id,
        coalesce(cs.is_active_contact, false) as is_active_contact,
        u.contacts,
        u.buyer_ids,
        u.external_userids,
        o.first_purchase_at,
        o.last_purchase_at,
        coalesce(o.qualifying_purchases, 0) as qualifying_purchases,
        coalesce(o.qualifying_purchases_365d, 0) as qualifying_purchases_365d,
        cast(coalesce(o.ltv, 0) as decimal(18, 2)) as ltv,
        cast(coalesce(o.net_revenue_365d, 0) as decimal(18, 2)) as net_revenue_365d,
        {{ decimal_of_double("o.ltv / nullif(o.qualifying_purchases, 0)") }} as lifetime_aov,
        it.last_interaction_at,
        coalesce(it.interactions_30d, 0) as interactions_30d,
        n.latest_nps_score,
        n.latest_nps_at,
        t.current_tags,
        coalesce(t.tag_groups_held, 0) as tag_groups_held,
        coalesce(t.has_required_tag_groups, false) as has_required_tag_groups
    from users as u
    left join contact_summary as cs using (user_id)
    left join primary_contact as pc using (user_id)
    left join orders as o using (user_id)
    left join interactions as it using (user_id)
    left join nps as n using (user_id)
    left join tags as t using (user_id)
),

staged as (
    select
        *,
        -- plain mean of lifetime AOV over all buyers (rule 3 of docs/kpi-book.md
        -- "Users and lifecycle")
        avg(lifetime_aov) over () as mean_lifetime_aov_of_buyers,
        -- RFM over buyers of the last 365 days: quintile of the percent rank, ties share a score
        case when qualifying_purchases_365d > 0 then least(5, 1 + floor(5 * percent_rank() over (
            partition by qualifying_purchases_365d > 0 order by last_purchase_at))) end as rfm_r,
        case when qualifying_purchases_365d > 0 then least(5, 1 + floor(5 * percent_rank() over (
            partition by qualifying_purchases_365d > 0 order by qualifying_purchases_365d))) end as rfm_f,
        case when qualifying_purchases_365d > 0 then least(5, 1 + floor(5 * percent_rank() over (
            partition by qualifying_purchases_365d > 0 order by net_revenue_365d))) end as rfm_m
    from joined
)

select
    user_id,
    first_seen_at,
    source_channel,
    owner_staff_id,
    department,
    primary_contact_id,
    is_active_contact,
    contacts,
    buyer_ids,
    external_userids,
    first_purchase_at,
    last_purchase_at,
    qualifying_purchases,
    qualifying_purchases_365d,
    ltv,
    net_revenue_365d,
    lifetime_aov,
    last_interaction_at,
    interactions_30d,
    {{ lifecycle_stage('qualifying_purchases_365d', 'first_seen_at', end, 'interactions_30d > 0',
                       'qualifying_purchases', 'lifetime_aov', 'mean_lifetime_aov_of_buyers') }}
        as lifecycle_stage,
    cast(rfm_r as integer) as rfm_r,
    cast(rfm_f as integer) as rfm_f,
    cast(rfm_m as integer) as rfm_m,
    latest_nps_score,
    latest_nps_at,
    current_tags,
    tag_groups_held,
    has_required_tag_groups
from staged
