{#- Connected components of the identity graph (int_identity__components): `labels` of
    (node_id, component_id = the smallest node_id of the node's component) from the CTEs
    `nodes` (node_id) and `undirected` (src, dst, both directions). -#}
{% macro component_labels(nodes, edges) -%}
    {{ return(adapter.dispatch('component_labels', 'siyu')(nodes, edges)) }}
{%- endmacro %}

{#- DuckDB and PostgreSQL: label propagation in a recursive CTE with UNION (duplicates
    removed, which ends the walk). -#}
{% macro default__component_labels(nodes, edges) -%}
    {#- Postgres and DuckDB both take WITH RECURSIVE ... UNION (duplicates removed) -#}
    with recursive walk(node_id, label) as (
        select node_id, node_id from {{ nodes }}
        union
        select u.dst, w.label
        from walk as w
        inner join {{ edges }} as u on u.src = w.node_id
        where w.label < u.dst
    )
    select node_id, min(label) as component_id
    from walk
    group by node_id
{%- endmacro %}

{#- Spark's recursive CTEs take UNION ALL only, with which the walk above never ends. So the
    smallest label is propagated in `var('identity_label_rounds')` unrolled rounds (each round
    every node takes the smallest label among itself and its neighbours: a round per hop of
    the component's diameter), and one more round checks that nothing changes any more:
    a graph whose components are wider than that fails the build (raise_error) instead of
    splitting a person. -#}
{% macro spark__component_labels(nodes, edges) -%}
    {%- set rounds = var('identity_label_rounds', 12) | int -%}
    with reach as (
        select src, dst from {{ edges }}
        union all
        select node_id, node_id from {{ nodes }}
    ),
    round_0 as (
        select node_id, node_id as label from {{ nodes }}
    ),
    {%- for i in range(1, rounds + 2) %}
    round_{{ i }} as (
        select r.src as node_id, min(l.label) as label
        from reach as r
        inner join round_{{ i - 1 }} as l on l.node_id = r.dst
        group by r.src
    ){{ ',' if not loop.last }}
    {%- endfor %}
    select f.node_id,
        case when f.label = c.label then f.label
             else raise_error('identity components wider than {{ rounds }} hops: raise var identity_label_rounds')
        end as component_id
    from round_{{ rounds }} as f
    inner join round_{{ rounds + 1 }} as c on c.node_id = f.node_id
{%- endmacro %}
