-- Athlete tokens. A tenant may register one JWT verifier: the issuer and audience its tokens
-- must name, and where their keys come from (a JWKS URL, or an HS256 secret sealed like the
-- webhook secrets). A token is matched to its tenant by (issuer, audience), so that pair is
-- unique. Instants are milliseconds since the epoch, ids 16-byte blobs.
CREATE TABLE jwt_verifiers (
    tenant_id    BLOB PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    issuer       TEXT NOT NULL,
    audience     TEXT NOT NULL,
    jwks_url     TEXT,
    hs256_secret TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    CHECK ((jwks_url IS NULL) <> (hs256_secret IS NULL))
);
CREATE UNIQUE INDEX jwt_verifiers_issuer_audience ON jwt_verifiers (issuer, audience);

-- The athlete a job is for (`input.athlete.id`), so an athlete's token lists only theirs.
ALTER TABLE jobs ADD COLUMN athlete_id TEXT;
CREATE INDEX jobs_by_athlete ON jobs (tenant_id, athlete_id, id DESC) WHERE athlete_id IS NOT NULL;
