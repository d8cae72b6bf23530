-- Payments: amounts in minor units (agorot/cents), never floating point.
-- pending -> paid | failed | cancelled; every transition in payment_events.
CREATE TABLE payments (
  id              BIGSERIAL PRIMARY KEY,
  business_id     BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  lead_id         BIGINT REFERENCES leads(id) ON DELETE SET NULL,
  provider        TEXT NOT NULL CHECK (provider IN ('paypal', 'tranzila')),
  amount_minor    BIGINT NOT NULL CHECK (amount_minor > 0),
  currency        TEXT NOT NULL,
  description     TEXT NOT NULL DEFAULT '',
  status          TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'paid', 'failed', 'cancelled')),
  provider_ref    TEXT UNIQUE,
  pay_url         TEXT,
  failure_reason  TEXT,
  idempotency_key TEXT,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX payments_idempotency ON payments(business_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX payments_business ON payments(business_id, id DESC);

CREATE TABLE payment_events (
  id          BIGSERIAL PRIMARY KEY,
  business_id BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  payment_id  BIGINT NOT NULL REFERENCES payments(id) ON DELETE CASCADE,
  event_key   TEXT NOT NULL,               -- provider event id: same event twice -> one row
  from_status TEXT,
  to_status   TEXT NOT NULL,
  detail      JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (payment_id, event_key)
);
