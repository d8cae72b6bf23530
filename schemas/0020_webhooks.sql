-- Outgoing webhooks (SPEC §7 "After every call"): a business may name a
-- webhook_url (and a webhook_secret, sealed at rest like the other tenant
-- secrets, actors/secret_columns.cpp) that hears call.completed,
-- lead.created, message.received and payment.paid.
--
-- Events go through a durable outbox: a row is written in the same
-- transaction as the change it reports (so an event exists if and only if
-- the change committed), and a delivery actor per instance
-- (actors/webhook_delivery.cpp) claims due rows with FOR UPDATE SKIP LOCKED
-- and a lease (lease_until), posts `body` byte for byte, and records the
-- outcome. A claim that is never finished (a dead instance) is taken again
-- after its lease. `window_from` starts the give-up window (WEBHOOK_GIVE_UP_S):
-- the creation, or a manual retry of a failed delivery.

ALTER TABLE businesses
  ADD COLUMN webhook_url    TEXT,
  ADD COLUMN webhook_secret TEXT;

CREATE TABLE webhook_outbox (
  id              TEXT PRIMARY KEY,          -- evt_ + 24 hex
  business_id     BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  event           TEXT NOT NULL,
  body            TEXT NOT NULL,             -- the exact bytes signed and sent
  status          TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  lease_until     TIMESTAMPTZ,
  window_from     TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_status     INTEGER,
  last_error      TEXT,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  delivered_at    TIMESTAMPTZ
);

-- The deliverers' claim: pending rows that are due.
CREATE INDEX webhook_outbox_due ON webhook_outbox(next_attempt_at)
  WHERE status = 'pending';
-- GET /api/crm/webhooks/deliveries: newest first, optionally by status.
CREATE INDEX webhook_outbox_business
  ON webhook_outbox(business_id, created_at DESC, id DESC);
