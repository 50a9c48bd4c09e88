-- The operator's circuit-breaker overrides (an incident: a provider down, or too expensive right
-- now): a model forced open (every call skipped) or closed (every call made), until lifted.
-- Every worker reads them at each reconciliation tick and applies them to its own breakers.
CREATE TABLE llm_breaker_overrides (
    model   text PRIMARY KEY,
    state   text NOT NULL CHECK (state IN ('open', 'closed')),
    reason  text,
    set_at  timestamptz NOT NULL
);
