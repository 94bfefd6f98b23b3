-- Audit of merges (and splits): every identifier whose user changed between two runs, with
-- the user id it had and the one it has now. When two people merge, the identifiers of the
-- person whose id did not survive appear here with previous_user_id = the retired id.
with history as (
    select * from {{ ref('audit_identity__assignments') }}
),

latest_run as (
    select max(last_assigned_run_at) as run_at from history
),

current_assignments as (
    select h.* from history as h, latest_run as r where h.last_assigned_run_at = r.run_at
),

earlier_assignments as (
    select h.* from history as h, latest_run as r where h.last_assigned_run_at < r.run_at
)

select
    c.identifier_type,
    c.identifier_value,
    e.user_id as previous_user_id,
    c.user_id as current_user_id,
    e.last_assigned_as_of as previous_as_of,
    c.first_assigned_as_of as changed_as_of,
    case
        when exists (select 1 from current_assignments as k where k.user_id = e.user_id)
            then 'split'
        else 'merge'
    end as change_kind
from current_assignments as c
inner join earlier_assignments as e
    on e.identifier_type = c.identifier_type
   and e.identifier_value = c.identifier_value
   and e.user_id <> c.user_id
