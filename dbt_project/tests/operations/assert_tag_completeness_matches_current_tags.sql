-- Integrity test (fivetran/dbt_zendesk style): recompute tag completeness at the end of the
-- as_of day a second way, without intervals or deltas, and compare with the mart's 'all' row.
--   active   = contacts whose latest version before the end of as_of exists and is not
--              deleted (stg_crm__contacts; stg_crm__contact_versions only for a contact whose
--              current version is later than as_of, e.g. in a backfill);
--   complete = active contacts with a row in dim_contact_tags_current in every required group.
-- Returns a row (= failure) when the two disagree.
{%- set required_groups = var('required_tag_groups') %}
with as_of_day as (
    select max(date_day) as date_day from {{ ref('dim_dates') }}
),

latest_before_end as (
    select contact_id, is_deleted, created_at
    from {{ ref('stg_crm__contacts') }}
    where updated_at < {{ as_of_end() }}
    union all
    (select {{ distinct_on('contact_id') }} contact_id, is_deleted, created_at
    from {{ ref('stg_crm__contact_versions') }}
    where updated_at < {{ as_of_end() }}
      and contact_id in (
          select contact_id from {{ ref('stg_crm__contacts') }} where updated_at >= {{ as_of_end() }}
      )
    {{ keep_first('contact_id', 'updated_at desc') }})
),

active as (
    select contact_id
    from latest_before_end
    where not is_deleted and created_at < {{ as_of_end() }}
),

complete as (
    select active.contact_id
    from active
    inner join {{ ref('dim_contact_tags_current') }} as tags on tags.contact_id = active.contact_id
    where tags.tag_group in (
        {% for g in required_groups -%}
            '{{ g }}'{{ ", " if not loop.last }}
        {%- endfor %}
    )
    group by active.contact_id
    having count(distinct tags.tag_group) = {{ required_groups | length }}
),

recomputed as (
    select
        (select count(*) from active) as active_contacts,
        (select count(*) from complete) as complete_contacts
),

mart as (
    select active_contacts, complete_contacts
    from {{ ref('kpi_tag_completeness_daily') }}
    where department = 'all' and date = (select date_day from as_of_day)
)

select
    recomputed.active_contacts as recomputed_active,
    mart.active_contacts as mart_active,
    recomputed.complete_contacts as recomputed_complete,
    mart.complete_contacts as mart_complete
from recomputed
full outer join mart on true
where mart.active_contacts is distinct from recomputed.active_contacts
   or mart.complete_contacts is distinct from recomputed.complete_contacts
