-- WhatsApp media (SPEC §7, issue "WhatsApp that talks"): images, voice notes
-- and documents of inbound messages (Twilio MediaUrl0..n, Meta media ids),
-- fetched after the webhook answered and kept in PostgreSQL so any instance
-- serves them (GET /api/crm/messages/{id}/media/{idx}).
--
-- status: pending (not fetched yet), stored (bytes kept), failed (the
-- provider did not deliver after the retries; error says why), rejected
-- (over the size cap or a content type outside the allow-list; no bytes).
-- source_ref: the provider's URL or media id; never shown by the API.
-- transcript: a voice note's text (STT_API_BASE), when configured.
CREATE TABLE message_media (
  id           BIGSERIAL PRIMARY KEY,
  business_id  BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  message_id   BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  idx          INT NOT NULL CHECK (idx >= 0),
  status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'stored', 'failed', 'rejected')),
  content_type TEXT NOT NULL DEFAULT '',
  filename     TEXT NOT NULL DEFAULT '',
  size_bytes   BIGINT NOT NULL DEFAULT 0,
  bytes        BYTEA,
  source_ref   TEXT NOT NULL DEFAULT '',
  transcript   TEXT,
  error        TEXT NOT NULL DEFAULT '',
  attempts     INT NOT NULL DEFAULT 0,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (message_id, idx)
);
CREATE INDEX message_media_pending ON message_media (created_at)
  WHERE status = 'pending';

-- The fetcher (actors/whatsapp_media.hpp) claims pending rows with FOR
-- UPDATE SKIP LOCKED and a lease: next_attempt_at moves to the end of the
-- lease when claimed, so a dead instance's claims are due again after it,
-- and a retry after a provider error waits its backoff the same way.
ALTER TABLE message_media
  ADD COLUMN next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  ADD COLUMN fetched_at      TIMESTAMPTZ;
DROP INDEX message_media_pending;
CREATE INDEX message_media_pending ON message_media (next_attempt_at)
  WHERE status = 'pending';

-- Outbound media (POST /api/whatsapp/send "media_url", e.g. a listing
-- photo): the URL the provider was given, NULL for a text-only message.
ALTER TABLE messages ADD COLUMN media_url TEXT;
