-- Group speaking rate (发言率, docs/kpi-book.md "Content and community") per day:
--   members  = distinct customers who are members at the end of the day,
--   speakers = distinct customers who sent >= 1 group message that day (customer sender, not
--              revoked, not bot) AND are members at the end of the day,
--   speaking_rate = speakers / members (NULL when no members).
-- Interpretation: a customer who spoke and left the same day is not a member at the end of
-- the day and is left out of the numerator too (counted in non_member_speakers), so the rate
-- stays a share of the day's end-of-day members, in [0, 1].
-- Levels (grain = date x roomid x department): one row per group (department = current
-- department of the group owner), roomid = 'all' per department, and roomid = 'all' /
-- department = 'all' for the company; at the 'all' levels a customer in several groups counts
-- once, and a speaker counts when it is a member of any group of that level at the day's end.
-- Members are a stock computed from +1/-1 deltas of membership intervals (merged per customer
-- and level), not from a customers x days cross join.
with calendar as (
    select date_day from {{ ref('dim_dates') }}
),

memberships as (
    select roomid, member_id as customer_id, joined_at, coalesce(left_at, {{ open_end() }}) as left_at
    from {{ ref('fct_group_membership') }}
    where member_type = 'customer'
),

speaking as (
    select distinct roomid, customer_id, cast(sent_at as date) as spoke_date
    from {{ ref('stg_community__messages') }}
    where chat_type = 'group'
      and sender_type = 'customer'
      and not is_revoked
      and not is_bot
      and roomid is not null
      and customer_id is not null
      and sent_at < {{ as_of_end() }}
),

known_rooms as (
    select groups.roomid, {{ department_of('staff') }} as department
    from {{ ref('stg_community__groups') }} as groups
    left join {{ ref('stg_crm__staff') }} as staff on staff.staff_id = groups.owner_staff_id
),

rooms as (
    select roomid, department from known_rooms
    union
    select roomid, 'unknown'
    from (select roomid from memberships union select roomid from speaking) as rooms
    where roomid not in (select roomid from known_rooms)
),

-- each group belongs to three levels: itself, its department, the company
room_levels as (
    select roomid, roomid as level_roomid, department as level_department from rooms
    union all
    select roomid, 'all', department from rooms
    union all
    select roomid, 'all', 'all' from rooms
),

level_memberships as (
    select room_levels.level_roomid, room_levels.level_department, memberships.customer_id,
           memberships.joined_at, memberships.left_at
    from memberships
    inner join room_levels on room_levels.roomid = memberships.roomid
),

-- union of a customer's membership intervals within a level
level_ordered as (
    select
        *,
        max(left_at) over (
            partition by level_roomid, level_department, customer_id order by joined_at, left_at
            rows between unbounded preceding and 1 preceding
        ) as previous_max_left_at
    from level_memberships
),

level_islands as (
    select
        *,
        sum(case when previous_max_left_at is null or joined_at > previous_max_left_at then 1 else 0 end) over (
            partition by level_roomid, level_department, customer_id order by joined_at, left_at
            rows unbounded preceding
        ) as island
    from level_ordered
),

level_members as (
    select level_roomid, level_department, customer_id,
           min(joined_at) as member_from, max(left_at) as member_to
    from level_islands
    group by level_roomid, level_department, customer_id, island
),

member_deltas as (
    select
        greatest(delta_date, (select min(date_day) from calendar)) as delta_date,
        level_roomid, level_department, sum(delta) as delta
    from (
        select level_roomid, level_department, cast(member_from as date) as delta_date, 1 as delta from level_members
        union all
        select level_roomid, level_department, cast(member_to as date), -1 from level_members
        where member_to < {{ open_end() }}
    ) as member_changes
    group by 1, 2, 3
),

level_speakers as (
    select distinct room_levels.level_roomid, room_levels.level_department, speaking.customer_id, speaking.spoke_date
    from speaking
    inner join room_levels on room_levels.roomid = speaking.roomid
),

speaker_status as (
    select
        level_speakers.*,
        level_members.customer_id is not null as is_member_at_end
    from level_speakers
    left join level_members
        on level_members.level_roomid = level_speakers.level_roomid
       and level_members.level_department = level_speakers.level_department
       and level_members.customer_id = level_speakers.customer_id
       and level_members.member_from < level_speakers.spoke_date + interval '1 day'
       and level_members.member_to >= level_speakers.spoke_date + interval '1 day'
),

daily_speakers as (
    select
        level_roomid, level_department, spoke_date,
        count(*) filter (where is_member_at_end) as speakers,
        count(*) filter (where not is_member_at_end) as non_member_speakers
    from speaker_status
    group by 1, 2, 3
),

levels as (
    select distinct level_roomid, level_department from room_levels
    union
    select 'all', department from {{ ref('stg_crm__staff') }}
    union
    select 'all', 'all'
),

stock as (
    select
        calendar.date_day,
        levels.level_roomid,
        levels.level_department,
        sum(coalesce(member_deltas.delta, 0)) over (
            partition by levels.level_roomid, levels.level_department
            order by calendar.date_day rows unbounded preceding
        ) as members
    from calendar
    cross join levels
    left join member_deltas
        on member_deltas.delta_date = calendar.date_day
       and member_deltas.level_roomid = levels.level_roomid
       and member_deltas.level_department = levels.level_department
)

select
    stock.date_day as date,
    stock.level_roomid as roomid,
    stock.level_department as department,
    cast(stock.members as bigint) as members,
    coalesce(daily_speakers.speakers, 0) as speakers,
    case
        when stock.members > 0 then cast(coalesce(daily_speakers.speakers, 0) as {{ type_double() }}) / stock.members
    end as speaking_rate,
    coalesce(daily_speakers.non_member_speakers, 0) as non_member_speakers
from stock
left join daily_speakers
    on daily_speakers.spoke_date = stock.date_day
   and daily_speakers.level_roomid = stock.level_roomid
   and daily_speakers.level_department = stock.level_department
