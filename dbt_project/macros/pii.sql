{#- Personal data (PIPL). The raw layer is the only place with clear names, phones and
    e-mails: staging turns a phone or e-mail into a salted hash (identity matching) and a
    masked display form (people), and a name into its masked form only. The same rules are
    implemented in Python by include/siyu/pii.py (pii_hash, mask_phone, mask_name,
    mask_email); tests/test_pii.py renders these macros and checks both give identical values. -#}

{#- The deployment's secret salt (SIYU_PII_SALT, else the public demo salt: siyu.pii.salt()),
    read by the database at run time, never rendered into the SQL (which dbt writes to
    target/ and its log): on DuckDB the session variable siyu_pii_salt that the profile's
    plugin include/siyu/dbt_pii_plugin.py sets on every connection; on PostgreSQL the session
    setting siyu.pii_salt (PGOPTIONS, include/siyu/postgres.py). Missing, the build fails
    rather than hash with NULL. Changing it re-keys every hash and therefore every user_id
    anchored on a phone or e-mail. -#}
{% macro pii_salt() -%}
    {{ return(adapter.dispatch('pii_salt', 'siyu')()) }}
{%- endmacro %}
{% macro default__pii_salt() -%}
coalesce(getvariable('siyu_pii_salt'), error('siyu_pii_salt is not set: run dbt through siyu (profile plugin siyu.dbt_pii_plugin)'))
{%- endmacro %}
{% macro postgres__pii_salt() -%}current_setting('siyu.pii_salt'){%- endmacro %}
{#- Spark: the session setting spark.siyu.pii_salt of the profile, substituted by Spark when
    it reads the statement (`${...}`, spark.sql.variable.substitute), not by dbt. -#}
{% macro spark__pii_salt() -%}
coalesce(nullif(nullif('${spark.siyu.pii_salt}', ''), '$' || '{spark.siyu.pii_salt}'), raise_error('spark.siyu.pii_salt is not set: run dbt through siyu (SIYU_PII_SALT)'))
{%- endmacro %}

{#- sha256 hex of salt || value; NULL stays NULL. `value` must already be normalised
    (normalize_phone / normalize_email), so every spelling of one phone gets one hash. -#}
{% macro pii_hash(value) -%}
    (case when {{ value }} is not null and {{ value }} <> ''
          then {{ sha256_hex(pii_salt() ~ " || " ~ value) }} end)
{%- endmacro %}

{#- lower-case hex sha256 of a text's UTF-8 bytes, on every target (cross_db.sql style). -#}
{% macro sha256_hex(expr) -%}
    {{ return(adapter.dispatch('sha256_hex', 'siyu')(expr)) }}
{%- endmacro %}
{% macro default__sha256_hex(expr) -%}sha256({{ expr }}){%- endmacro %}
{% macro postgres__sha256_hex(expr) -%}encode(sha256(convert_to({{ expr }}, 'UTF8')), 'hex'){%- endmacro %}
{% macro spark__sha256_hex(expr) -%}sha2({{ expr }}, 256){%- endmacro %}

{#- 138****8000: first 3 and last 4 digits of the national number (digits only, a leading
    86 of a 13-digit number dropped), the rest starred; fewer than 8 digits: all starred. -#}
{% macro mask_phone(col) -%}
    {%- set digits = regexp_replace_all(col, '\\D', '') -%}
    {%- set d = "(case when " ~ digits ~ " like '86%' and length(" ~ digits ~ ") = 13 then substr("
        ~ digits ~ ", 3) else " ~ digits ~ " end)" -%}
    (case when nullif({{ col }}, '') is not null then
        case when length({{ d }}) < 8 then repeat('*', length({{ d }}))
             else left({{ d }}, 3) || repeat('*', length({{ d }}) - 7) || right({{ d }}, 4)
        end
    end)
{%- endmacro %}

{#- Free text staff type (tag and group names, content titles, campaign channels) can carry a
    phone or e-mail: outside raw, every e-mail-like substring becomes [email] and every
    phone-like one [phone] (a mainland mobile, with or without +86/86 and single spaces or
    hyphens between digits, or a landline with its 0xx area code). The patterns use only
    what RE2 (DuckDB), PostgreSQL and Python's re read alike; siyu.pii.mask_free_text is the
    Python twin. -#}
{% macro mask_free_text(col) -%}
    {{ regexp_replace_all(regexp_replace_all(col, free_text_email_pattern(), '[email]'),
                          free_text_phone_pattern(), '[phone]') }}
{%- endmacro %}
{% macro free_text_email_pattern() -%}[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+([.][A-Za-z0-9-]+)*[.][A-Za-z]{2,}{%- endmacro %}
{% macro free_text_phone_pattern() -%}([+]?86[ -]?)?1[3-9][0-9]([ -]?[0-9]){8}|0[0-9]{2,3}[ -]?[0-9]{7,8}{%- endmacro %}

{#- First character kept, the rest starred (张** / J***); one character: '*'. -#}
{% macro mask_name(col) -%}
    (case when nullif({{ col }}, '') is not null then
        case when length(trim({{ col }})) <= 1 then '*'
             else left(trim({{ col }}), 1) || repeat('*', length(trim({{ col }})) - 1)
        end
    end)
{%- endmacro %}

{#- z***@example.com: first character of the local part, three stars, the domain. -#}
{% macro mask_email(col) -%}
    (case when nullif({{ col }}, '') is not null then
        case when {{ str_position(col, "'@'") }} > 1
             then left({{ col }}, 1) || '***' || substr({{ col }}, {{ str_position(col, "'@'") }})
             else '***'
        end
    end)
{%- endmacro %}

{#- A normalised e-mail that may identify somebody: identity resolution never lets a value
    with white space inside link anybody (int_identity__record_identifiers), and a hash has
    none, so the rule is applied here, before hashing, to keep the same links. -#}
{% macro linkable_email(col) -%}
    (case when not {{ regexp_contains(normalize_email(col), '[[:space:]]') }} then {{ normalize_email(col) }} end)
{%- endmacro %}

{#- BI serving (models/bi): a view names the mart it reads without the database (catalog)
    part. DuckDB names a file's catalog after the file (`siyu.building` while dbt builds the
    working copy, `siyu` once it is published, whatever alias a BI tool attaches it under), so
    a view that stored the catalog name would break on the atomic rename. -#}
{% macro bi_ref(model_name) -%}
    {{ return(ref(model_name).include(database=False)) }}
{%- endmacro %}

{#- Pre-hook of incremental models that keep identifier values across runs
    (audit_identity__assignments): a warehouse built before hashing came in holds clear
    phones and e-mails there; they are deleted (the hashed rows replace them), so an upgrade
    does not need a full refresh to stop carrying personal data. -#}
{% macro drop_clear_identifiers() -%}
    {{ return(adapter.dispatch('drop_clear_identifiers', 'siyu')()) }}
{%- endmacro %}
{#- Spark builds every run into databases of its own (include/siyu/targets/spark.py): no
    table there predates hashing, nothing to remove. -#}
{% macro spark__drop_clear_identifiers() -%}select 1{%- endmacro %}
{% macro default__drop_clear_identifiers() -%}
    {%- set existing = adapter.get_relation(database=this.database, schema=this.schema,
                                            identifier=this.identifier) -%}
    {%- if existing is not none -%}
    delete from {{ existing }}
    where identifier_type in ('phone', 'email')
      and not {{ regexp_full_match('identifier_value', '[0-9a-f]{64}') }}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of incremental staging that used to carry a clear column (stg_shop__orders had
    buyer_phone_normalized): drop it from the existing table before the run, since the
    incremental merge (`union all by name` with the table's rows) would otherwise carry the
    old column, and its clear phones, forward. -#}
{% macro drop_clear_columns(columns) -%}
    {{ return(adapter.dispatch('drop_clear_columns', 'siyu')(columns)) }}
{%- endmacro %}
{#- Spark builds every run into databases of its own (include/siyu/targets/spark.py): no
    table there predates hashing, nothing to remove. -#}
{% macro spark__drop_clear_columns(columns) -%}select 1{%- endmacro %}
{% macro default__drop_clear_columns(columns) -%}
    {%- set existing = adapter.get_relation(database=this.database, schema=this.schema,
                                            identifier=this.identifier) -%}
    {%- if existing is not none -%}
    {%- for column in columns %}
    alter table {{ existing }} drop column if exists {{ column }};
    {%- endfor %}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
