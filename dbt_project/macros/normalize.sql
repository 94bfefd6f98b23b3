{#- Identifier normalisation, literally as sources.md "Identity" says. -#}

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

{#- Current version of a keyed record (kpis.md "Versions"): latest version time, ties to
    the later delivery (dt, then file name, then line). -#}
{% macro latest_version(key, version) -%}
    {{ keep_first(key, version ~ ' desc, _dt desc, _file desc, _line desc') }}
{%- endmacro %}
