-- Security (issue 23): an append-only audit trail of every admin and owner
-- change. Tenant secrets (businesses.twilio_auth_token, paypal_secret) stay
-- in their TEXT columns but hold AES-256-GCM envelopes
-- ("enc:v1:<key id>:<base64url>"); the application seals them (it holds the
-- key), encrypts rows written before this migration at its next start, and
-- re-encrypts them under a new key with `agentlocator rotate-secrets`.

CREATE TABLE audit_log (
  id          BIGSERIAL PRIMARY KEY,
  -- No foreign key: the trail outlives what it describes.
  business_id BIGINT,
  at          TIMESTAMPTZ NOT NULL DEFAULT now(),
  actor       TEXT NOT NULL,           -- 'admin', 'token:N', 'cli', 'system'
  token_id    BIGINT,                  -- api_tokens.id when a token acted
  role        TEXT,                    -- the actor's role then
  action      TEXT NOT NULL,           -- 'settings.update', 'lead.delete', ...
  target_type TEXT NOT NULL,           -- 'business', 'token', 'lead', ...
  target_id   TEXT,
  address     TEXT,                    -- the client's address
  request_id  TEXT,
  -- Non-secret fields as {"field": {"from": .., "to": ..}}; a secret appears
  -- only as {"changed": true}; a deleted lead's personal data never.
  diff        JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_business ON audit_log(business_id, id DESC);
CREATE INDEX audit_log_at ON audit_log(at);

-- Append-only: no UPDATE, and DELETE only from the retention purge, which
-- sets agentlocator.audit_purge for its own transaction.
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND coalesce(current_setting('agentlocator.audit_purge', true), '') = 'on'
  THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END $$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
