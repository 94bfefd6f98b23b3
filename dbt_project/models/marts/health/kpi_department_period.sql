-- Published: every KPI per ISO week and calendar month and department, with the previous
-- period and the same period one year earlier (docs/kpi-book.md#weekly-and-monthly-kpis).
-- One home for every number: a period's value is aggregated from kpi_department_daily's
-- numerators and denominators wherever that is exact, so a period value is the number the daily
-- mart's rule gives over the period's days:
--   sums (new_contacts, net_revenue): sum of the days' values;
--   rates (tagging_sla_6h, content_open_rate, one_on_one_effective_rate, response_rate_2h,
--     response_rate_48h) and aov: sum of the days' numerators / sum of their denominators
--     (never an average of daily rates);
--   cac: the campaign spend allocated to the period's days (the daily mart's month-to-date spend,
--     differenced day by day within each month) / the department's new contacts of the period;
--     for a calendar month this is exactly kpi_department_daily's cac on the month's last day;
--   stock and cohort KPIs (tag_completeness, repurchase_rate_90d): the value on the period's last
--     day, or on the as-of day for the current period (value_date says which);
--   frt_p50_seconds and nps cannot be aggregated from daily rows (a median of medians is not a
--     median; a contact answering twice in a week counts once): computed here over the period's
--     events with the daily marts' rules (fct_inquiries' answered inquiries started in the
--     period; the contact's latest answer in the period among int_surveys__answers, department
--     of the contact's owner, the NPS macros of macros/operations.sql).
-- Periods: ISO weeks (Monday to Sunday) and calendar months of business dates (dim_dates, up to
-- as_of). The current period is partial: is_complete is false and days_covered says how many
-- days it holds. Previous period: the week before / the month before. Same period last year: for
-- a week the ISO week with the same number of the previous ISO year (week 53 has none when that
-- year had 52 weeks), for a month the same calendar month. Comparisons read whatever the earlier
-- period holds; they are NULL where no data exists for it.
-- Which rule a KPI follows is its `aggregation` in the seed kpi_catalog (sum, ratio, last_day,
-- custom), as are its direction and unit (published without the `/day`).
-- Targets: kpi_targets (a department row wins over `*`; status and shortfall as in
-- kpi_department_daily, macros/targets.sql); the daily targets of the additive KPIs
-- (aggregation `sum`: new_contacts, net_revenue, per day) are multiplied by the period's
-- days_covered.
with daily as (
    select * from {{ ref('kpi_department_daily') }}
),

-- how each KPI aggregates over a period (sum, ratio, last_day, custom), its direction and unit:
-- the seed kpi_catalog
catalog as (
    select kpi, aggregation, direction, unit from {{ ref('kpi_catalog') }}
),

dates as (
    select date_day, week_start, month_start from {{ ref('dim_dates') }}
),

as_of_day as (
    select max(date_day) as as_of from dates
),

day_periods as (
    select 'week' as period_type, week_start as period_start, date_day, month_start from dates
    union all
    select 'month', month_start, date_day, month_start from dates
),

periods as (
    select
        period_type,
        period_start,
        case period_type
            when 'week' then cast({{ dbt.dateadd('day', 6, 'period_start') }} as date)
            else cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'period_start')) }} as date)
        end as period_end,
        max(date_day) as last_day,
        count(*) as days_covered
    from day_periods
    group by 1, 2
),

daily_in_period as (
    select dp.period_type, dp.period_start, dp.month_start, c.aggregation, d.*
    from day_periods as dp
    inner join daily as d on d.date = dp.date_day
    left join catalog as c on c.kpi = d.kpi
),

-- sums (aggregation `sum`), rates and aov (`ratio`) from the daily numerators / denominators
summed as (
    select
        period_type, period_start, department, kpi,
        case
            when aggregation = 'sum' then sum(value)
            when aggregation = 'ratio' then sum(numerator) / nullif(sum(denominator), 0)
        end as value,
        case when aggregation = 'sum' then sum(value) else sum(numerator) end as numerator,
        case when aggregation = 'sum' then null else sum(denominator) end as denominator
    from daily_in_period
    where aggregation in ('sum', 'ratio')
    group by period_type, period_start, department, kpi, aggregation
),

-- stock and cohort KPIs (aggregation `last_day`): the value on the period's last day up to as_of
at_last_day as (
    select d.period_type, d.period_start, d.department, d.kpi, d.value, d.numerator, d.denominator
    from daily_in_period as d
    inner join periods as p
        on p.period_type = d.period_type and p.period_start = d.period_start and p.last_day = d.date
    where d.aggregation = 'last_day'
),

-- cac: the day's spend is the increase of the daily mart's month-to-date spend (its numerator;
-- no row / NULL = nothing spent yet that month)
daily_spend as (
    select
        date, department, month_start, numerator as mtd_spend,
        coalesce(numerator, 0)
            - coalesce(lag(numerator) over (partition by department, month_start order by date), 0)
            as spend
    from daily_in_period
    where kpi = 'cac' and period_type = 'month'
),

cac as (
    select
        dp.period_type, dp.period_start, s.department, 'cac' as kpi,
        -- no campaign spend in the month up to the period's days: NULL, as in the daily mart
        case when count(s.mtd_spend) > 0 then sum(s.spend) / nullif(sum(n.value), 0) end as value,
        case when count(s.mtd_spend) > 0 then sum(s.spend) end as numerator,
        sum(n.value) as denominator
    from day_periods as dp
    inner join daily_spend as s on s.date = dp.date_day
    inner join daily as n on n.date = s.date and n.department = s.department and n.kpi = 'new_contacts'
    group by 1, 2, 3
),

