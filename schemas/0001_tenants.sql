-- Tenants: businesses, the phone numbers routed to them, and their API tokens.
-- Secrets (Twilio auth token, PayPal secret) are write-only through the API.
-- NULL settings mean "use the global value from the environment".
CREATE TABLE businesses (
  id                 BIGSERIAL PRIMARY KEY,
  name               TEXT NOT NULL,
  greeting           TEXT,
  prompt             TEXT,
  voice_engine       TEXT NOT NULL DEFAULT 'local'
                     CHECK (voice_engine IN ('local', 'openai')),
  twilio_account_sid TEXT,
  twilio_auth_token  TEXT,
  whatsapp_from      TEXT,
  whatsapp_provider  TEXT CHECK (whatsapp_provider IN ('twilio', 'meta')),
  payments_enabled   BOOLEAN NOT NULL DEFAULT TRUE,
  payments_provider  TEXT CHECK (payments_provider IN ('paypal', 'tranzila')),
  paypal_client_id   TEXT,
  paypal_secret      TEXT,
  tranzila_terminal  TEXT,
  working_hours      JSONB NOT NULL DEFAULT '{}'::jsonb,
  after_hours_reply  TEXT,
  max_live_calls     INTEGER CHECK (max_live_calls IS NULL OR max_live_calls >= 0),
  created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE phone_numbers (
  number      TEXT PRIMARY KEY,           -- E.164, claimed by one business
  business_id BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX phone_numbers_business ON phone_numbers(business_id);

CREATE TABLE api_tokens (
  id          BIGSERIAL PRIMARY KEY,
  business_id BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  role        TEXT NOT NULL CHECK (role IN ('owner', 'agent', 'read_only')),
  name        TEXT NOT NULL DEFAULT '',
  token_hash  TEXT NOT NULL UNIQUE,       -- hex SHA-256 of the token
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  revoked_at  TIMESTAMPTZ
);
CREATE INDEX api_tokens_business ON api_tokens(business_id);

-- The default business: calls to numbers no business claims go to it; its
-- Twilio, WhatsApp and payment settings come from the environment (NULLs).
INSERT INTO businesses (id, name) VALUES (1, 'Default');
SELECT setval('businesses_id_seq', (SELECT max(id) FROM businesses));
