{#- Schemas are exactly `staging`, `intermediate`, `marts`, `audit`, `config`, `ops`, `bi`, `reports`: the public names BI tools
    and extracts use (docs/kpi-book.md "Published marts"), without dbt's `<target>_` prefix.
    SIYU_SCHEMA_SUFFIX (set only by the PostgreSQL build, siyu.postgres) sends the build to
    `<schema>__building` schemas, which are renamed over the published ones after the audit. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{{ env_var('SIYU_SCHEMA_SUFFIX', '') }}{%- endif -%}
{%- endmacro %}
