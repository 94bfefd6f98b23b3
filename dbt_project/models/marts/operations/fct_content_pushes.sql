-- One row per content push sent before the end of as_of, with its reach (docs/kpi-book.md "Content
-- and community"): reached = distinct recipients with a delivered, opened or clicked event (an open
-- or a click implies delivery); openers = distinct recipients who opened or clicked (a click
-- implies an open: it cannot be clicked unopened, so a lone `clicked` is a lost `opened`);
-- clickers = distinct recipients who clicked. Only events before the end of as_of count, so a
-- push's numbers grow while late opens arrive. department = current department of the
-- pushing staff member.
with pushes as (
    select push_id, content_id, channel, staff_id, sent_at
    from {{ ref('stg_community__content_pushes') }}
    where sent_at < {{ as_of_end() }}
),

recipients as (
    select
        push_id,
        external_userid,
        bool_or(event = 'opened') as has_opened,
        bool_or(event = 'clicked') as has_clicked
    from {{ ref('stg_community__content_events') }}
    where event_at < {{ as_of_end() }}
    group by push_id, external_userid
),

reach as (
    select
        push_id,
        count(*) as reached,
        count(*) filter (where has_opened or has_clicked) as openers,
        count(*) filter (where has_clicked) as clickers,
        count(*) filter (where has_clicked and not has_opened) as clickers_without_open
    from recipients
    group by push_id
)

select
    pushes.push_id,
    pushes.content_id,
    pushes.channel,
    pushes.staff_id,
    {{ department_of('staff') }} as department,
    pushes.sent_at,
    cast(pushes.sent_at as date) as sent_date,
    coalesce(reach.reached, 0) as reached,
    coalesce(reach.openers, 0) as openers,
    coalesce(reach.clickers, 0) as clickers,
    coalesce(reach.clickers_without_open, 0) as clickers_without_open
from pushes
left join reach on reach.push_id = pushes.push_id
left join {{ ref('stg_crm__staff') }} as staff on staff.staff_id = pushes.staff_id
