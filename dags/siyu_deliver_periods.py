"""Airflow DAGs `siyu_deliver_week` and `siyu_deliver_month`: each department's weekly report
(Monday 08:00, the ISO week that ended) and monthly report (the 1st at 08:00, the month that
ended), built and e-mailed like the daily `siyu_deliver` (siyu.orchestration.period_delivery_dag;
`siyu deliver --period week|month` from the command line)."""

from siyu.orchestration import period_delivery_dag

siyu_deliver_week = period_delivery_dag("week")
siyu_deliver_month = period_delivery_dag("month")
