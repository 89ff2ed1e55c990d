-- EventBridge connections and API destinations (internal/events/webhooks). body holds the
-- whole resource as JSON; a connection's secret is in it sealed with the master key (never in
-- clear). connection is the ARN of the connection a destination uses.
CREATE TABLE event_connections (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account, name)
);
CREATE TABLE event_api_destinations (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    connection TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account, name)
);
CREATE INDEX event_api_destinations_connection ON event_api_destinations (account, connection);
