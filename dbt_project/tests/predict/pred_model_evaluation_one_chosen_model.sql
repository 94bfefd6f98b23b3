{{ config(enabled=target.type == 'duckdb') }}
-- Exactly one model is chosen when anything was evaluated, and it is the model that scored
-- pred_customer_90d (its model_version names it).
with chosen as (
    select distinct model from {{ ref('pred_model_evaluation') }} where is_chosen
),

evaluated as (
    select count(*) as rows from {{ ref('pred_model_evaluation') }}
),

scored as (
    select distinct split_part(model_version, '/', 1) as model from {{ ref('pred_customer_90d') }}
)

select 'not exactly one chosen model' as problem
from evaluated
where rows > 0 and (select count(*) from chosen) <> 1
union all
select 'scored by ' || s.model || ', not the chosen model'
from scored as s
where exists (select 1 from chosen) and s.model not in (select model from chosen)
