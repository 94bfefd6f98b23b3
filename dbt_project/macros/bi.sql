{#- BI serving: the `bi` schema is generated from the marts' yml, not written by hand.

    Every mart (models/marts, schema `marts`) runs `bi_view()` as a post-hook
    (dbt_project.yml): once dbt has built the mart, the hook (re)creates the view
    `bi.<mart>` over it with
      * the mart's documented columns, in the yml's order, and nothing else: the yml is the
        allow-list, so a column added to a mart's SQL reaches BI only once it is documented
        (and reviewed) there;
      * a column whose `meta` says `bi: false` left out, and a column whose `meta` has
        `bi_mask: "<SQL expression>"` shown as that expression, `{column}` standing for the
        column (e.g. `left({column}, 1) || '**'`), under the same name;
      * the mart's and its columns' descriptions as the view's and columns' comments, which
        BI tools show (Metabase, DBeaver, Superset's table metadata): the docs are written once.
    A mart whose `meta` says `bi: false` gets no generated view (the identity audit tables;
    `dim_user_identifiers`, whose BI view is the hand-written model `bi_dim_user_identifiers`
    because masking its values needs a join).

    The view names the mart without the catalog: DuckDB names a file's catalog after the file
    (`siyu.building` while dbt builds, `siyu` once published), and a catalog-qualified view
    would break at the rename (see `bi_ref`). On PostgreSQL the view is dropped and created
    again (CREATE OR REPLACE VIEW cannot drop a column), inside the model's transaction. -#}
{% macro bi_view() -%}
    {{ return(adapter.dispatch('bi_view', 'siyu')()) }}
{%- endmacro %}

{% macro default__bi_view() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- if (model.config.get('meta') or {}).get('bi', true) is false -%}{{ return('') }}{%- endif -%}
    {%- set view_schema = generate_schema_name('bi', model) | trim -%}
    {%- set view = adapter.quote(view_schema) ~ '.' ~ adapter.quote(this.identifier) -%}
    {%- set select_list = [] -%}
    {%- set comments = [] -%}
    {%- for name, column in model.columns.items() -%}
        {%- set meta = {} -%}
        {%- do meta.update(column.get('meta') or {}) -%}
        {%- do meta.update((column.get('config') or {}).get('meta') or {}) -%}
        {%- if meta.get('bi', true) is not false -%}
            {%- set quoted = adapter.quote(name) -%}
            {%- if meta.get('bi_mask') -%}
                {%- do select_list.append('(' ~ meta['bi_mask'] | replace('{column}', quoted) ~ ') as ' ~ quoted) -%}
            {%- else -%}
                {%- do select_list.append(quoted) -%}
            {%- endif -%}
            {%- if column.get('description') -%}
                {%- do comments.append('comment on column ' ~ view ~ '.' ~ quoted ~ ' is ' ~ bi_literal(column['description'])) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not select_list -%}
        {{ exceptions.raise_compiler_error("bi_view: " ~ model.name ~ " documents no column for BI; document its columns in its yml or set meta bi: false") }}
    {%- endif -%}
create schema if not exists {{ adapter.quote(view_schema) }};
drop view if exists {{ view }};
create view {{ view }} as
select {{ select_list | join(', ') }}
from {{ this.include(database=False) }};
comment on view {{ view }} is {{ bi_literal('BI view of ' ~ this.schema ~ '.' ~ this.identifier ~ ' (generated from its documented columns). ' ~ (model.description or '')) }};
{{ comments | join(';\n') }}
{%- endmacro %}

{#- A SQL string literal of ``text`` (single quotes doubled, white space folded). -#}
{% macro bi_literal(text) -%}
    '{{ (text | string).split() | join(' ') | replace("'", "''") }}'
{%- endmacro %}

{#- Spark runs one statement at a time and has no COMMENT ON COLUMN: the hook runs its
    statements itself (and renders to nothing) and gives the view its comments in CREATE VIEW
    (a single quote in a comment becomes a typographic one: with the profile's
    escapedStringLiterals Spark has no way to escape it). -#}
{% macro spark__bi_view() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- if (model.config.get('meta') or {}).get('bi', true) is false -%}{{ return('') }}{%- endif -%}
    {%- set view_schema = generate_schema_name('bi', model) | trim -%}
    {%- set view = adapter.quote(view_schema) ~ '.' ~ adapter.quote(this.identifier) -%}
    {%- set select_list = [] -%}
    {%- set columns = [] -%}
    {%- for name, column in model.columns.items() -%}
        {%- set meta = {} -%}
        {%- do meta.update(column.get('meta') or {}) -%}
        {%- do meta.update((column.get('config') or {}).get('meta') or {}) -%}
        {%- if meta.get('bi', true) is not false -%}
            {%- set quoted = adapter.quote(name) -%}
            {%- if meta.get('bi_mask') -%}
                {%- do select_list.append('(' ~ meta['bi_mask'] | replace('{column}', quoted) ~ ') as ' ~ quoted) -%}
            {%- else -%}
                {%- do select_list.append(quoted) -%}
            {%- endif -%}
            {%- do columns.append(quoted ~ (' comment ' ~ spark_comment(column['description'], spark_column_comment_chars() | int) if column.get('description') else '')) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not select_list -%}
        {{ exceptions.raise_compiler_error("bi_view: " ~ model.name ~ " documents no column for BI; document its columns in its yml or set meta bi: false") }}
    {%- endif -%}
    {%- do run_query('create database if not exists ' ~ adapter.quote(view_schema)) -%}
    {%- do run_query('create or replace view ' ~ view ~ ' (' ~ columns | join(', ') ~ ') comment '
        ~ spark_comment('BI view of ' ~ this.schema ~ '.' ~ this.identifier ~ ' (generated from its documented columns). ' ~ (model.description or ''))
        ~ ' as select ' ~ select_list | join(', ') ~ ' from ' ~ this.include(database=False)) -%}
    {{ return('') }}
{%- endmacro %}

{#- A Spark string literal of ``text`` (white space folded, a single quote made typographic),
    cut to ``max_chars`` characters (the last one then an ellipsis) when given. -#}
{% macro spark_comment(text, max_chars=none) -%}
    {%- set folded = (text | string).split() | join(' ') | replace("'", "’") -%}
    {%- if max_chars and folded | length > max_chars -%}
        {%- set folded = folded[:max_chars - 1] ~ '…' -%}
    {%- endif -%}
    '{{ folded }}'
{%- endmacro %}

{#- The longest column comment a view keeps on Spark: the Hive metastore stores a column's
    comment in 256 characters (COLUMNS_V2.COMMENT). With a longer one, CREATE VIEW waits for
    the metastore client's retries to fail (20 s per view, measured on the embedded Derby
    metastore, holding the catalog lock that the other dbt thread's statements wait for) and
    Spark then keeps the view in its own format. The full text stays in the docs and on the
    DuckDB and PostgreSQL views. -#}
{% macro spark_column_comment_chars() -%}256{%- endmacro %}
