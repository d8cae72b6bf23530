-- WhatsApp conversation order across instances. A conversation is a
-- business and the customer's address (whatsapp:+972...). Every message
-- insert, in or out, first upserts its conversation row: that takes the
-- row's lock until the transaction commits and hands out the next
-- conversation_seq. So two instances storing messages of one conversation
-- at the same moment are serialised by PostgreSQL: conversation_seq, and
-- the message ids (drawn after the lock), increase in commit order.
CREATE TABLE wa_conversations (
  business_id     BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  peer            TEXT NOT NULL,
  last_seq        BIGINT NOT NULL DEFAULT 0,
  last_message_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (business_id, peer)
);

ALTER TABLE messages ADD COLUMN conversation_seq BIGINT;

-- Messages stored before this migration, numbered in id order.
UPDATE messages m SET conversation_seq = n.seq
  FROM (SELECT id, row_number() OVER (
                 PARTITION BY business_id,
                   CASE WHEN direction = 'in' THEN from_address ELSE to_address END
                 ORDER BY id) AS seq
          FROM messages) n
 WHERE m.id = n.id;

INSERT INTO wa_conversations (business_id, peer, last_seq, last_message_at)
SELECT business_id,
       CASE WHEN direction = 'in' THEN from_address ELSE to_address END,
       max(conversation_seq), max(created_at)
  FROM messages
 GROUP BY 1, 2;

CREATE UNIQUE INDEX messages_conversation_seq
  ON messages (business_id,
               (CASE WHEN direction = 'in' THEN from_address ELSE to_address END),
               conversation_seq);
