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

{#- NPS (docs/kpi-book.md#satisfaction), the one home of its formula, used by kpi_nps_monthly,
    kpi_department_daily and kpi_department_period over their own answers: promoters score
    9-10, passives 7-8, detractors 0-6 (conditions on the column `score`); nps = (promoters -
    detractors) / responses x 100 points, NULL without responses (the arguments are counts). -#}
{% macro nps_promoter(score) -%}
    {{ score }} >= 9
{%- endmacro %}

{% macro nps_passive(score) -%}
    {{ score }} between 7 and 8
{%- endmacro %}

{% macro nps_detractor(score) -%}
    {{ score }} <= 6
{%- endmacro %}

{% macro nps_points(promoters, detractors, responses) -%}
    case
        when {{ responses }} > 0
        then cast(100.0 * ({{ promoters }} - {{ detractors }}) as {{ type_double() }}) / {{ responses }}
    end
{%- endmacro %}
