-- One row per tag add/remove event before the end of as_of (stg_crm__contact_tags already
-- keeps a re-delivered event once). department = current department of the contact's owner
-- (kpis.md "Owners"); 'unknown' for events of a contact missing from the CRM.
-- changes_state = false for the no-op events of kpis.md (removing a tag not held, re-adding
-- a tag already held).
with events as (
    select *
    from {{ ref('stg_crm__contact_tags') }}
    where tagged_at < {{ as_of_end() }}
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
    events.tag_event_id in (select tag_event_id from state_changes) as changes_state
from events
left join contacts on contacts.contact_id = events.contact_id
left join identifiers on identifiers.contact_id = events.contact_id
