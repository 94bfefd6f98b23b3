{#- Fails with one row per column of `columns` the relation does not have (stands in for GX
    expect_table_columns_to_match_set with exact_match false: other columns may exist). The
    columns are read from the database when the test runs, so it holds on every adapter. -#}
{% test columns_present(model, columns) %}
{%- set missing = [] -%}
{%- if execute -%}
    {%- set present = adapter.get_columns_in_relation(model) | map(attribute='name') | map('lower') | list -%}
    {%- for c in columns if c | lower not in present -%}{%- do missing.append(c) -%}{%- endfor -%}
{%- endif %}
{%- if missing %}
{%- for c in missing %}
select '{{ c }}' as missing_column{% if not loop.last %} union all{% endif %}
{%- endfor %}
{%- else %}
select cast(null as varchar(64)) as missing_column where 1 = 0
{%- endif %}
{% endtest %}
