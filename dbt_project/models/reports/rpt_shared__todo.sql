-- Each department's open SOP tasks at the end of the report day (marts.fct_activation_tasks,
-- which holds the build's as_of), most urgent first; a task about a buyer shows the buyer's
-- predicted chance to buy again and value at risk (marts.pred_customer_90d); tasks of one
-- priority and due time go by value at risk. Every department's extract has it (`siyu
-- deliver` also writes it as one CSV per staff member).
select
    d.report_date,
    t.department,
    t.staff_id,
    s.name_masked as staff_name,
    t.task_type,
    t.priority,
    t.reference_id,
    t.user_id,
    t.due_at,
    t.age_hours,
    p.p_purchase_90d,
    p.value_at_risk_90d,
    row_number() over (
        partition by d.report_date, t.department
        order by t.priority asc, t.due_at asc, p.value_at_risk_90d desc nulls last, t.reference_id asc
    ) as sort_key
from {{ ref('rpt_report_days') }} as d
inner join {{ bi_ref('fct_activation_tasks') }} as t on t.as_of = d.report_date
left join {{ bi_ref('dim_staff') }} as s on t.staff_id = s.staff_id
left join {{ bi_ref('pred_customer_90d') }} as p
    on t.user_id = p.user_id and t.as_of = p.as_of
