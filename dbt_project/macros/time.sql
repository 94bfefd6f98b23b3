{#- Time conversions. Every `*_at` column of the warehouse is a TIMESTAMP holding wall-clock
    time in the business timezone (env SIYU_TIMEZONE, default Asia/Shanghai); the session
    timezone of dbt is UTC (profiles.yml), so nothing depends on the machine's clock. -#}

{% macro business_tz() -%}
    '{{ env_var("SIYU_TIMEZONE", "Asia/Shanghai") }}'
{%- endmacro %}

{#- CRM: 'YYYY-MM-DD HH:MM:SS', already business-local wall time. -#}
{% macro crm_time(col) -%}
    {{ parse_timestamp(col) }}
{%- endmacro %}

{#- Shop: ISO 8601 with an offset; converted to business-local wall time. -#}
{% macro shop_time(col) -%}
    {{ to_local(cast_timestamptz(col), business_tz()) }}
{%- endmacro %}

{#- Community: epoch milliseconds (UTC); converted to business-local wall time. -#}
{% macro epoch_ms_time(col) -%}
    {{ to_local(from_epoch_ms('cast(' ~ col ~ ' as bigint)'), business_tz()) }}
{%- endmacro %}

{#- The exclusive end of the as-of business day (docs/kpi-book.md "Conventions": end = midnight
    after as_of), or a far-future bound when no as_of is given. -#}
{% macro as_of_end() -%}
    {%- if var('as_of') -%}
        (cast('{{ var("as_of") }}' as date) + interval '1 day')
    {%- else -%}
        cast('9999-12-31' as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- The run's as-of business date (or the newest date in the data when no as_of is given). -#}
{% macro as_of_date() -%}
    {%- if var('as_of') -%}
        cast('{{ var("as_of") }}' as date)
    {%- else -%}
        cast(current_date as date)
    {%- endif -%}
{%- endmacro %}

{#- docs/kpi-book.md "Conventions": a run for as_of reads the partitions with dt <= as_of. Staging
    applies it to every raw table, so a warehouse that holds later partitions (e.g. a backfill of an
    earlier day) still builds exactly what that day's run saw. -#}
{% macro delivered_by_as_of() -%}
    {%- if var('as_of') -%}
        _dt <= cast('{{ var("as_of") }}' as date)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
