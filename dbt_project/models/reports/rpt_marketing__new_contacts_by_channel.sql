-- New contacts by source channel, company-wide: the report day, the last 7 and the last 30
-- days (kpi_new_contacts_daily, department `all`; its channel `all` is the total).
with by_channel as (
    select
        d.report_date,
        n.source_channel as channel,
        sum(n.new_contacts) filter (where n.date = d.report_date) as new_contacts_day,
        sum(n.new_contacts) filter (where n.date > d.report_date - 7) as new_contacts_7d,
        sum(n.new_contacts) as new_contacts_30d
    from {{ ref('rpt_report_days') }} as d
    inner join {{ bi_ref('kpi_new_contacts_daily') }} as n
        on n.date > d.report_date - 30 and n.date <= d.report_date
    where n.department = 'all'
    group by d.report_date, n.source_channel
)

select
    *,
    row_number() over (
        partition by report_date
        order by channel = 'all' asc, new_contacts_30d desc, channel asc
    ) as sort_key
from by_channel
