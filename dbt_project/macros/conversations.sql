{#- Macros of the conversation KPIs (models/intermediate/conversations, models/marts/service). -#}

{#- A rate as a fraction in [0, 1]; NULL when the denominator is 0 or NULL (docs/kpi-book.md
    "Conventions": empty is not zero). -#}
{% macro conversations_rate(numerator, denominator) -%}
    (cast({{ numerator }} as {{ type_double() }}) / nullif({{ denominator }}, 0))
{%- endmacro %}

{#- The working calendar of business-hours FRT (docs/kpi-book.md "Response rates": an
    addition, never a replacement for wall-clock FRT). Override with the var
    `service_business_hours`, e.g.
      --vars '{service_business_hours: {start: "09:00", end: "21:00", work_days: [1,2,3,4,5,6,7], holidays: ["2025-05-01"]}}'
    start/end: local wall time of each working day (end exclusive); work_days: ISO day of
    week (1 = Monday); holidays: dates that are not working days. Default: 09:00-18:00,
    Monday to Friday, no holidays. -#}
{% macro conversations_business_hours() -%}
    {%- set defaults = {'start': '09:00', 'end': '18:00', 'work_days': [1, 2, 3, 4, 5], 'holidays': []} -%}
    {%- set configured = var('service_business_hours', {}) or {} -%}
    {%- set calendar = {} -%}
    {%- for key, value in defaults.items() -%}
        {%- do calendar.update({key: configured.get(key, value)}) -%}
    {%- endfor -%}
    {{ return(calendar) }}
{%- endmacro %}

{#- A message's place in its conversation (msgtime_ms, then msgid) as text that sorts the same
    way: the time zero-padded to 20 digits, then the msgid (substr(key, 21) gives it back). -#}
{% macro message_order_key() -%}
    (lpad(cast(msgtime_ms as {{ type_text('varchar') }}), 20, '0') || msgid)
{%- endmacro %}

{#- `column` of the first (`first_of_frame`) or last (`last_of_frame`) message of a window's
    frame for which `condition` holds; NULL when none does. The window orders a conversation
    by (msgtime_ms, msgid). DuckDB reads it with FIRST_VALUE / LAST_VALUE ... IGNORE NULLS
    (measured at 1M users: int_conversations__messages 18.7 s -> 14.6 s, the same rows).
    PostgreSQL has no IGNORE NULLS, so elsewhere: for msgid, the minimum / maximum of the
    frame's message_order_key; for a column that grows with that order (sent_at, from
    msgtime_ms), its minimum / maximum, which is the same message's value. -#}
{% macro first_of_frame(condition, column, window) -%}
    {{ return(adapter.dispatch('frame_value', 'siyu')('first', condition, column, window)) }}
{%- endmacro %}
{% macro last_of_frame(condition, column, window) -%}
    {{ return(adapter.dispatch('frame_value', 'siyu')('last', condition, column, window)) }}
{%- endmacro %}
{% macro default__frame_value(end, condition, column, window) -%}
    {%- set agg = 'min' if end == 'first' else 'max' -%}
    {%- if column == 'msgid' -%}
        substr({{ agg }}(case when {{ condition }} then {{ message_order_key() }} end)
            over {{ window }}, 21)
    {%- else -%}
        {{ agg }}(case when {{ condition }} then {{ column }} end)
            over {{ window }}
    {%- endif -%}
{%- endmacro %}
{% macro duckdb__frame_value(end, condition, column, window) -%}
    {{ end }}_value(case when {{ condition }} then {{ column }} end ignore nulls) over {{ window }}
{%- endmacro %}

{#- The 1v1 messages int_conversations__messages sequences (its docs say which): also the
    set its incremental post-hook keeps rows of. -#}
{% macro conversation_source_sql() -%}
    select
        msgid,
        customer_id as external_userid,
        staff_id,
        sender_type,
        sent_at,
        msgtime_ms
    from {{ ref('stg_community__messages') }}
    where chat_type = 'single'
      and not is_revoked
      and not is_bot
      and sender_type in ('customer', 'staff')
      and sent_at < {{ as_of_end() }}
      and customer_id is not null
      and staff_id is not null
{%- endmacro %}
