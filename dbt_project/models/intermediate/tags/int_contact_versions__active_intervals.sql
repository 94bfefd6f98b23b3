-- Intervals in which a CRM contact is active (docs/kpi-book.md "Users and lifecycle": current
-- version not deleted). A version is current from its updated_at (and not before the contact's
-- created_at) until the next version's updated_at; only versions before the end of as_of exist.
-- Consecutive non-deleted versions with the same owning department are merged, so a contact deleted
-- and later restored has two intervals with a gap. "Active at the end of day D" =
-- active_from < day_end and (active_to is null or active_to >= day_end).
-- Department: each version's own owner_staff_id; department = that staff member's current
-- department (docs/kpi-book.md "Conventions": a staff member's department is its current version),
-- so a contact handed to another owner moves department from that version on.
with versions as (
    select
        versions.contact_id,
        greatest(versions.created_at, versions.updated_at) as valid_from,
        versions.updated_at,
        versions.is_deleted,
        versions.owner_staff_id,
        {{ department_of('staff') }} as department
    from {{ ref('stg_crm__contact_versions') }} as versions
    left join {{ ref('stg_crm__staff') }} as staff
        on staff.staff_id = versions.owner_staff_id
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
    {{ any_value('owner_staff_id') }} as owner_staff_id,
    {{ any_value('department') }} as department,
    min(valid_from) as active_from,
    -- the island's last version has no successor -> still active at the end of as_of
    case when count(valid_to) < count(*) then null else max(valid_to) end as active_to
from islands
where not is_deleted
group by contact_id, island
