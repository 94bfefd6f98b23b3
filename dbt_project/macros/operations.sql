{#- Helpers of the operations/marketing marts (tags, content, community, NPS, acquisition). -#}

{#- A timestamp far in the future that stands for "still open" in interval arithmetic. -#}
{% macro open_end() -%}
    cast('9999-12-31 00:00:00' as timestamp)
{%- endmacro %}

{#- The two labels in a department column that are not a department, one home each
    (docs/kpi-book.md "Owners and departments"; they say different things, so they stay two):
    `unknown`: the department of a staff member, or of a campaign, that is not known: a staff
      id missing from the CRM, an empty department field;
    `none`: a unified user that has no owner at all (no CRM contact, or no owner on it), in
      the user-based marts (sales, cohorts, lifecycle, active users, buyer features).
    A user whose owner is a staff member without a department is `unknown`, not `none`. -#}
{% macro department_or_unknown(department) -%}
    coalesce({{ department }}, 'unknown')
{%- endmacro %}

{% macro department_or_none(department) -%}
    coalesce({{ department }}, 'none')
{%- endmacro %}

{#- Department of a staff member: its current version's department, 'unknown' when the
    staff member is missing or unknown (docs/kpi-book.md "Conventions"). `staff_alias` is a joined
    stg_crm__staff. -#}
{% macro department_of(staff_alias) -%}
    {{ department_or_unknown(staff_alias ~ '.department') }}
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
