-- Tag events; identical re-delivered events are kept once.
with source as (
    select * from {{ source('raw_crm', 'contact_tags') }}
    where {{ delivered_by_as_of() }}
)

select {{ distinct_on('source.contact_id, source.tag_group, source.tag_name, source.action, source.tagged_at') }}
    md5(concat_ws('|', contact_id, tag_group, tag_name, action, tagged_at)) as tag_event_id,
    contact_id,
    {{ mask_free_text('trim(tag_group)') }} as tag_group,
    {{ mask_free_text('trim(tag_name)') }} as tag_name,
    action,
    {{ crm_time('tagged_at') }} as tagged_at,
    {{ clean_text('staff_id') }} as staff_id,
    {{ clean_text('staff_id') }} is null as is_automated,
    _dt, _file, _line, _load_id
from source
{{ keep_first(
    'source.contact_id, source.tag_group, source.tag_name, source.action, source.tagged_at',
    '_dt desc, _file desc, _line desc'
) }}
