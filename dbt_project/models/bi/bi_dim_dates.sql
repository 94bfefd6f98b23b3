{{ config(alias='dim_dates') }}
-- BI view of marts.dim_dates: the same rows and columns (no personal data in this mart).
select
    date_day,
    day_start,
    day_end,
    week_start,
    month_start,
    year,
    iso_day_of_week,
    is_weekend,
    is_month_end
from {{ bi_ref('dim_dates') }}
