-- Every distinct version of every CRM contact (deleted ones too): identity resolution uses
-- every identifier a contact ever carried (docs/landing-contract.md "Identity": every contact
-- version, deleted ones too).
with source as (
    select * from {{ source('raw_crm', 'contacts') }}
    where {{ delivered_by_as_of() }}
)

select {{ distinct_on('source.contact_id, source.updated_at') }}
    contact_id,
    {{ clean_text('external_userid') }} as external_userid,
    {{ clean_text('unionid') }} as unionid,
    {{ pii_hash(normalize_phone('phone')) }} as phone_hash,
    {{ mask_phone(normalize_phone('phone')) }} as phone_masked,
    {{ pii_hash(linkable_email('email')) }} as email_hash,
    {{ mask_email(linkable_email('email')) }} as email_masked,
    coalesce({{ clean_text('source_channel') }}, 'unknown') as source_channel,
    {{ clean_text('owner_staff_id') }} as owner_staff_id,
    {{ crm_time('created_at') }} as created_at,
    {{ crm_time('updated_at') }} as updated_at,
    is_deleted = 'true' as is_deleted,
    _dt, _file, _line
from source
{{ keep_first('source.contact_id, source.updated_at', '_dt desc, _file desc, _line desc') }}
