-- A job's input and output as `json` (the text, checked) instead of `jsonb` (parsed into a tree).
-- SPARTA never looks inside them in SQL; it writes them whole and reads them whole. Parsing
-- them into jsonb was half the cost of writing a batch of results (8 ms of the 16 that a batch
-- of 183 results of 3.9 KB took), and reading jsonb back prints the tree as text again. As
-- `json` they are stored as written, keys in the order the engine wrote them. `error`, `trace`
-- and `metadata` stay `jsonb`: small, and the trace is appended to (`||`) at every attempt.
ALTER TABLE jobs
    ALTER COLUMN input TYPE json USING input::json,
    ALTER COLUMN output TYPE json USING output::json,
    ALTER COLUMN input SET COMPRESSION lz4,
    ALTER COLUMN output SET COMPRESSION lz4;
