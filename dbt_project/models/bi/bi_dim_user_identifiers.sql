{{ config(alias='dim_user_identifiers') }}
-- BI view of marts.dim_user_identifiers. Phones and e-mails are salted hashes in the mart;
-- BI shows their masked form (138****8000, z***@example.com) instead, never the hash (a
-- hash of an 11-digit phone can be reversed by anybody who gets the salt). Other identifier
-- types (contact_id, buyer_id, external_userid, unionid) are system ids, shown as they are.
select
    u.identifier_type,
    case
        when u.identifier_type in ('phone', 'email') then coalesce(m.identifier_masked, '***')
        else u.identifier_value
    end as identifier_value,
    u.user_id,
    u.source_records,
    u.first_seen_at,
    u.is_anchor
from {{ bi_ref('dim_user_identifiers') }} as u
left join {{ bi_ref('int_identity__masked_identifiers') }} as m
    on m.identifier_type = u.identifier_type and m.identifier_value = u.identifier_value
