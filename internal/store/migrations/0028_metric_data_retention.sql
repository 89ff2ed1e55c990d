-- The retention sweep (alarms.Service.PruneData) deletes metric_data's oldest rows in batches:
-- by time, whatever the account and metric.
CREATE INDEX metric_data_by_time ON metric_data (ts);
