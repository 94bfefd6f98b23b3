-- NPS (kpis.md "Satisfaction") per business-calendar month of submitted_at and department of
-- the answering contact's owner (+ 'all'): among the answers of the month, a contact's latest
-- answer (latest submitted_at; ties: higher response_id) counts once; promoters score 9-10,
-- passives 7-8, detractors 0-6; nps = (promoters - detractors) / responses x 100 points,
-- NULL without responses. stg_crm__surveys already keeps a re-delivered response_id once.
-- Only answers before the end of as_of count: the as_of month is month-to-date.
-- Answers of contacts missing from the CRM get department 'unknown'.
with months as (
    select distinct month_start from {{ ref('dim_dates') }}
),

answers as (
    select
        surveys.response_id,
        surveys.contact_id,
        surveys.score,
        surveys.submitted_at,
        cast(date_trunc('month', surveys.submitted_at) as date) as month_start
    from {{ ref('stg_crm__surveys') }} as surveys
    where surveys.submitted_at < {{ as_of_end() }}
),

latest_answers as (
    select {{ distinct_on('contact_id, month_start') }} *
    from answers
    {{ keep_first('contact_id, month_start', 'submitted_at desc, response_id desc') }}
),

classified as (
    select
        latest_answers.month_start,
        {{ department_of('staff') }} as department,
        latest_answers.score
    from latest_answers
    left join {{ ref('stg_crm__contacts') }} as contacts on contacts.contact_id = latest_answers.contact_id
    left join {{ ref('stg_crm__staff') }} as staff on staff.staff_id = contacts.owner_staff_id
),

monthly as (
    select
        month_start,
        case when grouping(department) = 1 then 'all' else department end as department,
        count(*) as responses,
        count(*) filter (where score >= 9) as promoters,
        count(*) filter (where score between 7 and 8) as passives,
        count(*) filter (where score <= 6) as detractors
    from classified
    group by grouping sets ((month_start, department), (month_start))
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
    case
        when monthly.responses > 0
        then cast(100.0 * (monthly.promoters - monthly.detractors) as {{ type_double() }}) / monthly.responses
    end as nps
from months
cross join departments
left join monthly
    on monthly.month_start = months.month_start and monthly.department = departments.department
