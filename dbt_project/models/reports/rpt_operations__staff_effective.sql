-- Operations staff ranked by their 48-hour effective rate of 1:1 outreaches over the 30 days
-- up to the report day (kpi_one_on_one_effective_daily). One row per staff member of the
-- department.
with staff as (
    select
        staff_id,
        name_masked as staff_name,
        department
    from {{ bi_ref('dim_staff') }}
),

effective as (
    select
        d.report_date,
        e.staff_id,
        sum(e.outreaches) as outreaches,
        sum(e.matured_outreaches) as matured_outreaches,
        sum(e.effective_outreaches) as effective_outreaches
    from {{ ref('rpt_report_days') }} as d
    inner join {{ bi_ref('kpi_one_on_one_effective_daily') }} as e
        on e.date > d.report_date - 30 and e.date <= d.report_date
    group by 1, 2
),

ranked as (
    select
        d.report_date,
        s.department,
        rank() over (
            partition by d.report_date, s.department
            order by e.effective_outreaches / nullif(e.matured_outreaches, 0) desc nulls last
        ) as rank,
        s.staff_id,
        s.staff_name,
        coalesce(e.outreaches, 0) as outreaches,
        e.matured_outreaches,
        e.effective_outreaches,
        e.effective_outreaches / nullif(e.matured_outreaches, 0) as effective_rate_48h
    from {{ ref('rpt_report_days') }} as d
    cross join staff as s
    left join effective as e on e.report_date = d.report_date and e.staff_id = s.staff_id
)

select
    *,
    row_number() over (partition by report_date, department order by rank, staff_id) as sort_key
from ranked
