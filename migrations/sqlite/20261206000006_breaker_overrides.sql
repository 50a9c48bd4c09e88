-- The operator's circuit-breaker overrides: a model forced open or closed until lifted; the
-- worker reads them at each reconciliation tick. Instants are milliseconds since the epoch.
CREATE TABLE llm_breaker_overrides (
    model   TEXT PRIMARY KEY,
    state   TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    reason  TEXT,
    set_at  INTEGER NOT NULL
);
