-- Leads: callers and WhatsApp senders become leads of one business.
-- A phone number is unique per business (one lead per person and business).
CREATE TABLE leads (
  id          BIGSERIAL PRIMARY KEY,
  business_id BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  name        TEXT NOT NULL DEFAULT '',
  phone       TEXT,                        -- E.164
  source      TEXT NOT NULL DEFAULT 'manual'
              CHECK (source IN ('call', 'whatsapp', 'manual')),
  status      TEXT NOT NULL DEFAULT 'new',
  deal        TEXT CHECK (deal IN ('buy', 'rent', 'sell')),
  city        TEXT,
  rooms       NUMERIC(4, 1),
  budget_min  BIGINT,
  budget_max  BIGINT,
  notes       TEXT NOT NULL DEFAULT '',
  tags        TEXT[] NOT NULL DEFAULT '{}',
  callback_at TEXT,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX leads_business_phone ON leads(business_id, phone)
  WHERE phone IS NOT NULL;
CREATE INDEX leads_business_status ON leads(business_id, status);
CREATE INDEX leads_business_created ON leads(business_id, created_at DESC);

CREATE TABLE lead_history (
  id          BIGSERIAL PRIMARY KEY,
  business_id BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  lead_id     BIGINT NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
  field       TEXT NOT NULL,
  old_value   TEXT,
  new_value   TEXT,
  actor       TEXT NOT NULL,               -- token id / "system"
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX lead_history_lead ON lead_history(lead_id, id);
