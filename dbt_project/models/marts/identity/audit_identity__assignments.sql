{{ config(
    materialized='incremental',
    unique_key=['identifier_type', 'identifier_value', 'user_id'],
    incremental_strategy=keyed_incremental_strategy(),
    on_schema_change='append_new_columns',
    pre_hook="{{ drop_clear_identifiers() }}",
) }}
-- History of identifier -> user assignments across runs (incremental: each run upserts
-- the current assignments; a pair that is no longer current keeps its last run). It is
-- what lets audit_identity__user_id_changes show which ids merged. A --full-refresh
-- starts the history again.
with current_assignments as (
    select identifier_type, identifier_value, user_id
    from {{ ref('dim_user_identifiers') }}
)

select
    c.identifier_type,
    c.identifier_value,
    c.user_id,
    {% if is_incremental() -%}
    coalesce(h.first_assigned_run_at, cast('{{ run_started_at }}' as timestamp)) as first_assigned_run_at,
    coalesce(h.first_assigned_as_of, {{ as_of_date() }}) as first_assigned_as_of,
    {%- else -%}
    cast('{{ run_started_at }}' as timestamp) as first_assigned_run_at,
    {{ as_of_date() }} as first_assigned_as_of,
    {%- endif %}
    cast('{{ run_started_at }}' as timestamp) as last_assigned_run_at,
    {{ as_of_date() }} as last_assigned_as_of
from current_assignments as c
{% if is_incremental() -%}
left join {{ this }} as h using (identifier_type, identifier_value, user_id)
{%- endif %}
