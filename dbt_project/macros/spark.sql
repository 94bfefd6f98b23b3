{#- Operations of the Spark target (include/siyu/targets/spark.py), run with
    `dbt run-operation` so that every Spark statement goes through dbt's connection (a local
    session, a cluster or a Thrift server alike). -#}

{#- Point each raw table at the Parquet folder of this run (external tables: dropping one
    never deletes files). `tables`: [{schema, table, location}]. -#}
{% macro spark_register_raw(tables) -%}
    {%- for schema in tables | map(attribute='schema') | unique -%}
        {%- do run_query('create database if not exists ' ~ schema) -%}
    {%- endfor -%}
    {%- for t in tables -%}
        {%- set name = t['schema'] ~ '.' ~ t['table'] -%}
        {%- do run_query('drop table if exists ' ~ name) -%}
        {%- do run_query("create table " ~ name ~ " using parquet location '" ~ t['location'] ~ "'") -%}
    {%- endfor -%}
    {{ log('registered ' ~ (tables | length) ~ ' raw tables', info=true) }}
{%- endmacro %}

{#- Publish a build: every table and view of `<schema><suffix>` becomes the view
    `<schema>.<name>` over it (CREATE OR REPLACE VIEW: one metastore update each); published
    views the build does not have are dropped; then the databases of builds whose suffix is
    not in `keep` are dropped (the build before stays for readers still on it). -#}
{% macro spark_publish(suffix, schemas, keep) -%}
    {%- set databases = run_query('show databases').columns[0].values() -%}
    {%- for schema in schemas if (schema ~ suffix) in databases -%}
        {%- set built = schema ~ suffix -%}
        {%- do run_query('create database if not exists ' ~ schema) -%}
        {%- set names = spark_relation_names(built) -%}
        {%- for name in names -%}
            {%- do run_query('create or replace view ' ~ schema ~ '.`' ~ name ~ '` as select * from ' ~ built ~ '.`' ~ name ~ '`') -%}
        {%- endfor -%}
        {%- for name in spark_relation_names(schema) if name not in names -%}
            {%- do run_query('drop view if exists ' ~ schema ~ '.`' ~ name ~ '`') -%}
        {%- endfor -%}
        {{ log('published ' ~ schema ~ ': ' ~ (names | length) ~ ' views over ' ~ built, info=true) }}
    {%- endfor -%}
    {%- for db in databases -%}
        {%- set parts = db.split('__b') -%}
        {%- if parts | length == 2 and parts[0] in schemas and ('__b' ~ parts[1]) not in keep -%}
            {%- do run_query('drop database if exists ' ~ db ~ ' cascade') -%}
            {{ log('dropped old build database ' ~ db, info=true) }}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- Names of the tables and views of a database (no temporary views). -#}
{% macro spark_relation_names(database) -%}
    {%- set names = [] -%}
    {%- for row in run_query('show tables in ' ~ database) -%}
        {%- if not row['isTemporary'] -%}{%- do names.append(row['tableName']) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{#- Write each relation of `schema` (or only `tables`) as Parquet part files into
    `<folder>/<name>/` (siyu export then merges them into one file per table with DuckDB). -#}
{% macro spark_export(schema, folder, tables=none) -%}
    {%- set names = tables or spark_relation_names(schema) -%}
    {%- for name in names -%}
        {%- do run_query("insert overwrite directory '" ~ folder ~ "/" ~ name ~ "' using parquet select * from " ~ schema ~ ".`" ~ name ~ "`") -%}
    {%- endfor -%}
    {{ log('exported ' ~ (names | length) ~ ' relations of ' ~ schema, info=true) }}
{%- endmacro %}

{#- Seeds on Spark: dbt-spark 1.11's session connection puts the values into the INSERT with
    `%` formatting and no escaping, so a quote in a seed (kpi_targets' notes) breaks the
    statement. The same INSERT with each value written as an escaped literal. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
            ({%- for col_name in agate_table.column_names -%}
                {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
                {%- set type = column_override.get(col_name, inferred_type) -%}
                {%- set value = row[loop.index0] -%}
                cast({% if value is none %}null{% else %}'{{ (value | string) | replace('\\', '\\\\') | replace("'", "\\'") }}'{% endif %} as {{ type }})
                {%- if not loop.last %}, {% endif -%}
            {%- endfor -%}){%- if not loop.last %},{% endif %}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.index0 == 0 -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}

{#- dbt-core's cross-database date macros on Spark. dbt-spark 1.11 computes them through
    to_unix_timestamp/to_timestamp round trips, which go wrong with the profile's
    TIMESTAMP_NTZ timestamps (int_contacts__acquiring_departments came out empty). These
    overrides (the root project's spark__ macros win dbt's dispatch) use Spark's own
    functions, with DuckDB's meaning: datediff counts the part boundaries between the two
    values. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}

{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- if datepart == 'day' -%}
datediff(cast({{ second_date }} as date), cast({{ first_date }} as date))
    {%- elif datepart == 'second' -%}
(unix_seconds(cast({{ second_date }} as timestamp_ltz)) - unix_seconds(cast({{ first_date }} as timestamp_ltz)))
    {%- else -%}
timestampdiff({{ datepart }}, {{ first_date }}, {{ second_date }})
    {%- endif -%}
{%- endmacro %}
