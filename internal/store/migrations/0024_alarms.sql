-- CloudWatch metrics and alarms (internal/alarms). metric_data holds custom namespaces'
-- datapoints as statistic sets (the AWS/SageMaker namespace lives in memory); dims is the
-- metric's sorted dimensions (alarms.Metric.DimensionKey); ts in ms since the epoch.
-- An alarm's body is its JSON (definition and state); its history items are numbered by seq.
CREATE TABLE metric_data (
    account TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    dims TEXT NOT NULL,
    ts BIGINT NOT NULL,
    unit TEXT NOT NULL,
    sample_count DOUBLE PRECISION NOT NULL,
    sum_value DOUBLE PRECISION NOT NULL,
    min_value DOUBLE PRECISION NOT NULL,
    max_value DOUBLE PRECISION NOT NULL
);
CREATE INDEX metric_data_by_metric ON metric_data (account, namespace, name, dims, ts);
CREATE TABLE alarms (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    namespace TEXT NOT NULL,
    metric_name TEXT NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account, name)
);
CREATE INDEX alarms_by_metric ON alarms (account, namespace, metric_name);
CREATE TABLE alarm_history (
    seq BIGINT NOT NULL,
    account TEXT NOT NULL,
    alarm TEXT NOT NULL,
    ts BIGINT NOT NULL,
    item_type TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account, seq)
);
CREATE INDEX alarm_history_by_alarm ON alarm_history (account, alarm, seq);
