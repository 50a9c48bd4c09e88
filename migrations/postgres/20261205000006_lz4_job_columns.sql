-- A finished job's row outgrows the toast threshold (about 2 KB) once its output is written, so
-- every result write ran Postgres's default pglz over input, output and trace: measured as the
-- largest single cost in Postgres while workers drain a backlog, for values that barely
-- compress. lz4 is several times cheaper (PostgreSQL 14+, built with lz4, as Debian's and the
-- official images are). Existing values keep their compression until rewritten.
ALTER TABLE jobs
    ALTER COLUMN input SET COMPRESSION lz4,
    ALTER COLUMN output SET COMPRESSION lz4,
    ALTER COLUMN trace SET COMPRESSION lz4;
