{{ config(enabled=target.type == 'duckdb', severity='warn') }}
-- Warning: the held-out AUC of the chosen model on all buyers is below the configured floor
-- (dbt var prediction_auc_floor): its probabilities rank buyers little better than chance;
-- read pred_model_evaluation before acting on pred_customer_90d.
select model, segment, value as auc, {{ var('prediction_auc_floor') }} as auc_floor
from {{ ref('pred_model_evaluation') }}
where is_chosen and metric = 'auc' and segment = 'all'
  and value < {{ var('prediction_auc_floor') }}
