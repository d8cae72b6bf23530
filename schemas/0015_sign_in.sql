-- Sign-in links (issue 21): a one-time code in a link's fragment
-- (/app/#signin=<code>) is exchanged once for a dashboard session, a
-- short-lived bearer kept in the tab's memory. Sessions are API tokens of
-- kind 'session' with an expiry; integration tokens stay kind 'api' and
-- never expire.
ALTER TABLE api_tokens
  ADD COLUMN kind TEXT NOT NULL DEFAULT 'api' CHECK (kind IN ('api', 'session')),
  ADD COLUMN expires_at TIMESTAMPTZ;

CREATE TABLE sign_in_codes (
  id          BIGSERIAL PRIMARY KEY,
  business_id BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  role        TEXT NOT NULL CHECK (role IN ('owner', 'agent', 'read_only')),
  code_hash   TEXT NOT NULL UNIQUE,  -- hex SHA-256 of the code, like tokens
  created_by  TEXT NOT NULL,         -- 'admin', 'token:N', 'cli'
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at  TIMESTAMPTZ NOT NULL,
  used_at     TIMESTAMPTZ,
  session_id  BIGINT REFERENCES api_tokens(id) ON DELETE SET NULL
);
CREATE INDEX sign_in_codes_business ON sign_in_codes(business_id, created_at DESC);
