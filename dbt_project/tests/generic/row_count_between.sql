{#- Fails (one row: the count) when the relation's row count lies outside [min_value,
    max_value] (either bound may be omitted); stands in for dbt_expectations /
    GX expect_table_row_count_to_be_between. -#}
{% test row_count_between(model, min_value=none, max_value=none) %}
select row_count
from (select count(*) as row_count from {{ model }}) as counted
where false
{%- if min_value is not none %} or row_count < {{ min_value }}{% endif %}
{%- if max_value is not none %} or row_count > {{ max_value }}{% endif %}
{% endtest %}
