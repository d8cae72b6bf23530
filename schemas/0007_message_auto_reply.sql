-- WhatsApp: automatic after-hours acknowledgements are marked, so that a
-- conversation actor revived from the database (after an idle stop, a
-- restart or on another instance) knows when it last sent one and sends at
-- most one per conversation every few hours.
ALTER TABLE messages ADD COLUMN auto_reply BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX messages_auto_reply ON messages(business_id, to_address, id DESC)
  WHERE auto_reply;
