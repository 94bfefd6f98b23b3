{#- Freshness against the run's as-of day: fails (one row) when the newest date of the
    column is more than `days` days before as_of (macros/time.sql as_of_date), or the column
    has no value at all. GX expect_column_min_to_be_between on a derived `_age_days`. -#}
{% test recent_within(model, column_name, days) %}
select newest
from (select max(cast({{ column_ref(column_name) }} as date)) as newest from {{ model }}) as latest
where newest is null
   or newest < cast({{ dbt.dateadd('day', -days, as_of_date()) }} as date)
{% endtest %}
