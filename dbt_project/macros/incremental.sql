{#- Incremental staging of the large entities (messages, content events, orders).

    Each run re-reads the raw partitions of the last `incremental_lookback_days` days before
    the newest partition already in the table (late and re-delivered rows land there), types
    them, puts them next to the rows the table already holds for the same keys, and keeps the
    current version per key (kpis.md "Versions"); dbt then replaces those keys
    (delete+insert). A run whose as_of is older than what the table holds (a backfill of an
    earlier day) empties the table first and so rebuilds it from every partition up to as_of.
    `siyu run --from` older than the lookback runs dbt with --full-refresh. -#}

{#- pre-hook: start over when the table already holds partitions after this run's as_of -#}
{% macro reset_if_ahead_of_as_of() -%}
    {%- if is_incremental() and var('as_of') -%}
        delete from {{ this }}
        where (select max(_dt) from {{ this }}) > cast('{{ var("as_of") }}' as date)
    {%- endif -%}
{%- endmacro %}

{#- the raw rows this run reads: every partition up to as_of on a full build, else the lookback window -#}
{% macro incremental_partitions() -%}
    {{ delivered_by_as_of() }}
    {%- if is_incremental() %}
    and _dt >= coalesce(
        (select max(_dt) from {{ this }}) - {{ var('incremental_lookback_days') | int }},
        cast('1900-01-01' as date))
    {%- endif -%}
{%- endmacro %}

{#- the table's current rows for the keys of the batch, to compete with the batch's versions -#}
{% macro existing_versions_of(batch, key) -%}
    {%- if is_incremental() -%}
    {{ union_all_by_name() }}
    select * from {{ this }}
    where {{ key }} in (select {{ key }} from {{ batch }})
    {%- endif -%}
{%- endmacro %}
