-- Lead quality by source channel: of the leads of the 90 days up to the report day
-- (rpt_leads_90d), the share of the matured ones that converted within 30 days; channel
-- `all` is the total (present, with 0 leads, on a day without any). Shown to marketing and
-- in the executive summary.
with leads as (
    select
        d.report_date,
        l.user_id,
        l.channel,
        l.matured,
        l.converted
    from {{ ref('rpt_report_days') }} as d
    left join {{ ref('rpt_leads_90d') }} as l on l.report_date = d.report_date
),

by_channel as (
    select
        report_date,
        coalesce(channel, 'all') as channel,
        count(user_id) as leads_90d,
        count(user_id) filter (where matured) as matured_leads,
        count(user_id) filter (where matured and converted) as converted_30d,
        converted_30d / nullif(matured_leads, 0) as lead_quality,
        channel is null as is_total
    from leads
    where user_id is not null
    group by report_date, channel
    union all
    select
        report_date,
        'all' as channel,
        count(user_id) as leads_90d,
        count(user_id) filter (where matured) as matured_leads,
        count(user_id) filter (where matured and converted) as converted_30d,
        converted_30d / nullif(matured_leads, 0) as lead_quality,
        true as is_total
    from leads
    group by report_date
)

select
    report_date,
    channel,
    leads_90d,
    matured_leads,
    converted_30d,
    lead_quality,
    row_number() over (
        partition by report_date order by is_total asc, lead_quality desc nulls last, channel asc
    ) as sort_key
from by_channel
