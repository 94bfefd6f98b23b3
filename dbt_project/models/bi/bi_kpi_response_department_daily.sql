{{ config(alias='kpi_response_department_daily') }}
-- BI view of marts.kpi_response_department_daily: the same rows and columns (no personal data in this mart).
select
    date,
    department,
    inquiries,
    matured_2h,
    answered_2h,
    response_rate_2h,
    matured_48h,
    answered_48h,
    response_rate_48h,
    frt_p50_seconds,
    frt_p90_seconds,
    frt_business_p50_seconds,
    frt_business_p90_seconds
from {{ bi_ref('kpi_response_department_daily') }}
