{#- The company-wide row (issue 14): many KPI marts publish, next to each department (or
    channel, owner, ...), a row labelled 'all' that is the company total. There is one way to
    build it: GROUP BY GROUPING SETS, so the 'all' row is the same aggregation over the same
    events as the department rows, in the same query (a count of distinct users, a median, a
    rate's numerator and denominator over the events themselves; never an average or a sum of
    department rates). GROUPING SETS and GROUPING() are standard SQL: DuckDB, PostgreSQL and
    Spark SQL run them as written, so the macros do not dispatch.

        select
            date_day,
            {{ company_total_label('department') }} as department,
            count(*) as events
        from events
        {{ group_with_company_total(['date_day'], 'department') }}

    renders

        select
            date_day,
            case when grouping(department) = 1 then 'all' else department end as department,
            count(*) as events
        from events
        group by grouping sets ((date_day, department), (date_day))

    An 'all' that is NOT the same aggregation over the same rows is not built here and stays
    written out in its model: a row read from another mart's 'all' row, an 'all' department
    in a cross join of the department list (spend joined to every department), a total that
    counts a customer once where the departments may count it several times
    (kpi_group_speaking_daily), a company figure from another source than the department
    figures (kpi_department_daily's new contacts and CAC: acquisition follows the spend by
    department, the contacts themselves for the company). DECISIONLOG.md, "The company-wide
    row". -#}

{#- The label of a column that has a company total: 'all' on the rows where the grouping
    totals over it, the column's value elsewhere. `column` is the expression of the GROUP BY
    (qualify it the same way, e.g. 'i.department'); the caller names the output column. -#}
{% macro company_total_label(column) -%}
case when grouping({{ column }}) = 1 then 'all' else {{ column }} end
{%- endmacro %}

{#- The GROUP BY clause of an aggregation with company totals: always by `keys` (a list of
    expressions: the day, the month, the cohort...), and by each of `totals` (one expression
    or a list) or over all of its values (labelled by company_total_label).
    - one total column: ((keys, department), (keys));
    - several, `nested=false` (the default): every combination, each column by itself or
      totalled (kpi_new_contacts_daily: channel x department, channel 'all', department
      'all', both 'all');
    - several, `nested=true`: a hierarchy, the later columns within the earlier ones
      (department, then owner: ((keys, department, owner), (keys, department), (keys))). -#}
{% macro group_with_company_total(keys, totals, nested=false) -%}
    {%- if totals is string -%}{%- set totals = [totals] -%}{%- endif -%}
    {%- if keys is string -%}{%- set keys = [keys] -%}{%- endif -%}
    {%- set sets = [] -%}
    {%- if nested -%}
        {%- for n in range(totals | length, -1, -1) -%}
            {%- do sets.append(keys + totals[:n]) -%}
        {%- endfor -%}
    {%- else -%}
        {#- every subset of totals, from all of them to none (bit i of `mask` set: totals[i]
            is a grouping column of the set) -#}
        {%- set n = totals | length -%}
        {%- for i in range(2 ** n) -%}
            {%- set mask = 2 ** n - 1 - i -%}
            {%- set chosen = [] -%}
            {%- for j in range(n) -%}
                {%- if (mask // (2 ** (n - 1 - j))) % 2 == 1 -%}{%- do chosen.append(totals[j]) -%}{%- endif -%}
            {%- endfor -%}
            {%- do sets.append(keys + chosen) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set rendered = [] -%}
    {%- for s in sets -%}
        {%- do rendered.append('(' ~ (s | join(', ')) ~ ')') -%}
    {%- endfor -%}
group by grouping sets ({{ rendered | join(', ') }})
{%- endmacro %}
