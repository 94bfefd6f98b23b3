-- The speaking rate of each customer group (WeCom room) on the report day and its average
-- over the 30 days up to the day (kpi_group_speaking_daily), per department of the group and
-- company-wide as department `all`, the most active groups first.
with rooms as (
    select
        d.report_date,
        g.department,
        g.roomid,
        g.members,
        g.speakers,
        g.speaking_rate
    from {{ ref('rpt_report_days') }} as d
    inner join {{ bi_ref('kpi_group_speaking_daily') }} as g on g.date = d.report_date
),

averages as (
    select
        d.report_date,
        g.roomid,
        avg(g.speaking_rate) as speaking_rate_30d_avg
    from {{ ref('rpt_report_days') }} as d
    inner join {{ bi_ref('kpi_group_speaking_daily') }} as g
        on g.date > d.report_date - 30 and g.date <= d.report_date
    group by 1, 2
),

by_department as (
    select
        r.report_date,
        r.department,
        r.roomid,
        r.members,
        r.speakers,
        r.speaking_rate,
        a.speaking_rate_30d_avg
    from rooms as r
    left join averages as a on a.report_date = r.report_date and a.roomid = r.roomid
),

with_all as (
    select * from by_department
    union all
    select
        report_date,
        'all' as department,
        roomid,
        members,
        speakers,
        speaking_rate,
        speaking_rate_30d_avg
    from by_department
)

select
    *,
    row_number() over (
        partition by report_date, department order by speaking_rate desc nulls last, roomid asc
    ) as sort_key
from with_all
