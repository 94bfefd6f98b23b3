-- Tag holdings as intervals (docs/kpi-book.md "Tags"): the current tags of a contact result from
-- applying its add/remove events in tagged_at order; removing a tag that is not held and re-adding
-- a held tag change nothing. So the state after an event is simply its action, and only events
-- whose action differs from the previous event's action (initially: not held) change the state.
-- Each effective `add` opens an interval [held_from, held_to) closed by the next effective
-- `remove`. "Held at the end of day D" = held_from < day_end and (held_to is null or
-- held_to >= day_end): an interval lookup, no replay per day.
-- Events at the same tagged_at are ordered by delivery (_dt, _file, _line), as docs/kpi-book.md
-- "Conventions" orders versions. Only events before the end of as_of count.
with events as (
    select tag_event_id, contact_id, tag_group, tag_name, action, tagged_at, _dt, _file, _line
    from {{ ref('stg_crm__contact_tags') }}
    where tagged_at < {{ as_of_end() }}
),

sequenced as (
    select
        *,
        lag(action) over tag_history as previous_action
    from events
    window tag_history as (
        partition by contact_id, tag_group, tag_name
        order by tagged_at, _dt, _file, _line
    )
),

effective as (
    select *
    from sequenced
    where action <> coalesce(previous_action, 'remove')
),

paired as (
    select
        *,
        lead(tagged_at) over tag_history as next_tagged_at,
        lead(tag_event_id) over tag_history as next_tag_event_id
    from effective
    window tag_history as (
        partition by contact_id, tag_group, tag_name
        order by tagged_at, _dt, _file, _line
    )
)

select
    tag_event_id as holding_id,
    contact_id,
    tag_group,
    tag_name,
    tagged_at as held_from,
    next_tagged_at as held_to,
    tag_event_id as add_event_id,
    next_tag_event_id as remove_event_id,
    next_tagged_at is null as is_current
from paired
where action = 'add'
