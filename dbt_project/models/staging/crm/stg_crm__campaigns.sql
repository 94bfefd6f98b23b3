-- Current version of every campaign with its spend.
with source as (
    select * from {{ source('raw_crm', 'campaigns') }}
    where {{ delivered_by_as_of() }}
)

select {{ distinct_on('campaign_id') }}
    campaign_id,
    coalesce({{ mask_free_text(clean_text('channel')) }}, 'unknown') as channel,
    {{ clean_text('department') }} as department,
    cast(start_date as date) as start_date,
    cast(end_date as date) as end_date,
    cast(spend_cny as decimal(18, 2)) as spend_cny,
    {{ crm_time('updated_at') }} as updated_at,
    _dt, _file, _line, _load_id
from source
{{ latest_version('campaign_id', 'updated_at') }}
