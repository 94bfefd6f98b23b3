{#- Helpers of the operations/marketing marts (tags, content, community, NPS, acquisition). -#}

{#- A timestamp far in the future that stands for "still open" in interval arithmetic. -#}
{% macro open_end() -%}
    cast('9999-12-31 00:00:00' as timestamp)
{%- endmacro %}

{#- Department of a staff member: its current version's department, 'unknown' when the
    staff member is missing or unknown (kpis.md "Owners"). `staff_alias` is a joined
    stg_crm__staff. -#}
{% macro department_of(staff_alias) -%}
    coalesce({{ staff_alias }}.department, 'unknown')
{%- endmacro %}
