-- Facts every server of one database agrees on: the master key's check value, and who created
-- the organization and whether that first start finished. One row per name.
CREATE TABLE server_state (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- A database whose organization exists was bootstrapped by a server before this table existed.
INSERT INTO server_state (name, value) SELECT 'bootstrap', 'done' WHERE EXISTS (SELECT 1 FROM organizations);
