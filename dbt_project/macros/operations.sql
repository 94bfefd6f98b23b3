{#- Helpers of the operations/marketing marts (tags, content, community, NPS, acquisition). -#}

{#- A timestamp far in the future that stands for "still open" in interval arithmetic. -#}
{% macro open_end() -%}
    cast('9999-12-31 00:00:00' as timestamp)
{%- endmacro %}

{#- Department of a staff member: its current version's department, 'unknown' when the
    staff member is missing or unknown (kpis.md "Owners"). `staff_alias` is a joined
    stg_crm__staff. -#}
{% macro department_of(staff_alias) -%}
    coalesce({{ staff_alias }}.department, 'unknown')
{%- endmacro %}

{#- Generic data test (no dbt_utils here): fails for every row where `column_name` is not
    NULL and lies outside [min_value, max_value]. -#}
{% test ops_value_between(model, column_name, min_value, max_value) %}
select *
from {{ model }}
where {{ column_name }} is not null
  and ({{ column_name }} < {{ min_value }} or {{ column_name }} > {{ max_value }})
{% endtest %}

{#- Generic data test: fails for every row where the boolean SQL `expression` is not true. -#}
{% test ops_expression_is_true(model, expression) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
