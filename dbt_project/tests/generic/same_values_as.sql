{#- Fails with one row per value that the column of the model and the column `field` of `to`
    do not share: a value of `to` that no row of the model holds ("missing from the model") or
    a value of the model that `to` lacks ("missing from <to>"). A closed set read from a
    relation (kpi_department_daily.kpi against the seed kpi_catalog), where accepted_values
    would spell the list by hand. NULLs are left to not_null. -#}
{% test same_values_as(model, column_name, to, field) %}
with here as (
    select distinct {{ column_name }} as value from {{ model }} where {{ column_name }} is not null
),

there as (
    select distinct {{ field }} as value from {{ to }} where {{ field }} is not null
)

select
    coalesce(here.value, there.value) as value,
    case when here.value is null then 'missing from the model' else 'missing from {{ to }}' end as problem
from here
full outer join there on here.value = there.value
where here.value is null or there.value is null
{% endtest %}
