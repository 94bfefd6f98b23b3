{#- Fails for every row whose column does not match `regex` as a whole (anchors optional);
    NULLs pass (a not_null test says whether they may be missing). Cross-database through
    `regexp_full_match` (macros/cross_db.sql). Conditional rules use `config: where:`. -#}
{% test match_regex(model, column_name, regex) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and not {{ regexp_full_match(column_name, regex) }}
{% endtest %}
