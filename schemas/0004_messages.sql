-- WhatsApp messages, in and out. provider_sid is unique, so a webhook
-- delivered twice is stored once.
CREATE TABLE messages (
  id           BIGSERIAL PRIMARY KEY,
  business_id  BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  lead_id      BIGINT REFERENCES leads(id) ON DELETE SET NULL,
  direction    TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  provider     TEXT NOT NULL CHECK (provider IN ('twilio', 'meta')),
  provider_sid TEXT UNIQUE,
  from_address TEXT NOT NULL DEFAULT '',
  to_address   TEXT NOT NULL DEFAULT '',
  body         TEXT NOT NULL DEFAULT '',
  media_urls   TEXT[] NOT NULL DEFAULT '{}',
  status       TEXT NOT NULL DEFAULT 'queued',
  error_code   TEXT,
  error        TEXT,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX messages_lead ON messages(lead_id, id);
CREATE INDEX messages_business ON messages(business_id, id DESC);
