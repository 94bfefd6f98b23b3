-- Business-hours FRT of every answered inquiry: the seconds between its start and its
-- response that fall inside the working calendar (macro conversations_business_hours:
-- var `service_business_hours`, default 09:00-18:00 Monday to Friday, no holidays).
-- An addition to wall-clock FRT (docs/kpi-book.md "Response rates"), never a replacement. One row
-- per calendar day the inquiry spans, summed per inquiry.
{%- set cal = conversations_business_hours() %}
with answered as (
    select inquiry_id, started_at, responded_at
    from {{ ref('int_conversations__inquiries') }}
    where responded_at is not null
),

spanned_days as (
    select
        inquiry_id,
        started_at,
        responded_at,
        {{ day_series_dates(
            'cast(cast(started_at as date) as timestamp)',
            'cast(cast(responded_at as date) as timestamp)'
        ) }} as day
    from answered
),

working_windows as (
    select
        inquiry_id,
        started_at,
        responded_at,
        {{ day_at('day', cal.start) }} as window_start,
        {{ day_at('day', cal.end) }} as window_end
    from spanned_days
    where {{ iso_day_of_week('day') }} in ({{ cal.work_days | join(', ') }})
    {%- if cal.holidays %}
      and day not in ({% for h in cal.holidays %}cast('{{ h }}' as date){% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif %}
)

select
    a.inquiry_id,
    cast(coalesce(sum(greatest(
        {{ epoch_ms("least(w.responded_at, w.window_end)") }}
        - {{ epoch_ms("greatest(w.started_at, w.window_start)") }},
        0
    )), 0) as {{ type_double() }}) / 1000 as frt_business_seconds
from answered as a
left join working_windows as w on w.inquiry_id = a.inquiry_id
group by a.inquiry_id
