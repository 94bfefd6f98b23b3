-- Published: every KPI per business day and department with its target and traffic-light
-- status (docs/kpi-book.md "Health and targets"). Values come from the KPI marts, so a number here
-- is the number of the mart that defines it:
--   flow KPIs count that day's events (new_contacts, tagging_sla_6h, content_open_rate,
--     one_on_one_effective_rate, response_rate_2h/48h, frt_p50_seconds, aov, net_revenue);
--   stock KPIs are the value at the end of the day (tag_completeness);
--   month-to-date KPIs cover the day's month up to its end (cac, nps), computed here from the
--     rows the monthly marts read too: the campaigns' spend days int_campaigns__spend_days
--     (kpi_cac_monthly) and the survey answers int_surveys__answers with the NPS macros of
--     macros/operations.sql (kpi_nps_monthly);
--   the cohort KPI (repurchase_rate_90d) is the latest cohort month fully matured by the day.
-- Department `all` is the company total, computed from the events (never an average of
-- department rates). The KPI list and each KPI's direction and unit come from the seed
-- kpi_catalog (the one home of KPI metadata). Targets come from the seed kpi_targets (one
-- configuration file): a row for the department wins over the `*` row (macros/targets.sql,
-- shared with kpi_department_period).
-- Status: green meets the target; yellow misses it by
-- less than yellow_band (20%); red misses it by yellow_band or more; no_target without a
-- target; NULL when the value is NULL (an empty denominator: nothing to judge).
with days as (
    select date_day, day_end, month_start from {{ ref('dim_dates') }}
),

departments as (
    select distinct department from {{ ref('stg_crm__staff') }} where department is not null
    union
    select 'all'
),

grid as (
    select d.date_day, d.day_end, d.month_start, p.department
    from days as d cross join departments as p
),

-- new contacts (flow). By department, acquisition follows the spend, not the owner
-- (docs/kpi-book.md "Acquisition"): a department's new contacts of a day are the contacts
-- created that day through a channel it ran a campaign on that month
-- (int_contacts__acquiring_departments); `all` counts every contact created that day once
new_contacts as (
    select created_date as date_day, department, 'new_contacts' as kpi,
           cast(count(*) as {{ type_double() }}) as value, cast(count(*) as {{ type_double() }}) as numerator,
           cast(null as {{ type_double() }}) as denominator
    from {{ ref('int_contacts__acquiring_departments') }}
    group by 1, 2
    union all
    select date, 'all', 'new_contacts', cast(new_contacts as {{ type_double() }}),
           cast(new_contacts as {{ type_double() }}), cast(null as {{ type_double() }})
    from {{ ref('kpi_new_contacts_daily') }}
    where source_channel = 'all' and department = 'all'
),

-- CAC (month to date): the department's spend on its campaigns, pro rata by day, from the
-- month's first day to the day / the department's new contacts of the month to date (the same
-- spend rule as new_contacts above); department all: total spend / all new contacts of the
-- month to date. The campaigns' days and daily shares are int_campaigns__spend_days (the spend
-- rule's one home, shared with kpi_cac_monthly); here the daily shares are summed
mtd_spend as (
    select g.date_day, g.department, sum(cd.daily_spend_cny) as spend
    from grid as g
    inner join {{ ref('int_campaigns__spend_days') }} as cd
        on cd.spend_day between g.month_start and g.date_day
       and (g.department = 'all' or cd.department = g.department)
    group by 1, 2
),

daily_channel_contacts as (
    select cast(created_at as date) as created_date, source_channel as channel, count(*) as contacts
    from {{ ref('stg_crm__contacts') }}
    where created_at < {{ as_of_end() }}
    group by 1, 2
),

mtd_channel_contacts as (
    select d.date_day, c.channel, sum(c.contacts) as contacts
    from days as d
    inner join daily_channel_contacts as c on c.created_date between d.month_start and d.date_day
    group by 1, 2
),

