-- Intervals in which a CRM contact is active (kpis.md: current CRM version not deleted).
-- A version is current from its updated_at (and not before the contact's created_at) until the
-- next version's updated_at; only versions before the end of as_of exist. Consecutive
-- non-deleted versions with the same owning department are merged, so a contact deleted and
-- later restored has two intervals with a gap. "Active at the end of day D" =
-- active_from < day_end and (active_to is null or active_to >= day_end).
-- Department: stg_crm__contact_versions carries no owner_staff_id, so every version takes the
-- owner of the contact's current version (stg_crm__contacts); department = the owner's
-- current staff department. (Owners never change across versions in the dev data; when
-- staging adds owner_staff_id to the versions, swap it into `versions` below.)
with owners as (
    select
        contacts.contact_id,
        contacts.owner_staff_id,
        {{ department_of('staff') }} as department
    from {{ ref('stg_crm__contacts') }} as contacts
    left join {{ ref('stg_crm__staff') }} as staff
        on staff.staff_id = contacts.owner_staff_id
),

versions as (
    select
        versions.contact_id,
        greatest(versions.created_at, versions.updated_at) as valid_from,
        versions.updated_at,
        versions.is_deleted,
        owners.owner_staff_id,
        coalesce(owners.department, 'unknown') as department
    from {{ ref('stg_crm__contact_versions') }} as versions
    left join owners on owners.contact_id = versions.contact_id
    where versions.updated_at < {{ as_of_end() }}
      and versions.created_at < {{ as_of_end() }}
),

timed as (
    select
        *,
        lead(valid_from) over by_version as valid_to,
        -- a new island starts when the state (deleted, department) differs from the previous version
        case
            when lag(is_deleted) over by_version = is_deleted
             and lag(department) over by_version = department
             and lag(owner_staff_id) over by_version is not distinct from owner_staff_id
            then 0 else 1
        end as starts_island
    from versions
    window by_version as (partition by contact_id order by updated_at)
),

islands as (
    select
        *,
        sum(starts_island) over (
            partition by contact_id order by updated_at rows unbounded preceding
        ) as island
    from timed
)

select
    contact_id,
    any_value(owner_staff_id) as owner_staff_id,
    any_value(department) as department,
    min(valid_from) as active_from,
    -- the island's last version has no successor -> still active at the end of as_of
    case when count(valid_to) < count(*) then null else max(valid_to) end as active_to
from islands
where not is_deleted
group by contact_id, island
