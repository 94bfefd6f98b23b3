-- Customer acquisition cost by channel for the month of the report day (kpi_cac_monthly;
-- channel `all` is the total), highest CAC first.
select
    d.report_date,
    c.channel,
    c.month,
    c.spend_cny,
    c.new_contacts,
    c.cac,
    row_number() over (
        partition by d.report_date
        order by c.channel = 'all' asc, c.cac desc nulls last, c.channel asc
    ) as sort_key
from {{ ref('rpt_report_days') }} as d
inner join {{ bi_ref('kpi_cac_monthly') }} as c
    on c.month = date_trunc('month', d.report_date)
