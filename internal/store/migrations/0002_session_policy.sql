-- Session policies passed to AssumeRole (Policy, PolicyArns) bound what the session may do.
-- JSON array of policy documents; empty for long-term keys and unrestricted sessions.
ALTER TABLE access_keys ADD COLUMN session_policies TEXT NOT NULL DEFAULT '';
