-- Content pushes of the department by channel over the 30 days up to the report day
-- (kpi_content_daily): pushes, reached recipients, openers, clickers, open and click rates;
-- channel `all` last.
with by_channel as (
    select
        d.report_date,
        c.department,
        c.channel,
        sum(c.pushes) as pushes,
        sum(c.reached_recipients) as reached_recipients,
        sum(c.openers) as openers,
        sum(c.clickers) as clickers,
        sum(c.openers) / nullif(sum(c.reached_recipients), 0) as open_rate,
        sum(c.clickers) / nullif(sum(c.reached_recipients), 0) as click_rate
    from {{ ref('rpt_report_days') }} as d
    inner join {{ bi_ref('kpi_content_daily') }} as c
        on c.date > d.report_date - 30 and c.date <= d.report_date
    group by d.report_date, c.department, c.channel
)

select
    *,
    row_number() over (
        partition by report_date, department order by channel = 'all', channel
    ) as sort_key
from by_channel
