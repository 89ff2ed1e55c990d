-- EventBridge (internal/events/rules): event buses, rules, targets, and the deliveries made.
-- body holds the whole resource as JSON; the key columns are what reads select on. The
-- default bus of an account has a row only once something (a policy, tags) was written to it.
CREATE TABLE event_buses (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account, name)
);
CREATE TABLE event_rules (
    account TEXT NOT NULL,
    bus TEXT NOT NULL,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    has_pattern INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account, bus, name)
);
-- A bus's rules change generation: bumped by every change to its rules, in the same
-- transaction, so delivery keeps a bus's compiled rules until they change.
CREATE TABLE event_rule_generations (
    account TEXT NOT NULL,
    bus TEXT NOT NULL,
    gen BIGINT NOT NULL,
    PRIMARY KEY (account, bus)
);
CREATE TABLE event_targets (
    account TEXT NOT NULL,
    bus TEXT NOT NULL,
    rule TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account, bus, rule, id)
);
-- One row per delivery to a target: (event id, rule ARN, target id). A delivery commits its
-- row in the transaction that delivers, so it is made once whatever restarts; one that failed
-- for good has its reason in failure and is not tried again.
CREATE TABLE event_deliveries (
    key TEXT PRIMARY KEY,
    delivered_at BIGINT NOT NULL,
    failure TEXT NOT NULL DEFAULT ''
);
