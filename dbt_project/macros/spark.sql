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
