-- Every (source record, identifier) pair seen before the end of the as-of day.
-- A source record is a CRM contact, a shop buyer, or a WeCom external user seen only in
-- the community data; its anchor is the record's own key (contact_id, buyer_id,
-- external_userid). Identifiers are normalised in staging (malformed phones and emails are
-- NULL there), so a malformed identifier never links two people (docs/landing-contract.md
-- "Identity"). Phones and e-mails arrive as salted hashes of the normalised value (macros/pii.sql):
-- equal values have equal hashes, so they link exactly as the clear values would, and no clear
-- phone or e-mail leaves the raw layer.
-- Other identifiers are taken as delivered, except placeholders for "no value" ('null',
-- 'none', '0', ...) and values with white space inside, which are dropped.
{%- set end = as_of_end() %}

with contact_versions as (
    select contact_id, external_userid, unionid, phone_hash, email_hash,
           coalesce(created_at, updated_at) as seen_at
    from {{ ref('stg_crm__contact_versions') }}
    where updated_at < {{ end }}
),

customer_versions as (
    select buyer_id, phone_hash, unionid, coalesce(registered_at, updated_at) as seen_at
    from {{ ref('stg_shop__customer_versions') }}
    where updated_at < {{ end }}
),

order_buyers as (
    select buyer_id, buyer_phone_hash, unionid, coalesce(created_at, first_updated_at) as seen_at
    from {{ ref('stg_shop__order_buyers') }}
    where first_updated_at < {{ end }}
),

-- the customer side of every message, revoked and bot messages aside
message_customers as (
    select customer_id as external_userid, min(sent_at) as seen_at
    from {{ ref('stg_community__messages') }}
    where not is_revoked and not is_bot and customer_id is not null and sent_at < {{ end }}
    group by 1
),

member_customers as (
    select member_id as external_userid, min(event_at) as seen_at
    from {{ ref('stg_community__group_members') }}
    where member_type = 'customer' and event_at < {{ end }}
    group by 1
),

content_recipients as (
    select external_userid, min(event_at) as seen_at
    from {{ ref('stg_community__content_events') }}
    where external_userid is not null and event_at < {{ end }}
    group by 1
),

pairs as (
    {%- set record_sets = [
        ('contact', 'contact_versions', 'contact_id',
            [('contact_id', 'contact_id'), ('external_userid', 'external_userid'),
             ('unionid', 'unionid'), ('phone', 'phone_hash'), ('email', 'email_hash')]),
        ('buyer', 'customer_versions', 'buyer_id',
            [('buyer_id', 'buyer_id'), ('phone', 'phone_hash'), ('unionid', 'unionid')]),
        ('buyer', 'order_buyers', 'buyer_id',
            [('buyer_id', 'buyer_id'), ('phone', 'buyer_phone_hash'), ('unionid', 'unionid')]),
        ('community', 'message_customers', 'external_userid', [('external_userid', 'external_userid')]),
        ('community', 'member_customers', 'external_userid', [('external_userid', 'external_userid')]),
        ('community', 'content_recipients', 'external_userid', [('external_userid', 'external_userid')]),
    ] %}
    {%- for record_type, relation, key, identifiers in record_sets %}
    {%- set outer_loop = loop %}
    {%- for identifier_type, column in identifiers %}
    select '{{ record_type }}' as record_type, {{ key }} as record_key,
           '{{ identifier_type }}' as identifier_type, {{ column }} as identifier_value, seen_at
    from {{ relation }}
    {%- if not (outer_loop.last and loop.last) %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- endfor %}
)

select
    record_type,
    record_key,
    identifier_type,
    identifier_value,
    min(seen_at) as first_seen_at
from pairs
where identifier_value is not null
  -- placeholders exported for "no value" never identify anybody
  and lower(identifier_value) not in ('null', 'none', 'undefined', 'nan', '0', '-')
  and not {{ regexp_contains('identifier_value', '[[:space:]]') }}
group by 1, 2, 3, 4
