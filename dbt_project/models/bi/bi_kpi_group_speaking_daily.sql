{{ config(alias='kpi_group_speaking_daily') }}
-- BI view of marts.kpi_group_speaking_daily: the same rows and columns (no personal data in this mart).
select
    date,
    roomid,
    department,
    members,
    speakers,
    speaking_rate,
    non_member_speakers
from {{ bi_ref('kpi_group_speaking_daily') }}
