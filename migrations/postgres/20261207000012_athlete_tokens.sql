-- Athlete tokens. A tenant may register one JWT verifier: the issuer and audience its tokens
-- must name, and where their keys come from (a JWKS URL, or an HS256 secret sealed like the
-- webhook secrets). A token is matched to its tenant by (issuer, audience), so that pair is
-- unique. Changing a verifier notifies `sparta_auth_changes`, like revoking a key.
CREATE TABLE jwt_verifiers (
    tenant_id    uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    issuer       text NOT NULL,
    audience     text NOT NULL,
    jwks_url     text,
    hs256_secret text,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT jwt_verifiers_one_key_source CHECK ((jwks_url IS NULL) <> (hs256_secret IS NULL))
);
CREATE UNIQUE INDEX jwt_verifiers_issuer_audience ON jwt_verifiers (issuer, audience);
CREATE TRIGGER jwt_verifiers_auth_change
    AFTER INSERT OR UPDATE OR DELETE ON jwt_verifiers
    FOR EACH STATEMENT EXECUTE FUNCTION sparta_notify_auth_change();

-- The athlete a job is for (`input.athlete.id`), so an athlete's token lists only theirs.
ALTER TABLE jobs ADD COLUMN athlete_id text;
CREATE INDEX jobs_by_athlete ON jobs (tenant_id, athlete_id, id DESC) WHERE athlete_id IS NOT NULL;