mtd_new_contacts as (
    select d.date_day, a.department, count(*) as new_contacts
    from days as d
    inner join {{ ref('int_contacts__acquiring_departments') }} as a
        on a.created_date between d.month_start and d.date_day
    group by 1, 2
    union all
    select date_day, 'all', sum(contacts) from mtd_channel_contacts group by 1
),

cac as (
    select s.date_day, s.department, 'cac' as kpi,
           s.spend / nullif(n.new_contacts, 0) as value, s.spend as numerator,
           cast(n.new_contacts as {{ type_double() }}) as denominator
    from mtd_spend as s
    left join mtd_new_contacts as n using (date_day, department)
),

tag_completeness as (
    select date as date_day, department, 'tag_completeness', tag_completeness,
           cast(complete_contacts as {{ type_double() }}), cast(active_contacts as {{ type_double() }})
    from {{ ref('kpi_tag_completeness_daily') }}
),

tagging_sla as (
    select date as date_day, department, 'tagging_sla_6h', tagging_sla_6h,
           cast(tagged_within_6h as {{ type_double() }}), cast(matured_6h as {{ type_double() }})
    from {{ ref('kpi_tagging_sla_daily') }}
),

content_open as (
    select date as date_day, department, 'content_open_rate', open_rate,
           cast(openers as {{ type_double() }}), cast(reached_recipients as {{ type_double() }})
    from {{ ref('kpi_content_daily') }}
    where channel = 'all'
),

one_on_one as (
    select {{ adapter.quote('date') }} as date_day, department, 'one_on_one_effective_rate', effective_rate_48h,
           cast(effective_outreaches as {{ type_double() }}), cast(matured_outreaches as {{ type_double() }})
    from {{ ref('kpi_one_on_one_effective_department_daily') }}
),

response as (
    select {{ adapter.quote('date') }} as date_day, department, 'response_rate_2h' as kpi, response_rate_2h as value,
           cast(answered_2h as {{ type_double() }}) as numerator, cast(matured_2h as {{ type_double() }}) as denominator
    from {{ ref('kpi_response_department_daily') }}
    union all
    select {{ adapter.quote('date') }}, department, 'response_rate_48h', response_rate_48h,
           cast(answered_48h as {{ type_double() }}), cast(matured_48h as {{ type_double() }})
    from {{ ref('kpi_response_department_daily') }}
    union all
    select {{ adapter.quote('date') }}, department, 'frt_p50_seconds', cast(frt_p50_seconds as {{ type_double() }}),
           null, cast(inquiries as {{ type_double() }})
    from {{ ref('kpi_response_department_daily') }}
),

-- repurchase (cohort KPI): the latest cohort month whose every possible t0 has matured by the
-- end of the day, i.e. month_end + 90 days <= day_end
repurchase_users as (
    select cohort_month, {{ department_or_none('department') }} as department, is_matured, is_repurchased
    from {{ ref('fct_user_repurchase_90d') }}
),

latest_matured_cohort as (
    select date_day, day_end,
           (select max(m.cohort_month) from repurchase_users as m
            where m.cohort_month + interval '1 month' + interval '90 day' <= d.day_end) as cohort_month
    from days as d
),

repurchase as (
    select l.date_day, g.department, 'repurchase_rate_90d' as kpi,
           cast(count(*) filter (where r.is_repurchased) as {{ type_double() }})
               / nullif(count(r.cohort_month), 0) as value,
           cast(count(*) filter (where r.is_repurchased) as {{ type_double() }}) as numerator,
           cast(count(r.cohort_month) as {{ type_double() }}) as denominator
    from latest_matured_cohort as l
    cross join departments as g
    left join repurchase_users as r
        on r.cohort_month = l.cohort_month and (g.department = 'all' or r.department = g.department)
    where l.cohort_month is not null
    group by 1, 2
),

sales as (
    select date as date_day, department, 'aov' as kpi, cast(aov as {{ type_double() }}) as value,
           cast(net_revenue as {{ type_double() }}) as numerator,
           cast(qualifying_purchases as {{ type_double() }}) as denominator
    from {{ ref('kpi_sales_daily') }}
    union all
    select date, department, 'net_revenue', cast(net_revenue as {{ type_double() }}),
           cast(net_revenue as {{ type_double() }}), null
    from {{ ref('kpi_sales_daily') }}
),

