{#- Schemas are exactly `staging`, `intermediate`, `marts`, `audit`, `config`, `ops`: the public names BI tools
    and extracts use (kpis.md "Published marts"), without dbt's `<target>_` prefix. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
