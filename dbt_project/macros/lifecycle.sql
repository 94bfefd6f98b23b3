{#- The lifecycle stage of a user at a moment `day_end` (docs/kpi-book.md "Users and
    lifecycle"), the rules in their order of precedence: 3+ qualifying purchases in the last
    365 days -> high_value; first seen in the last 30 days -> new; no interaction in the last
    30 days, a buyer whose lifetime AOV is below the mean lifetime AOV of all buyers ->
    churn_risk; no interaction in the last 30 days -> silent; else active.

    One home for the rules: dim_users (the as-of day) and fct_user_lifecycle_daily (each day
    of the history) both call it, and a test checks that they agree on the as-of day. The
    arguments are SQL expressions of the calling model. -#}
{% macro lifecycle_stage(qualifying_purchases_365d, first_seen_at, day_end, interacted_30d,
                         qualifying_purchases, lifetime_aov, mean_lifetime_aov_of_buyers) -%}
    case
        when {{ qualifying_purchases_365d }} >= 3 then 'high_value'
        when {{ first_seen_at }} > {{ day_end }} - interval '30 day' then 'new'
        when not ({{ interacted_30d }}) and {{ qualifying_purchases }} > 0
             and {{ lifetime_aov }} < {{ mean_lifetime_aov_of_buyers }} then 'churn_risk'
        when not ({{ interacted_30d }}) then 'silent'
        else 'active'
    end
{%- endmacro %}
