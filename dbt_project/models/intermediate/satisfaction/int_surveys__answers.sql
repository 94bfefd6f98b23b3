-- NPS answers (docs/kpi-book.md "Satisfaction"), the one home of which answers count and whose
-- department they are, used by kpi_nps_monthly, kpi_department_daily and
-- kpi_department_period: every answer submitted before the end of as_of (one row per
-- response_id: stg_crm__surveys keeps a re-delivered answer once), with its business date and
-- month and the department of the answering contact's owner (macro department_of: `unknown`
-- for a contact missing from the CRM or an owner without a department). Each mart keeps a
-- contact's latest answer in its own period (month, month to date, week).
select
    surveys.response_id,
    surveys.contact_id,
    surveys.score,
    surveys.submitted_at,
    cast(surveys.submitted_at as date) as submitted_date,
    cast(date_trunc('month', surveys.submitted_at) as date) as submitted_month,
    {{ department_of('staff') }} as department
from {{ ref('stg_crm__surveys') }} as surveys
left join {{ ref('stg_crm__contacts') }} as contacts on contacts.contact_id = surveys.contact_id
left join {{ ref('stg_crm__staff') }} as staff on staff.staff_id = contacts.owner_staff_id
where surveys.submitted_at < {{ as_of_end() }}
