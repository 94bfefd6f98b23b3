{#- Fails for every combination of `columns` that occurs more than once (no packages here:
    dbt deps cannot reach the hub, so this replaces dbt_utils.unique_combination_of_columns). -#}
{% test unique_combination_of_columns(model, columns) %}
{%- set refs = [] -%}
{%- for c in columns -%}{%- do refs.append(column_ref(c)) -%}{%- endfor -%}
select {{ refs | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ refs | join(', ') }}
having count(*) > 1
{% endtest %}
