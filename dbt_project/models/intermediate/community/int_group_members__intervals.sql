-- Group membership intervals from join/leave events (before the end of as_of), replayed like
-- tags: events of a (roomid, member_id) in event_at order (ties: delivery order); a `join` of
-- a current member (double join) and a `leave` of a non-member (leave without a prior join,
-- e.g. a join that happened before the archive or a leave delivered before its join) change
-- nothing. Each effective join opens [joined_at, left_at) closed by the next effective leave.
-- "Member at the end of day D" = joined_at < day_end and (left_at is null or left_at >= day_end).
with events as (
    select membership_event_id, roomid, member_id, member_type, action, event_at, _dt, _file, _line
    from {{ ref('stg_community__group_members') }}
    where event_at < {{ as_of_end() }}
),

sequenced as (
    select
        *,
        lag(action) over member_history as previous_action
    from events
    window member_history as (
        partition by roomid, member_id order by event_at, _dt, _file, _line
    )
),

effective as (
    select *
    from sequenced
    where action <> coalesce(previous_action, 'leave')
),

paired as (
    select
        *,
        lead(event_at) over member_history as next_event_at,
        lead(membership_event_id) over member_history as next_event_id
    from effective
    window member_history as (
        partition by roomid, member_id order by event_at, _dt, _file, _line
    )
)

select
    membership_event_id as membership_id,
    roomid,
    member_id,
    member_type,
    event_at as joined_at,
    next_event_at as left_at,
    membership_event_id as join_event_id,
    next_event_id as leave_event_id,
    next_event_at is null as is_current
from paired
where action = 'join'