-- median first response time over the period's inquiries (as kpi_response_department_daily)
inquiries as (
    select i.started_date, i.department, i.frt_seconds
    from {{ ref('fct_inquiries') }} as i
),

frt as (
    select
        dp.period_type, dp.period_start,
        {{ company_total_label('i.department') }} as department,
        'frt_p50_seconds' as kpi,
        cast({{ round_double(percentile_cont('i.frt_seconds', 0.5), 3) }} as {{ type_double() }}) as value,
        cast(null as {{ type_double() }}) as numerator,
        cast(count(*) as {{ type_double() }}) as denominator
    from day_periods as dp
    inner join inquiries as i on i.started_date = dp.date_day
    {{ group_with_company_total(['dp.period_type', 'dp.period_start'], 'i.department') }}
),

-- NPS over the period's answers (as kpi_department_daily: the answers of int_surveys__answers,
-- up to the end of the as-of day, with the department of the contact's owner; a contact's latest
-- answer in the period counts once; the classes and the formula: macros/operations.sql)
period_answers as (
    select {{ distinct_on('dp.period_type, dp.period_start, s.contact_id') }}
        dp.period_type, dp.period_start, s.department, s.score
    from day_periods as dp
    inner join {{ ref('int_surveys__answers') }} as s on s.submitted_date = dp.date_day
    {{ keep_first('dp.period_type, dp.period_start, s.contact_id', 's.submitted_at desc, s.response_id desc') }}
),

nps_counts as (
    select
        period_type, period_start, {{ company_total_label('department') }} as department,
        count(*) as responses,
        count(*) filter (where {{ nps_promoter('score') }}) as promoters,
        count(*) filter (where {{ nps_detractor('score') }}) as detractors
    from period_answers
    {{ group_with_company_total(['period_type', 'period_start'], 'department') }}
),

nps as (
    select
        period_type, period_start, department, 'nps' as kpi,
        {{ nps_points('promoters', 'detractors', 'responses') }} as value,
        cast(promoters - detractors as {{ type_double() }}) as numerator,
        cast(responses as {{ type_double() }}) as denominator
    from nps_counts
),

kpis as (
    select * from summed
    union all select * from at_last_day
    union all select * from cac
    union all select * from frt
    union all select * from nps
),

-- every period, department and KPI of the daily mart has a row
grid as (
    select distinct dp.period_type, dp.period_start, d.department, d.kpi
    from day_periods as dp
    inner join daily as d on d.date = dp.date_day
),

valued as (
    select
        g.period_type, g.period_start, p.period_end, p.last_day, p.days_covered, g.department, g.kpi,
        case when c.aggregation = 'sum' then coalesce(k.value, 0) else k.value end as value,
        k.numerator,
        k.denominator,
        c.aggregation,
        c.direction,
        c.unit
    from grid as g
    inner join periods as p on p.period_type = g.period_type and p.period_start = g.period_start
    left join catalog as c on c.kpi = g.kpi
    left join kpis as k
        on k.period_type = g.period_type and k.period_start = g.period_start
       and k.department = g.department and k.kpi = g.kpi
),

keyed as (
    select
        v.*,
        case v.period_type
            when 'week' then cast({{ dbt.dateadd('day', -7, 'v.period_start') }} as date)
            else cast({{ dbt.dateadd('month', -1, 'v.period_start') }} as date)
        end as previous_start,
        cast({{ iso_year('v.period_start') }} as integer) as iso_year,
        cast({{ iso_week('v.period_start') }} as integer) as iso_week
    from valued as v
),

compared as (
    select
        k.*,
        prev.value as previous_value,
        ly.period_start as previous_year_period_start,
        ly.value as previous_year_value
    from keyed as k
    left join keyed as prev
        on prev.period_type = k.period_type and prev.period_start = k.previous_start
       and prev.department = k.department and prev.kpi = k.kpi
    left join keyed as ly
        on ly.period_type = k.period_type and ly.department = k.department and ly.kpi = k.kpi
       and (
            (k.period_type = 'week' and ly.iso_year = k.iso_year - 1 and ly.iso_week = k.iso_week)
            or (
                k.period_type = 'month'
                and ly.period_start = cast({{ dbt.dateadd('year', -1, 'k.period_start') }} as date)
            )
       )
),

targeted as (
    select
        c.*,
        {{ kpi_target_column('target') }}
            * case when c.aggregation = 'sum' then c.days_covered else 1 end as target,
        {{ kpi_target_column('yellow_band') }} as yellow_band
    from compared as c
    {{ join_kpi_targets('c') }}
),

scored as (
    select
        *,
        {{ kpi_shortfall('value', 'target', 'direction') }} as shortfall
    from targeted
)

select
    period_type,
    period_start,
    period_end,
    department,
    kpi,
    {{ round_double('value', 9) }} as value,
    {{ round_double('previous_value', 9) }} as previous_value,
    {{ round_double('value - previous_value', 9) }} as change_vs_previous,
    {{ round_double('(value - previous_value) / nullif(abs(previous_value), 0)', 9) }} as change_vs_previous_ratio,
    previous_year_period_start,
    {{ round_double('previous_year_value', 9) }} as previous_year_value,
    {{ round_double('value - previous_year_value', 9) }} as change_vs_previous_year,
    {{ round_double('(value - previous_year_value) / nullif(abs(previous_year_value), 0)', 9) }}
        as change_vs_previous_year_ratio,
    period_end <= (select as_of from as_of_day) as is_complete,
    days_covered,
    case when aggregation = 'last_day' then last_day end as value_date,
    target,
    {{ kpi_status('value', 'target', 'direction', 'shortfall', 'yellow_band') }} as status,
    {{ round_double('numerator', 6) }} as numerator,
    {{ round_double('denominator', 6) }} as denominator,
    direction,
    replace(unit, '/day', '') as unit
from scored
