{{ config(
    materialized='incremental',
    unique_key='tag_event_id',
    incremental_strategy=keyed_incremental_strategy(),
    on_schema_change='append_new_columns',
    post_hook="{{ delete_vanished_rows('tag_event_id', tag_events_by_as_of_sql()) }}",
) }}
-- One row per tag add/remove event before the end of as_of (stg_crm__contact_tags already
-- keeps a re-delivered event once). department = current department of the contact's owner
-- (docs/kpi-book.md "Conventions"); 'unknown' for events of a contact missing from the CRM.
-- changes_state = false for the no-op events of docs/kpi-book.md "Tags" (removing a tag not held,
-- re-adding a tag already held).
--
-- Incremental (macros/incremental.sql "Incremental facts", DECISIONLOG): a run writes the
-- events the table does not hold or holds with another value (new, re-delivered, or whose
-- changes_state turned), and again every event of a contact whose user, owner or owner's
-- department changed; the post-hook deletes the events that left. The result equals a full
-- build.
with events as (
    {{ tag_events_by_as_of_sql() }}
),

state_changes as (
    select add_event_id as tag_event_id from {{ ref('int_contact_tags__holdings') }}
    union all
    select remove_event_id from {{ ref('int_contact_tags__holdings') }} where remove_event_id is not null
),

contacts as (
    select contacts.contact_id, contacts.owner_staff_id, {{ department_of('staff') }} as department
    from {{ ref('stg_crm__contacts') }} as contacts
    left join {{ ref('stg_crm__staff') }} as staff on staff.staff_id = contacts.owner_staff_id
),

identifiers as (
    select identifier_value as contact_id, user_id
    from {{ ref('dim_user_identifiers') }}
    where identifier_type = 'contact_id'
),

staged as (
    select
        events.*,
        events.tag_event_id in (select tag_event_id from state_changes) as changes_state
    from events
),

batch as (
    {{ incremental_batch('staged', 'tag_event_id',
        ['contact_id', 'tag_group', 'tag_name', 'action', 'tagged_at', 'staff_id',
         'is_automated', 'changes_state'],
        lookups=[{'key': 'contact_id', 'columns': ['user_id'], 'lookup': 'identifiers'},
                 {'key': 'contact_id', 'columns': ['owner_staff_id', 'department'],
                  'lookup': 'contacts',
                  'values': {'department': department_or_unknown('now.department')}}]) }}
)

select
    events.tag_event_id,
    events.contact_id,
    identifiers.user_id,
    events.tag_group,
    events.tag_name,
    events.action,
    events.tagged_at,
    cast(events.tagged_at as date) as tagged_date,
    events.staff_id,
    events.is_automated,
    contacts.owner_staff_id,
    {{ department_or_unknown('contacts.department') }} as department,
    events.changes_state
from batch as events
left join contacts on contacts.contact_id = events.contact_id
left join identifiers on identifiers.contact_id = events.contact_id
