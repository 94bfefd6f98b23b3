-- Current version of every CRM contact (latest updated_at; ties to the later delivery).
with source as (
    select * from {{ source('raw_crm', 'contacts') }}
    where {{ delivered_by_as_of() }}
),

typed as (
    select
        contact_id,
        {{ clean_text('external_userid') }} as external_userid,
        {{ clean_text('unionid') }} as unionid,
        {{ mask_name(clean_text('name')) }} as name_masked,
        {{ pii_hash(normalize_phone('phone')) }} as phone_hash,
        {{ mask_phone(normalize_phone('phone')) }} as phone_masked,
        {{ normalize_phone('phone') }} is not null as is_phone_valid,
        {{ pii_hash(linkable_email('email')) }} as email_hash,
        {{ mask_email(normalize_email('email')) }} as email_masked,
        {{ clean_text('city') }} as city,
        coalesce({{ mask_free_text(clean_text('source_channel')) }}, 'unknown') as source_channel,
        {{ clean_text('owner_staff_id') }} as owner_staff_id,
        {{ crm_time('created_at') }} as created_at,
        {{ crm_time('updated_at') }} as updated_at,
        is_deleted = 'true' as is_deleted,
        _dt, _file, _line, _load_id
    from source
)

select {{ distinct_on('contact_id') }} * from typed
{{ latest_version('contact_id', 'updated_at') }}
