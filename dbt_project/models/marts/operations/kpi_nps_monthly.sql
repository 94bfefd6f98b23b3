-- NPS (docs/kpi-book.md "Satisfaction") per business-calendar month of submitted_at and department
-- of the answering contact's owner (+ 'all'): among the answers of the month, a contact's latest
-- answer (latest submitted_at; ties: higher response_id) counts once; promoters score 9-10,
-- passives 7-8, detractors 0-6; nps = (promoters - detractors) / responses x 100 points,
-- NULL without responses (the classes and the formula: macros nps_promoter, nps_passive,
-- nps_detractor, nps_points in macros/operations.sql, shared with kpi_department_daily and
-- kpi_department_period). The answers are int_surveys__answers (their one home): only answers
-- before the end of as_of count, so the as_of month is month-to-date; a re-delivered
-- response_id counts once; answers of contacts missing from the CRM get department 'unknown'.
with months as (
    select distinct month_start from {{ ref('dim_dates') }}
),

latest_answers as (
    select {{ distinct_on('contact_id, submitted_month') }} *
    from {{ ref('int_surveys__answers') }}
    {{ keep_first('contact_id, submitted_month', 'submitted_at desc, response_id desc') }}
),

classified as (
    select
        submitted_month as month_start,
        department,
        score
    from latest_answers
),

monthly as (
    select
        month_start,
        {{ company_total_label('department') }} as department,
        count(*) as responses,
        count(*) filter (where {{ nps_promoter('score') }}) as promoters,
        count(*) filter (where {{ nps_passive('score') }}) as passives,
        count(*) filter (where {{ nps_detractor('score') }}) as detractors
    from classified
    {{ group_with_company_total(['month_start'], 'department') }}
),

departments as (
    select department from {{ ref('stg_crm__staff') }}
    union
    select department from classified
    union
    select 'all'
)

select
    months.month_start as month,
    departments.department,
    coalesce(monthly.responses, 0) as responses,
    coalesce(monthly.promoters, 0) as promoters,
    coalesce(monthly.passives, 0) as passives,
    coalesce(monthly.detractors, 0) as detractors,
    {{ nps_points('monthly.promoters', 'monthly.detractors', 'monthly.responses') }} as nps
from months
cross join departments
left join monthly
    on monthly.month_start = months.month_start and monthly.department = departments.department