-- NPS (month to date): answers from the first of the month to the end of the day; a
-- contact's latest answer in that window counts once. The answers with the department of the
-- contact's owner are int_surveys__answers, the classes and the formula the macros of
-- macros/operations.sql (nps_promoter, nps_detractor, nps_points), as in kpi_nps_monthly
mtd_answers as (
    select {{ distinct_on('d.date_day, s.contact_id') }} d.date_day, s.department, s.score
    from days as d
    inner join {{ ref('int_surveys__answers') }} as s
        on s.submitted_at >= d.month_start and s.submitted_at < d.day_end
    {{ keep_first('d.date_day, s.contact_id', 's.submitted_at desc, s.response_id desc') }}
),

nps_counts as (
    select date_day, {{ company_total_label('department') }} as department,
           count(*) as responses,
           count(*) filter (where {{ nps_promoter('score') }}) as promoters,
           count(*) filter (where {{ nps_detractor('score') }}) as detractors
    from mtd_answers
    {{ group_with_company_total(['date_day'], 'department') }}
),

nps as (
    select date_day, department, 'nps' as kpi,
           {{ nps_points('promoters', 'detractors', 'responses') }} as value,
           cast(promoters - detractors as {{ type_double() }}) as numerator,
           cast(responses as {{ type_double() }}) as denominator
    from nps_counts
),

kpis as (
    select * from new_contacts
    union all select * from cac
    union all select * from tag_completeness
    union all select * from tagging_sla
    union all select * from content_open
    union all select * from one_on_one
    union all select * from response
    union all select * from repurchase
    union all select * from sales
    union all select * from nps
),

-- the KPIs of the seed kpi_catalog (their one home: name, unit, direction, aggregation): each
-- has a row every day, with a NULL value when nothing defines it yet
kpi_names as (
    select kpi, unit, direction, aggregation from {{ ref('kpi_catalog') }}
),

-- every department, day and KPI has a row, even when a mart has no row for it
valued as (
    select
        g.date_day, g.department, n.kpi,
        -- additive counts and sums over no events are 0, not NULL (docs/kpi-book.md "Conventions")
        case when n.aggregation = 'sum' then coalesce(k.value, 0) else k.value end
            as value,
        k.numerator,
        k.denominator,
        n.direction,
        n.unit
    from grid as g
    cross join kpi_names as n
    left join kpis as k on k.date_day = g.date_day and k.department = g.department and k.kpi = n.kpi
    -- a KPI computed above but missing from the catalog is published with a NULL direction and
    -- unit, so that the relationships test of `kpi` to kpi_catalog fails instead of the KPI
    -- silently disappearing
    union all
    select k.date_day, k.department, k.kpi, k.value, k.numerator, k.denominator,
           cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }})
    from kpis as k
    inner join grid as g on g.date_day = k.date_day and g.department = k.department
    where k.kpi not in (select kpi from kpi_names)
),

targeted as (
    select
        v.*,
        {{ kpi_target_column('target') }} as target,
        {{ kpi_target_column('yellow_band') }} as yellow_band
    from valued as v
    {{ join_kpi_targets('v') }}
),

scored as (
    select
        *,
        {{ kpi_shortfall('value', 'target', 'direction') }} as shortfall
    from targeted
)

-- rounded so that the order in which floating sums were added (parallel aggregation) never
-- changes a published value: 9 decimals for values and counts, 6 for money sums
select
    date_day as date,
    department,
    kpi,
    {{ round_double('value', 9) }} as value,
    target,
    {{ kpi_status('value', 'target', 'direction', 'shortfall', 'yellow_band') }} as status,
    {{ round_double('numerator', 6) }} as numerator,
    {{ round_double('denominator', 6) }} as denominator,
    direction,
    unit,
    shortfall
from scored
