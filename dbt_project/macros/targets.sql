{#- Targets and traffic lights (docs/kpi-book.md "Health and targets"): one home for the rules
    that kpi_department_daily and kpi_department_period both publish.

    The target of a KPI for a department comes from the seed kpi_targets: the department's own
    row wins over the `*` row; yellow_band defaults to 0.2 (20%). A KPI's direction and unit
    are facts of the KPI, not settings: the seed kpi_catalog (one row per KPI), which the
    marts join by kpi. -#}

{#- The two lookups of kpi_targets for the relation alias `alias` (which has kpi and
    department columns): t_dep (the department's row) and t_all (the `*` row). -#}
{% macro join_kpi_targets(alias) -%}
    left join {{ ref('kpi_targets') }} as t_dep
        on t_dep.kpi = {{ alias }}.kpi and t_dep.department = {{ alias }}.department
    left join {{ ref('kpi_targets') }} as t_all
        on t_all.kpi = {{ alias }}.kpi and t_all.department = '*'
{%- endmacro %}

{#- A column of the winning target row: the department's, else the `*` row's (target,
    yellow_band, note). -#}
{% macro kpi_target_column(column) -%}
    {%- if column in ('direction', 'unit') -%}
        {{ exceptions.raise_compiler_error("kpi_target_column('" ~ column ~ "'): a KPI's " ~ column ~ " is in the seed kpi_catalog, not in kpi_targets") }}
    {%- endif -%}
    coalesce(t_dep.{{ column }}, t_all.{{ column }}{% if column == 'yellow_band' %}, 0.2{% endif %})
{%- endmacro %}

{#- The relative miss: how far the value falls short of the target, as a share of the target
    (negative when the target is beaten; NULL without a target or with a zero target). Rounded
    to 9 decimals so that the order of floating additions never changes a published value. -#}
{% macro kpi_shortfall(value, target, direction) -%}
    {{ round_double("case " ~ direction ~ "
        when 'higher_is_better' then (" ~ target ~ " - " ~ value ~ ") / nullif(abs(" ~ target ~ "), 0)
        when 'lower_is_better' then (" ~ value ~ " - " ~ target ~ ") / nullif(abs(" ~ target ~ "), 0)
    end", 9) }}
{%- endmacro %}

{#- The status: no_target without a target; NULL when the value is NULL (an empty denominator:
    nothing to judge); green when the target is met; yellow when it is missed by less than
    yellow_band; red when it is missed by yellow_band or more. -#}
{% macro kpi_status(value, target, direction, shortfall, yellow_band) -%}
    case
        when {{ target }} is null then 'no_target'
        when {{ value }} is null then null
        when {{ direction }} = 'higher_is_better' and {{ value }} >= {{ target }} then 'green'
        when {{ direction }} = 'lower_is_better' and {{ value }} <= {{ target }} then 'green'
        when {{ shortfall }} < {{ yellow_band }} then 'yellow'
        else 'red'
    end
{%- endmacro %}
