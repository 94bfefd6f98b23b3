{#- Fails with one row per value of `values` that no row of the column holds (GX
    expect_column_distinct_values_to_contain_set: every listed value must be present; other
    values may be, see accepted_values for a closed set). Text values. -#}
{% test distinct_values_contain(model, column_name, values) %}
{%- for v in values %}
select '{{ v }}' as missing_value
where not exists (select 1 from {{ model }} where {{ column_name }} = '{{ v }}')
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{% endtest %}
