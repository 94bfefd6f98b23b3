{#- The `not_null` constraints of a published mart's contract, checked as a test where the
    engine does not enforce them.

    On DuckDB (the embedded default and the file BI reads) the published marts have enforced
    model contracts (dbt_project.yml): dbt creates each mart with its yml's column types and
    NOT NULL constraints and inserts the model's rows, so a NULL in such a column, a column
    missing or a changed type fails the model itself, before anything is published. The column
    types are DuckDB's; PostgreSQL and Spark compute other types for the same SQL (sum of
    integers, decimals, timestamps), so there the contract is not enforced and this test does
    the NOT NULL part: one scan of the mart, one failing row per constrained column that holds
    a NULL (with the number of such rows). Disabled on DuckDB, where the engine does it. -#}
{% test not_null_constraints(model) %}
{{ config(enabled=(target.type != 'duckdb')) }}
{%- set columns = [] -%}
{%- if execute -%}
    {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and node.alias == model.identifier
               and node.schema == model.schema -%}
        {%- for name, column in node.columns.items() -%}
            {%- if (column.constraints or []) | selectattr('type', 'equalto', 'not_null') | list -%}
                {%- do columns.append(name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endif %}
{%- if columns %}
with null_counts as (
    select
    {%- for c in columns %}
        sum(case when {{ adapter.quote(c) }} is null then 1 else 0 end) as n_{{ loop.index }}{{ ',' if not loop.last }}
    {%- endfor %}
    from {{ model }}
)

{% for c in columns -%}
select '{{ c }}' as column_name, n_{{ loop.index }} as null_rows from null_counts where n_{{ loop.index }} > 0
{{ 'union all' if not loop.last }}
{% endfor %}
{%- else %}
select 'no not_null constraint' as column_name, 1 as null_rows
{%- endif %}
{% endtest %}
