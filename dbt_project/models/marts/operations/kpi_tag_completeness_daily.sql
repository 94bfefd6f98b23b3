-- Tag completeness (标签完整率, docs/kpi-book.md "Tags"), a stock KPI at the end of each day:
-- complete_contacts / active_contacts per day and owning department (+ 'all').
-- Scales without a contacts x days cross join: each contact contributes intervals
--   * active: int_contact_versions__active_intervals (current version not deleted),
--   * complete: it holds >= 1 current tag in every required group (var required_tag_groups),
--     obtained by a sweep over the per-group coverage intervals,
-- and every interval becomes a +1 on the day it starts and a -1 on the day it ends; the stock
-- at the end of day D is the running sum of these deltas up to D (an interval that starts and
-- ends within one day nets to 0, matching "held at the end of the day").
{%- set required_groups = var('required_tag_groups') %}
{%- set n_required = required_groups | length %}
with calendar as (
    select date_day, day_end from {{ ref('dim_dates') }}
),

active as (
    select contact_id, department, active_from, active_to
    from {{ ref('int_contact_versions__active_intervals') }}
),

{% if n_required > 0 %}
required_holdings as (
    select contact_id, tag_group, held_from, coalesce(held_to, {{ open_end() }}) as held_to
    from {{ ref('int_contact_tags__holdings') }}
    where tag_group in (
        {% for g in required_groups -%}
            '{{ g }}'{{ ", " if not loop.last }}
        {%- endfor %}
    )
),

-- union of the holdings of one group (several tag names may overlap or touch)
group_ordered as (
    select
        *,
        max(held_to) over (
            partition by contact_id, tag_group order by held_from, held_to
            rows between unbounded preceding and 1 preceding
        ) as previous_max_to
    from required_holdings
),

group_islands as (
    select
        *,
        sum(case when previous_max_to is null or held_from > previous_max_to then 1 else 0 end) over (
            partition by contact_id, tag_group order by held_from, held_to rows unbounded preceding
        ) as island
    from group_ordered
),

group_coverage as (
    select contact_id, tag_group, min(held_from) as covered_from, max(held_to) as covered_to
    from group_islands
    group by contact_id, tag_group, island
),

-- sweep: number of required groups covered, changing at each coverage boundary
coverage_changes as (
    select contact_id, changed_at, sum(delta) as delta
    from (
        select contact_id, covered_from as changed_at, 1 as delta from group_coverage
        union all
        select contact_id, covered_to, -1 from group_coverage where covered_to < {{ open_end() }}
    ) as changes
    group by contact_id, changed_at
    having sum(delta) <> 0
),

coverage_running as (
    select
        contact_id,
        changed_at,
        sum(delta) over (partition by contact_id order by changed_at rows unbounded preceding) as groups_covered,
        lead(changed_at) over (partition by contact_id order by changed_at) as next_changed_at
    from coverage_changes
),

complete as (
    select contact_id, changed_at as complete_from, coalesce(next_changed_at, {{ open_end() }}) as complete_to
    from coverage_running
    where groups_covered = {{ n_required }}
),
{% else %}
-- no required group configured: every active contact is complete
complete as (
    select distinct contact_id, cast('0001-01-01' as timestamp) as complete_from, {{ open_end() }} as complete_to
    from active
),
{% endif %}

active_complete as (
    select
        active.contact_id,
        active.department,
        greatest(active.active_from, complete.complete_from) as from_at,
        least(coalesce(active.active_to, {{ open_end() }}), complete.complete_to) as to_at
    from active
    inner join complete
        on complete.contact_id = active.contact_id
       and complete.complete_from < coalesce(active.active_to, {{ open_end() }})
       and active.active_from < complete.complete_to
),

deltas as (
    select department, cast(active_from as date) as delta_date, 1 as active_delta, 0 as complete_delta from active
    union all
    select department, cast(active_to as date), -1, 0 from active where active_to is not null
    union all
    select department, cast(from_at as date), 0, 1 from active_complete
    union all
    select department, cast(to_at as date), 0, -1 from active_complete where to_at < {{ open_end() }}
),

-- changes before the first calendar day count towards its stock
clamped_deltas as (
    select
        greatest(delta_date, (select min(date_day) from calendar)) as delta_date,
        department,
        active_delta,
        complete_delta
    from deltas
),

daily_deltas as (
    select
        delta_date,
        {{ company_total_label('department') }} as department,
        sum(active_delta) as active_delta,
        sum(complete_delta) as complete_delta
    from clamped_deltas
    {{ group_with_company_total(['delta_date'], 'department') }}
),

departments as (
    select department from {{ ref('stg_crm__staff') }}
    union
    select department from daily_deltas
    union
    select 'all'
),

stock as (
    select
        calendar.date_day,
        departments.department,
        sum(coalesce(d.active_delta, 0)) over running as active_contacts,
        sum(coalesce(d.complete_delta, 0)) over running as complete_contacts
    from calendar
    cross join departments
    left join daily_deltas as d
        on d.delta_date = calendar.date_day and d.department = departments.department
    window running as (partition by departments.department order by calendar.date_day rows unbounded preceding)
)

select
    date_day as date,
    department,
    cast(active_contacts as bigint) as active_contacts,
    cast(complete_contacts as bigint) as complete_contacts,
    case
        when active_contacts > 0 then cast(complete_contacts as {{ type_double() }}) / active_contacts
    end as tag_completeness
from stock
