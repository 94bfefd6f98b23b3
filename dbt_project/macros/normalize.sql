{#- Identifier normalisation, literally as docs/landing-contract.md "Identity" says. -#}

{#- Phone: remove spaces, dashes and parentheses; then a leading +86, 0086 or 86 when 11
    digits remain after it (13 digits with 86); valid = 11 digits starting with 1, else NULL. -#}
{% macro normalize_phone(col) -%}
    {%- set digits = regexp_replace_first(regexp_replace_all(col, '[\\s\\-()]', ''),
                                          '^(\\+86|0086|86)([0-9]{11})$', '\\2') -%}
    (case
        when {{ regexp_full_match(digits, '1[0-9]{10}') }}
        then {{ digits }}
    end)
{%- endmacro %}

{#- Email: trimmed and lower-cased; valid only when it contains '@', else NULL. -#}
{% macro normalize_email(col) -%}
    (case when {{ str_position('lower(trim(' ~ col ~ '))', "'@'") }} > 0 then lower(trim({{ col }})) end)
{%- endmacro %}

{#- Empty strings from CSV become NULL. -#}
{% macro clean_text(col) -%}
    nullif(trim({{ col }}), '')
{%- endmacro %}

{#- Current version of a keyed record (docs/kpi-book.md "Conventions"): latest version time, ties to
    the later delivery (dt, then file name, then line). -#}
{% macro latest_version(key, version) -%}
    {{ keep_first(key, version ~ ' desc, _dt desc, _file desc, _line desc') }}
{%- endmacro %}

{#- The whole statement `select * from <relation>` keeping one row per `key` (one column): the
    first by `order` (keep_first). For a large model whose keys rarely repeat (messages: a
    msgid repeats only when a re-pull delivers it again, ~1% of them). On DuckDB the rows of a
    key seen once are kept as they are and only the repeated keys are ranked, instead of a
    window over every row (measured at 1M users, 14M messages: 20.0 s -> 18.4 s, the same
    rows). Where most keys repeat (order snapshots, 6M rows for 1.6M orders) it is slower
    than the window (10.2 s -> 16.4 s), so those models keep keep_first. The other targets
    use the one-statement form. -#}
{% macro keep_first_of(relation, key, order) -%}
    {{ return(adapter.dispatch('keep_first_of', 'siyu')(relation, key, order)) }}
{%- endmacro %}
{% macro default__keep_first_of(relation, key, order) -%}
select {{ distinct_on(key) }} * from {{ relation }}
{{ keep_first(key, order) }}
{%- endmacro %}
{% macro duckdb__keep_first_of(relation, key, order) -%}
{%- set repeated -%}
    select 1 from (select {{ key }} from {{ relation }} group by {{ key }} having count(*) > 1) as repeated
    where repeated.{{ key }} is not distinct from {{ relation }}.{{ key }}
{%- endset -%}
select * from {{ relation }}
where not exists ({{ repeated }})
union all
select * from {{ relation }}
where exists ({{ repeated }})
{{ keep_first(key, order) }}
{%- endmacro %}

{#- keep_first_of with latest_version's order -#}
{% macro latest_version_of(relation, key, version) -%}
    {{ keep_first_of(relation, key, version ~ ' desc, _dt desc, _file desc, _line desc') }}
{%- endmacro %}
