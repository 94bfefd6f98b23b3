{#- Fails for every row where the SQL expression is not true (stands in for
    dbt_utils.expression_is_true). -#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
