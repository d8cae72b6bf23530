-- WhatsApp that talks (SPEC §7 "WhatsApp conversations"): the AI's state
-- per conversation, shared by every instance through the conversation row
-- (schemas/0011), which every message insert already locks.
--
-- ai_paused_until: an agent took the conversation over (a reply from the
--   dashboard, POST /api/crm/leads/{id}/takeover); the AI stays quiet until
--   then (12 h) or until released (NULL).
-- ai_paused_by: who took it over (audit-style "token:<id>", "admin").
-- needs_agent: the AI asked for a person (handoff) or could not answer
--   (provider or AI failure): the inbox shows it; cleared by an agent's
--   reply or a release.
-- last_read_seq: the conversation_seq an agent last read up to (the inbox's
--   unread count is inbound messages above it).
ALTER TABLE wa_conversations
  ADD COLUMN ai_paused_until TIMESTAMPTZ,
  ADD COLUMN ai_paused_by    TEXT,
  ADD COLUMN needs_agent     BOOLEAN NOT NULL DEFAULT FALSE,
  ADD COLUMN last_read_seq   BIGINT NOT NULL DEFAULT 0;

-- Who wrote an outbound message: 'ai' (the conversation's AI), 'agent' (a
-- person, from the dashboard or the API), 'auto' (the after-hours reply or
-- an opt-out confirmation), 'system' (payment links, confirmations and other
-- messages the service sends on its own). NULL for inbound messages and for
-- rows stored before this migration.
ALTER TABLE messages ADD COLUMN sent_by TEXT
  CHECK (sent_by IN ('ai', 'agent', 'auto', 'system'));

-- One AI reply per burst, whichever instance and whichever incarnation of
-- the conversation actor answers (actors/whatsapp_ai.hpp explains the
-- protocol):
-- ai_answered_seq: every inbound message of the conversation up to this
--   conversation_seq has been dealt with (answered by the AI, or left to a
--   person because the AI was off, paused or failed).
-- ai_claim_seq / ai_claim_token / ai_claim_until: the lease of the one
--   instance now answering the inbound messages up to ai_claim_seq; an
--   expired lease (the instance died) may be taken over.
-- Existing conversations start as answered: the AI never replies to what
-- was written before it was switched on.
ALTER TABLE wa_conversations
  ADD COLUMN ai_answered_seq BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN ai_claim_seq    BIGINT,
  ADD COLUMN ai_claim_token  TEXT,
  ADD COLUMN ai_claim_until  TIMESTAMPTZ;
UPDATE wa_conversations SET ai_answered_seq = last_seq;
