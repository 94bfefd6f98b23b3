-- One row per membership interval of a member in a customer group (see
-- int_group_members__intervals for the join/leave replay: double joins and leaves without a
-- join are no-ops). left_at is NULL while the member is still in the group at the end of as_of.
-- user_id is the unified user of a customer member; department = current department of the
-- group owner.
with memberships as (
    select * from {{ ref('int_group_members__intervals') }}
),

identifiers as (
    select identifier_value as external_userid, user_id
    from {{ ref('dim_user_identifiers') }}
    where identifier_type = 'external_userid'
)

select
    memberships.membership_id,
    memberships.roomid,
    memberships.member_id,
    memberships.member_type,
    case when memberships.member_type = 'customer' then identifiers.user_id end as user_id,
    memberships.joined_at,
    memberships.left_at,
    cast(memberships.joined_at as date) as joined_date,
    cast(memberships.left_at as date) as left_date,
    memberships.is_current,
    groups.owner_staff_id,
    {{ department_of('staff') }} as department
from memberships
left join identifiers on identifiers.external_userid = memberships.member_id
left join {{ ref('stg_community__groups') }} as groups on groups.roomid = memberships.roomid
left join {{ ref('stg_crm__staff') }} as staff on staff.staff_id = groups.owner_staff_id
