-- Published: the SOP to-do list. One row per task still open at the end of the as-of day, for
-- the staff member the KPI marts attribute the record to: an inquiry's conversation staff,
-- otherwise the user's owner (department: that staff member's, `unknown` without one).
--   inquiry_unanswered_48h  an inquiry started 48 h or more before the end of the day, not
--                           answered by then (due at started_at + 48 h; priority 1)
--   inquiry_over_2h         one started 2 h or more before the end, not answered, and not yet
--                           48 h old (each open inquiry is listed once, at its most urgent
--                           type; due at started_at + 2 h; priority 2)
--   nps_detractor_followup  an NPS answer 0-6 submitted in the last 7 days with no 1v1 staff
--                           message to that person after it (due 24 h after the answer;
--                           priority 2)
--   contact_untagged_6h     an active contact created 6 h or more before the end of the day
--                           that does not hold a tag in every required group
--                           (var required_tag_groups; due at created_at + 6 h; priority 3)
--   high_value_silent_30d   a high_value user with no interaction in the last 30 days
--                           (priority 3)
--   churn_risk_winback      a user in the churn_risk lifecycle stage (priority 4)
-- "More than X before the end" is read as the KPI marts' maturity: started_at + X <= end of
-- the day (exactly 2 h / 6 h counts). age_hours: hours from the record's time (inquiry start,
-- answer, contact creation, last interaction) to the end of the day. Users' tasks are due at
-- the end of the as-of day.
{%- set required_groups = var('required_tag_groups') %}
{%- set day_end = as_of_end() %}
with staff as (
    select staff_id, department from {{ ref('stg_crm__staff') }}
),

users as (
    select user_id, owner_staff_id, primary_contact_id, lifecycle_stage, last_interaction_at,
           interactions_30d, first_seen_at
    from {{ ref('dim_users') }}
),

open_inquiries as (
    select
        case when started_at + interval '48 hour' <= {{ day_end }} then 'inquiry_unanswered_48h'
             else 'inquiry_over_2h' end as task_type,
        staff_id,
        user_id,
        inquiry_id as reference_id,
        started_at + case when started_at + interval '48 hour' <= {{ day_end }}
                          then interval '48 hour' else interval '2 hour' end as due_at,
        started_at as since,
        case when started_at + interval '48 hour' <= {{ day_end }} then 1 else 2 end as priority
    from {{ ref('fct_inquiries') }}
    where responded_at is null
      and started_at + interval '2 hour' <= {{ day_end }}
),

contact_users as (
    select identifier_value as contact_id, user_id
    from {{ ref('dim_user_identifiers') }}
    where identifier_type = 'contact_id'
),

untagged_contacts as (
    select
        'contact_untagged_6h' as task_type,
        c.owner_staff_id as staff_id,
        cu.user_id,
        c.contact_id as reference_id,
        c.created_at + interval '6 hour' as due_at,
        c.created_at as since,
        3 as priority
    from {{ ref('stg_crm__contacts') }} as c
    left join contact_users as cu on cu.contact_id = c.contact_id
    where not c.is_deleted
      and c.created_at + interval '6 hour' <= {{ day_end }}
      {%- if required_groups | length > 0 %}
      and (
          select count(distinct t.tag_group)
          from {{ ref('dim_contact_tags_current') }} as t
          where t.contact_id = c.contact_id
            and t.tag_group in (
                {% for g in required_groups -%}
                    '{{ g }}'{{ ", " if not loop.last }}
                {%- endfor %}
            )
      ) < {{ required_groups | length }}
      {%- else %}
      and false
      {%- endif %}
),

detractors as (
    select
        'nps_detractor_followup' as task_type,
        u.owner_staff_id as staff_id,
        cu.user_id,
        s.response_id as reference_id,
        s.submitted_at + interval '24 hour' as due_at,
        s.submitted_at as since,
        2 as priority
    from {{ ref('stg_crm__surveys') }} as s
    inner join contact_users as cu on cu.contact_id = s.contact_id
    left join users as u on u.user_id = cu.user_id
    where s.score <= 6
      and s.submitted_at < {{ day_end }}
      and s.submitted_at >= {{ day_end }} - interval '7 day'
      and not exists (
          select 1 from {{ ref('fct_messages') }} as m
          where m.user_id = cu.user_id
            and m.chat_type = 'single' and m.sender_type = 'staff' and not m.is_revoked
            and m.sent_at > s.submitted_at and m.sent_at < {{ day_end }}
      )
),

user_tasks as (
    select
        case when lifecycle_stage = 'high_value' then 'high_value_silent_30d'
             else 'churn_risk_winback' end as task_type,
        owner_staff_id as staff_id,
        user_id,
        coalesce(primary_contact_id, user_id) as reference_id,
        cast({{ day_end }} as timestamp) as due_at,
        coalesce(last_interaction_at, first_seen_at) as since,
        case when lifecycle_stage = 'high_value' then 3 else 4 end as priority
    from users
    where lifecycle_stage = 'churn_risk'
       or (lifecycle_stage = 'high_value' and coalesce(interactions_30d, 0) = 0)
),

tasks as (
    select * from open_inquiries
    union all select * from untagged_contacts
    union all select * from detractors
    union all select * from user_tasks
)

select
    {{ as_of_date() }} as as_of,
    t.staff_id,
    {{ department_of('s') }} as department,
    t.task_type,
    t.user_id,
    t.reference_id,
    t.due_at,
    {{ round_double(dbt.datediff('t.since', day_end, 'second') ~ ' / 3600.0', 2) }} as age_hours,
    t.priority
from tasks as t
left join staff as s on s.staff_id = t.staff_id
