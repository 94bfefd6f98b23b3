{#- Cross-database SQL: the project builds on DuckDB (the default target), on PostgreSQL
    (target `postgres`, include/siyu/postgres.py) and on Apache Spark (target `spark`,
    include/siyu/targets/spark.py). Where the dialects differ and dbt-core has no
    cross-database macro, the models call one of these; each dispatches on the adapter
    (`adapter.dispatch`, namespace `siyu`), with the DuckDB version the exact SQL the models
    used before the port, so the DuckDB build does not change.

    Spark (4.x, ANSI mode, the profile's session settings): "name" is a string (models quote
    identifiers with adapter.quote), a backslash in a string literal escapes the
    next character (so the patterns of the regular expressions are written with doubled
    backslashes, `spark_regex`), TIMESTAMP is wall-clock time without zone (`spark.sql.timestampType =
    TIMESTAMP_NTZ`, DuckDB's TIMESTAMP), the session time zone is UTC; regular expressions
    are Java's (group references `$1`, not `\1`). -#}

{#- Keep one row per `partition`: the first by `order`. DuckDB filters with QUALIFY; PostgreSQL
    has no QUALIFY, and a wrapping subquery would need the column list (no `* EXCLUDE`), so it
    uses DISTINCT ON: `select {{ distinct_on(p) }} ... from ... {{ keep_first(p, o) }}`.
    PostgreSQL resolves a bare name in DISTINCT ON / ORDER BY to an *output* column first, so
    callers write expressions whose meaning does not depend on that (qualified or unshadowed
    input columns). -#}
{% macro distinct_on(partition) -%}
    {{ return(adapter.dispatch('distinct_on', 'siyu')(partition)) }}
{%- endmacro %}
{% macro default__distinct_on(partition) -%}{%- endmacro %}
{% macro postgres__distinct_on(partition) -%}distinct on ({{ partition }}){%- endmacro %}

{% macro keep_first(partition, order) -%}
    {{ return(adapter.dispatch('keep_first', 'siyu')(partition, order)) }}
{%- endmacro %}
{% macro default__keep_first(partition, order) -%}
qualify row_number() over (partition by {{ partition }} order by {{ order }}) = 1
{%- endmacro %}
{% macro postgres__keep_first(partition, order) -%}
order by {{ partition }}, {{ order }}
{%- endmacro %}

{#- Union of the new batch and the table's current rows. DuckDB matches columns by name;
    PostgreSQL by position, which is the same here: both sides select * of tables built by
    the same model SQL. -#}
{% macro union_all_by_name() -%}
    {{ return(adapter.dispatch('union_all_by_name', 'siyu')()) }}
{%- endmacro %}
{% macro default__union_all_by_name() -%}union all by name{%- endmacro %}
{% macro postgres__union_all_by_name() -%}union all{%- endmacro %}
{% macro spark__union_all_by_name() -%}union all{%- endmacro %}

{#- NULL instead of an error when the text is not a valid value of the type (DuckDB
    TRY_CAST). PostgreSQL 15 has no safe cast, so the text is checked by pattern first. -#}
{% macro try_cast(expr, type) -%}
    {{ return(adapter.dispatch('try_cast', 'siyu')(expr, type)) }}
{%- endmacro %}
{% macro default__try_cast(expr, type) -%}try_cast({{ expr }} as {{ type }}){%- endmacro %}
{% macro postgres__try_cast(expr, type) -%}
    {%- set t = type | lower -%}
    {%- if t == 'boolean' -%}
        {%- set pattern = '^\s*(true|false|t|f|yes|no|y|n|on|off|1|0)\s*$' -%}
    {%- elif t in ('integer', 'bigint', 'smallint') -%}
        {%- set pattern = '^\s*[+-]?[0-9]+\s*$' -%}
    {%- else -%}
        {%- set pattern = '^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)\s*$' -%}
    {%- endif -%}
    (case when cast({{ expr }} as text) ~* '{{ pattern }}' then cast(trim(cast({{ expr }} as text)) as {{ type }}) end)
{%- endmacro %}

{#- Text of element `index` (0-based) of a JSON array, or of field `key` of that element. -#}
{% macro json_array_text(col, index, key=none) -%}
    {{ return(adapter.dispatch('json_array_text', 'siyu')(col, index, key)) }}
{%- endmacro %}
{% macro default__json_array_text(col, index, key) -%}
    {%- if key is none -%}json_extract_string({{ col }}, '$[{{ index }}]')
    {%- else -%}json_extract_string({{ col }}, '$[' || {{ index }} || '].{{ key }}')
    {%- endif -%}
{%- endmacro %}
{% macro postgres__json_array_text(col, index, key) -%}
    {%- if key is none -%}(cast({{ col }} as json) ->> cast({{ index }} as integer))
    {%- else -%}((cast({{ col }} as json) -> cast({{ index }} as integer)) ->> '{{ key }}')
    {%- endif -%}
{%- endmacro %}
{% macro spark__json_array_text(col, index, key) -%}
    {%- if key is none -%}get_json_object({{ col }}, concat('$[', cast({{ index }} as string), ']'))
    {%- else -%}get_json_object({{ col }}, concat('$[', cast({{ index }} as string), '].{{ key }}'))
    {%- endif -%}
{%- endmacro %}

{#- 0, 1, ..., n - 1 as rows of a set-returning select-list expression. -#}
{% macro index_series(n) -%}
    {{ return(adapter.dispatch('index_series', 'siyu')(n)) }}
{%- endmacro %}
{% macro default__index_series(n) -%}unnest(range(cast({{ n }} as bigint))){%- endmacro %}
{% macro postgres__index_series(n) -%}generate_series(0, cast({{ n }} as bigint) - 1){%- endmacro %}
{#- Spark: sequence(0, -1) counts down, so n <= 0 explodes no array (NULL: no rows). -#}
{% macro spark__index_series(n) -%}
explode(case when cast({{ n }} as bigint) > 0 then sequence(cast(0 as bigint), cast({{ n }} as bigint) - 1) end)
{%- endmacro %}

{#- The dates from `start_ts` to `end_ts` (inclusive), as rows (Spark takes no generator
    inside an expression such as a cast). -#}
{% macro day_series_dates(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('day_series_dates', 'siyu')(start_ts, end_ts)) }}
{%- endmacro %}
{% macro default__day_series_dates(start_ts, end_ts) -%}
cast({{ day_series(start_ts, end_ts) }} as date)
{%- endmacro %}
{% macro spark__day_series_dates(start_ts, end_ts) -%}
explode(case when cast({{ start_ts }} as date) <= cast({{ end_ts }} as date)
    then sequence(cast({{ start_ts }} as date), cast({{ end_ts }} as date), interval 1 day) end)
{%- endmacro %}

{#- The timestamp of a date at a local time of day ('09:00'). -#}
{% macro day_at(day, hh_mm) -%}
    {{ return(adapter.dispatch('day_at', 'siyu')(day, hh_mm)) }}
{%- endmacro %}
{% macro default__day_at(day, hh_mm) -%}{{ day }} + cast('{{ hh_mm }}' as time){%- endmacro %}
{#- Spark has no TIME type: the time of day as a day-time interval. -#}
{% macro spark__day_at(day, hh_mm) -%}
    {%- set parts = (hh_mm ~ ':0:0').split(':') -%}
cast({{ day }} as timestamp) + make_dt_interval(0, {{ parts[0] | int }}, {{ parts[1] | int }}, {{ parts[2] | int }})
{%- endmacro %}

{#- Timestamps from `start_ts` to `end_ts` (inclusive) one day apart, as rows. -#}
{% macro day_series(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('day_series', 'siyu')(start_ts, end_ts)) }}
{%- endmacro %}
{% macro default__day_series(start_ts, end_ts) -%}
unnest(generate_series({{ start_ts }}, {{ end_ts }}, interval '1 day'))
{%- endmacro %}
{% macro postgres__day_series(start_ts, end_ts) -%}
generate_series(cast({{ start_ts }} as timestamp), cast({{ end_ts }} as timestamp), interval '1 day')
{%- endmacro %}
{#- Spark: the series as a lateral table function (`from t, {{ day_series(...) }} as s(day)`,
    the only place the models use it on Spark; day_series_dates is the select-list form). -#}
{% macro spark__day_series(start_ts, end_ts) -%}
lateral explode(case when cast({{ start_ts }} as timestamp) <= cast({{ end_ts }} as timestamp)
    then sequence(cast({{ start_ts }} as timestamp), cast({{ end_ts }} as timestamp), interval 1 day) end)
{%- endmacro %}

{#- The literal values as rows (a list literal in DuckDB, an array in PostgreSQL). -#}
{% macro unnest_values(values) -%}
    {{ return(adapter.dispatch('unnest_values', 'siyu')(values)) }}
{%- endmacro %}
{% macro default__unnest_values(values) -%}unnest([{{ values | join(', ') }}]){%- endmacro %}
{% macro postgres__unnest_values(values) -%}unnest(array[{{ values | join(', ') }}]){%- endmacro %}
{% macro spark__unnest_values(values) -%}explode(array({{ values | join(', ') }})){%- endmacro %}

{#- Milliseconds since the epoch of a timestamp (DuckDB epoch_ms). -#}
{% macro epoch_ms(ts) -%}
    {{ return(adapter.dispatch('epoch_ms', 'siyu')(ts)) }}
{%- endmacro %}
{% macro default__epoch_ms(ts) -%}epoch_ms({{ ts }}){%- endmacro %}
{% macro postgres__epoch_ms(ts) -%}
cast(floor(extract(epoch from {{ ts }}) * 1000) as bigint)
{%- endmacro %}
{% macro spark__epoch_ms(ts) -%}
unix_millis(cast({{ ts }} as timestamp_ltz))
{%- endmacro %}

{#- Continuous percentile (linear interpolation) of `expr` in the group. -#}
{% macro percentile_cont(expr, p) -%}
    {{ return(adapter.dispatch('percentile_cont', 'siyu')(expr, p)) }}
{%- endmacro %}
{% macro default__percentile_cont(expr, p) -%}quantile_cont({{ expr }}, {{ p }}){%- endmacro %}
{#- DuckDB's quantile_cont of doubles interpolates between the neighbours lo and hi of rank
    RN = (n - 1) * p (d = RN - floor(RN)) as lo * (1 - d) + hi * d, and its build evaluates that
    with a fused multiply-add: fma(lo, 1 - d, hi * d), the product lo * (1 - d) exact and one
    rounding at the end (measured on DuckDB 2.0: it matches quantile_cont in 240,000 of 240,000
    random groups, where plain double arithmetic differs in the last bit in ~13% of them, which a
    later round() to 3 decimals can turn into 0.001). PostgreSQL's percentile_cont and Spark's
    percentile interpolate otherwise, and neither has an fma: so on those engines the percentile
    is computed from the sorted values with `lerp_as_duckdb`, which emulates the fma in double
    arithmetic (Dekker's exact product, Knuth's exact sum). -#}
{% macro lerp_as_duckdb(lo, hi, d, double) -%}
    {%- set e = '(cast(1 as ' ~ double ~ ') - ' ~ d ~ ')' -%}
    {%- set split = '(cast(134217729 as ' ~ double ~ ') * ' -%}
    {#- a = a_hi + a_lo with 26-bit halves: c = 2^27 + 1 times a; a_hi = c - (c - a) -#}
    {%- set lo_hi = '(' ~ split ~ lo ~ ') - (' ~ split ~ lo ~ ') - ' ~ lo ~ '))' -%}
    {%- set lo_lo = '(' ~ lo ~ ' - ' ~ lo_hi ~ ')' -%}
    {%- set e_hi = '(' ~ split ~ e ~ ') - (' ~ split ~ e ~ ') - ' ~ e ~ '))' -%}
    {%- set e_lo = '(' ~ e ~ ' - ' ~ e_hi ~ ')' -%}
    {%- set prod = '(' ~ lo ~ ' * ' ~ e ~ ')' -%}
    {#- the rounding error of lo * e, exactly -#}
    {%- set prod_err = '(((' ~ lo_hi ~ ' * ' ~ e_hi ~ ' - ' ~ prod ~ ') + ' ~ lo_hi ~ ' * ' ~ e_lo
        ~ ' + ' ~ lo_lo ~ ' * ' ~ e_hi ~ ') + ' ~ lo_lo ~ ' * ' ~ e_lo ~ ')' -%}
    {%- set q = '(' ~ hi ~ ' * ' ~ d ~ ')' -%}
    {%- set s = '(' ~ prod ~ ' + ' ~ q ~ ')' -%}
    {%- set bb = '(' ~ s ~ ' - ' ~ prod ~ ')' -%}
    {#- the rounding error of prod + q, exactly -#}
    {%- set sum_err = '((' ~ prod ~ ' - (' ~ s ~ ' - ' ~ bb ~ ')) + (' ~ q ~ ' - ' ~ bb ~ '))' -%}
({{ s }} + ({{ sum_err }} + {{ prod_err }}))
{%- endmacro %}

{% macro postgres__percentile_cont(expr, p) -%}
    {%- set v = 'cast(' ~ expr ~ ' as double precision)' -%}
    {%- set sorted = '(array_agg(' ~ v ~ ' order by ' ~ v ~ ') filter (where ' ~ v ~ ' is not null))' -%}
    {%- set rn = '(cast(count(' ~ expr ~ ') - 1 as double precision) * ' ~ p ~ ')' -%}
    {%- set d = '(' ~ rn ~ ' - floor(' ~ rn ~ '))' -%}
    {%- set lo = sorted ~ '[cast(floor(' ~ rn ~ ') as integer) + 1]' -%}
    {%- set hi = sorted ~ '[cast(ceil(' ~ rn ~ ') as integer) + 1]' -%}
(case
    when count({{ expr }}) = 0 then null
    when {{ d }} = 0 then {{ lo }}
    else {{ lerp_as_duckdb(lo, hi, d, 'double precision') }}
end)
{%- endmacro %}
{#- On Spark as on PostgreSQL (arrays 1-based, element_at). -#}
{% macro spark__percentile_cont(expr, p) -%}
    {%- set v = 'cast(' ~ expr ~ ' as double)' -%}
    {%- set sorted = 'array_sort(collect_list(' ~ v ~ '))' -%}
    {%- set rn = '(cast(count(' ~ expr ~ ') - 1 as double) * ' ~ p ~ ')' -%}
    {%- set d = '(' ~ rn ~ ' - floor(' ~ rn ~ '))' -%}
    {%- set lo = 'element_at(' ~ sorted ~ ', cast(floor(' ~ rn ~ ') as int) + 1)' -%}
    {%- set hi = 'element_at(' ~ sorted ~ ', cast(ceil(' ~ rn ~ ') as int) + 1)' -%}
(case
    when count({{ expr }}) = 0 then null
    when {{ d }} = 0 then {{ lo }}
    else {{ lerp_as_duckdb(lo, hi, d, 'double') }}
end)
{%- endmacro %}

{#- Any value of the group; used where the value is the same on every row. PostgreSQL 15 has
    no any_value (16 has), min() is one. -#}
{% macro any_value(expr) -%}
    {{ return(adapter.dispatch('any_value', 'siyu')(expr)) }}
{%- endmacro %}
{% macro default__any_value(expr) -%}any_value({{ expr }}){%- endmacro %}
{% macro postgres__any_value(expr) -%}min({{ expr }}){%- endmacro %}

{#- round() of a double to `places` decimals, half away from zero, as DuckDB computes it:
    round(x * 10^places) / 10^places in double precision. (PostgreSQL rounds only numeric to n
    places, and its double -> numeric cast keeps 15 significant digits, which turns
    2344.27949999... into 2344.2795 and then rounds it up.) -#}
{% macro round_double(expr, places) -%}
    {{ return(adapter.dispatch('round_double', 'siyu')(expr, places)) }}
{%- endmacro %}
{% macro default__round_double(expr, places) -%}round({{ expr }}, {{ places }}){%- endmacro %}
{% macro postgres__round_double(expr, places) -%}
    {%- set v = 'cast(' ~ expr ~ ' as double precision)' -%}
    {%- set m = 'cast(' ~ (10 ** places) ~ ' as double precision)' -%}
(sign({{ v }}) * floor(abs({{ v }}) * {{ m }} + 0.5) / {{ m }})
{%- endmacro %}
{#- Spark rounds a double through its decimal text (2344.2795 for 2344.27949999...): so the
    same half-away-from-zero rounding in double precision as on PostgreSQL. -#}
{% macro spark__round_double(expr, places) -%}
    {%- set v = 'cast(' ~ expr ~ ' as double)' -%}
    {%- set m = 'cast(' ~ (10 ** places) ~ ' as double)' -%}
(sign({{ v }}) * floor(abs({{ v }}) * {{ m }} + 0.5) / {{ m }})
{%- endmacro %}

{#- A double cast to DECIMAL(precision, scale) as DuckDB does it (scaled, rounded half away
    from zero in double precision). On PostgreSQL the same expression would mostly be an exact
    numeric (numeric / integer), which rounds the other way at ties like 4137.21 / 54 =
    76.615: the value goes through double precision first. -#}
{% macro decimal_of_double(expr, precision=18, scale=2) -%}
    {{ return(adapter.dispatch('decimal_of_double', 'siyu')(expr, precision, scale)) }}
{%- endmacro %}
{% macro default__decimal_of_double(expr, precision, scale) -%}
cast({{ expr }} as decimal({{ precision }}, {{ scale }}))
{%- endmacro %}
{% macro postgres__decimal_of_double(expr, precision, scale) -%}
    {%- set v = 'cast(' ~ expr ~ ' as double precision)' -%}
    {%- set m = 'cast(' ~ (10 ** scale) ~ ' as double precision)' -%}
cast(cast(sign({{ v }}) * floor(abs({{ v }}) * {{ m }} + 0.5) as numeric) / {{ 10 ** scale }}
    as decimal({{ precision }}, {{ scale }}))
{%- endmacro %}
{#- Spark divides a decimal by a decimal or an integer exactly, DuckDB in double precision:
    a quotient that falls on half a cent (6991.05 / 22 = 317.775) then rounds differently. So
    a top-level `a / b` (exactly one top-level division) is divided in double here, as
    DuckDB does. -#}
{% macro spark__decimal_of_double(expr, precision, scale) -%}
    {%- set ns = namespace(depth=0, at=-1, count=0) -%}
    {%- for ch in expr -%}
        {%- if ch == '(' -%}{%- set ns.depth = ns.depth + 1 -%}
        {%- elif ch == ')' -%}{%- set ns.depth = ns.depth - 1 -%}
        {%- elif ch == '/' and ns.depth == 0 -%}{%- set ns.at = loop.index0 -%}{%- set ns.count = ns.count + 1 -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if ns.count == 1 -%}
        {%- set expr = 'cast(' ~ expr[:ns.at] ~ ' as double) / cast(' ~ expr[ns.at + 1:] ~ ' as double)' -%}
    {%- endif -%}
    {%- set v = 'cast(' ~ expr ~ ' as double)' -%}
    {%- set m = 'cast(' ~ (10 ** scale) ~ ' as double)' -%}
cast(cast(sign({{ v }}) * floor(abs({{ v }}) * {{ m }} + 0.5) as decimal(38, 0)) / {{ 10 ** scale }}
    as decimal({{ precision }}, {{ scale }}))
{%- endmacro %}

{#- True when the text matches the regular expression anywhere / as a whole. -#}
{% macro regexp_contains(expr, pattern) -%}
    {{ return(adapter.dispatch('regexp_contains', 'siyu')(expr, pattern)) }}
{%- endmacro %}
{% macro default__regexp_contains(expr, pattern) -%}regexp_matches({{ expr }}, '{{ pattern }}'){%- endmacro %}
{% macro postgres__regexp_contains(expr, pattern) -%}({{ expr }} ~ '{{ pattern }}'){%- endmacro %}
{% macro spark__regexp_contains(expr, pattern) -%}regexp_like({{ expr }}, '{{ spark_regex(pattern) }}'){%- endmacro %}

{% macro regexp_full_match(expr, pattern) -%}
    {{ return(adapter.dispatch('regexp_full_match', 'siyu')(expr, pattern)) }}
{%- endmacro %}
{% macro default__regexp_full_match(expr, pattern) -%}regexp_full_match({{ expr }}, '{{ pattern }}'){%- endmacro %}
{% macro postgres__regexp_full_match(expr, pattern) -%}({{ expr }} ~ '^(?:{{ pattern }})$'){%- endmacro %}
{% macro spark__regexp_full_match(expr, pattern) -%}regexp_like({{ expr }}, '^(?:{{ spark_regex(pattern) }})$'){%- endmacro %}

{#- A pattern in a Spark string literal: backslashes doubled (Spark's literals unescape them)
    and POSIX classes in Java's spelling. -#}
{% macro spark_regex(pattern) -%}
{{ pattern | replace('\\', '\\\\') | replace('[:space:]', '\\\\s') | replace('[:digit:]', '\\\\d') }}
{%- endmacro %}

{#- A replacement's group references `\N` in Java's spelling `$N`. -#}
{% macro spark_replacement(text) -%}
    {%- set ns = namespace(out=text) -%}
    {%- for n in range(1, 10) -%}{%- set ns.out = ns.out | replace('\\' ~ n, '$' ~ n) -%}{%- endfor -%}
    {{ ns.out }}
{%- endmacro %}

{#- Every match of `pattern` replaced (`\N` in the replacement: group N). -#}
{% macro regexp_replace_all(expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'siyu')(expr, pattern, replacement)) }}
{%- endmacro %}
{% macro default__regexp_replace_all(expr, pattern, replacement) -%}regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g'){%- endmacro %}
{% macro spark__regexp_replace_all(expr, pattern, replacement) -%}
regexp_replace({{ expr }}, '{{ spark_regex(pattern) }}', '{{ spark_replacement(replacement) }}')
{%- endmacro %}

{#- The first match of `pattern` replaced (DuckDB and PostgreSQL without 'g'). Used with
    anchored patterns, which match at most once, so Spark's replace-all is the same. -#}
{% macro regexp_replace_first(expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_first', 'siyu')(expr, pattern, replacement)) }}
{%- endmacro %}
{% macro default__regexp_replace_first(expr, pattern, replacement) -%}regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}'){%- endmacro %}
{% macro spark__regexp_replace_first(expr, pattern, replacement) -%}
regexp_replace({{ expr }}, '{{ spark_regex(pattern) }}', '{{ spark_replacement(replacement) }}')
{%- endmacro %}

{#- 1-based position of `part` in `text`, 0 when absent. -#}
{% macro str_position(text, part) -%}
    {{ return(adapter.dispatch('str_position', 'siyu')(text, part)) }}
{%- endmacro %}
{% macro default__str_position(text, part) -%}strpos({{ text }}, {{ part }}){%- endmacro %}
{% macro spark__str_position(text, part) -%}instr({{ text }}, {{ part }}){%- endmacro %}

{#- ISO day of the week (1 = Monday ... 7 = Sunday). -#}
{% macro iso_day_of_week(expr) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'siyu')(expr)) }}
{%- endmacro %}
{% macro default__iso_day_of_week(expr) -%}extract(isodow from {{ expr }}){%- endmacro %}
{% macro spark__iso_day_of_week(expr) -%}extract(dayofweek_iso from {{ expr }}){%- endmacro %}

{#- The distinct values of the group, sorted, joined with `sep` (NULL when there are none). -#}
{% macro string_agg_distinct_sorted(expr, sep) -%}
    {{ return(adapter.dispatch('string_agg_distinct_sorted', 'siyu')(expr, sep)) }}
{%- endmacro %}
{% macro default__string_agg_distinct_sorted(expr, sep) -%}
string_agg(distinct {{ expr }}, {{ sep }} order by {{ expr }})
{%- endmacro %}
{% macro spark__string_agg_distinct_sorted(expr, sep) -%}
nullif(array_join(array_sort(collect_set({{ expr }})), {{ sep }}), '')
{%- endmacro %}

{#- The last day of the month of a date (dbt-spark's dbt.last_day is not a date on Spark). -#}
{% macro month_end(day) -%}
    {{ return(adapter.dispatch('month_end', 'siyu')(day)) }}
{%- endmacro %}
{% macro default__month_end(day) -%}cast({{ dbt.last_day(day, 'month') }} as date){%- endmacro %}
{% macro spark__month_end(day) -%}last_day({{ day }}){%- endmacro %}

{#- a / b as DuckDB divides decimals and integers: in double precision (Spark divides two
    decimals as a decimal of scale 6). -#}
{% macro divide_double(a, b) -%}
    {{ return(adapter.dispatch('divide_double', 'siyu')(a, b)) }}
{%- endmacro %}
{% macro default__divide_double(a, b) -%}({{ a }} / {{ b }}){%- endmacro %}
{% macro spark__divide_double(a, b) -%}(cast({{ a }} as double) / cast({{ b }} as double)){%- endmacro %}

{#- SQL type names the dialects spell differently: a double, a text. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'siyu')()) }}
{%- endmacro %}
{% macro default__type_double() -%}double precision{%- endmacro %}
{% macro spark__type_double() -%}double{%- endmacro %}

{#- `name`: the project's spelling on DuckDB/PostgreSQL (text, varchar). -#}
{% macro type_text(name='text') -%}
    {{ return(adapter.dispatch('type_text', 'siyu')(name)) }}
{%- endmacro %}
{% macro default__type_text(name) -%}{{ name }}{%- endmacro %}
{% macro spark__type_text(name) -%}string{%- endmacro %}

{#- A text with an offset ('2025-03-01T10:00:00+08:00') as an instant. -#}
{% macro cast_timestamptz(expr) -%}
    {{ return(adapter.dispatch('cast_timestamptz', 'siyu')(expr)) }}
{%- endmacro %}
{% macro default__cast_timestamptz(expr) -%}cast({{ expr }} as timestamptz){%- endmacro %}
{% macro spark__cast_timestamptz(expr) -%}cast({{ expr }} as timestamp_ltz){%- endmacro %}

{#- Business-local wall time (TIMESTAMP) of a TIMESTAMPTZ. -#}
{% macro to_local(ts, tz) -%}
    {{ return(adapter.dispatch('to_local', 'siyu')(ts, tz)) }}
{%- endmacro %}
{% macro default__to_local(ts, tz) -%}timezone({{ tz }}, {{ ts }}){%- endmacro %}
{% macro postgres__to_local(ts, tz) -%}({{ ts }} at time zone {{ tz }}){%- endmacro %}
{#- Spark: the instant's UTC wall time (session time zone UTC), moved to `tz`. -#}
{% macro spark__to_local(ts, tz) -%}convert_timezone('UTC', {{ tz }}, cast({{ ts }} as timestamp_ntz)){%- endmacro %}

{#- Parse 'YYYY-MM-DD HH:MM:SS' text to a TIMESTAMP. -#}
{% macro parse_timestamp(expr) -%}
    {{ return(adapter.dispatch('parse_timestamp', 'siyu')(expr)) }}
{%- endmacro %}
{% macro default__parse_timestamp(expr) -%}strptime({{ expr }}, '%Y-%m-%d %H:%M:%S'){%- endmacro %}
{% macro postgres__parse_timestamp(expr) -%}
cast({{ expr }} as timestamp)
{%- endmacro %}
{% macro spark__parse_timestamp(expr) -%}
to_timestamp_ntz({{ expr }}, 'yyyy-MM-dd HH:mm:ss')
{%- endmacro %}

{#- UTC TIMESTAMPTZ of epoch milliseconds. -#}
{% macro from_epoch_ms(expr) -%}
    {{ return(adapter.dispatch('from_epoch_ms', 'siyu')(expr)) }}
{%- endmacro %}
{% macro default__from_epoch_ms(expr) -%}timezone('UTC', epoch_ms({{ expr }})){%- endmacro %}
{% macro postgres__from_epoch_ms(expr) -%}to_timestamp({{ expr }} / 1000.0){%- endmacro %}
{% macro spark__from_epoch_ms(expr) -%}cast(timestamp_millis({{ expr }}) as timestamp_ltz){%- endmacro %}

{#- A column name as the yml writes it, for a test's SQL: `"date"` (quoted in the yml because
    it is a keyword) quoted the adapter's way (`date` in backquotes on Spark, where "..." is a
    string), any other name as it is. -#}
{% macro column_ref(name) -%}
    {%- if name is string and name | length > 2 and name[0] == '"' and name[-1] == '"' -%}
        {{ adapter.quote(name[1:-1]) }}
    {%- else -%}
        {{ name }}
    {%- endif -%}
{%- endmacro %}

{#- ISO 8601 week-numbering year and week of a date (weeks start on Monday; the first week of
    a year holds its first Thursday). -#}
{% macro iso_year(expr) -%}
    {{ return(adapter.dispatch('iso_year', 'siyu')(expr)) }}
{%- endmacro %}
{% macro default__iso_year(expr) -%}extract(isoyear from {{ expr }}){%- endmacro %}
{% macro spark__iso_year(expr) -%}extract(yearofweek from {{ expr }}){%- endmacro %}

{% macro iso_week(expr) -%}
    {{ return(adapter.dispatch('iso_week', 'siyu')(expr)) }}
{%- endmacro %}
{% macro default__iso_week(expr) -%}extract(week from {{ expr }}){%- endmacro %}
