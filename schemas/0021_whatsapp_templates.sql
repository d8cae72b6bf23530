-- WhatsApp's 24-hour customer-care window and message templates.
--
-- A free-form message reaches a number only within 24 hours of that
-- number's last inbound message (Twilio error 63016 otherwise); outside the
-- window only an approved template goes through. The conversation row
-- (schemas/0011), which every inbound insert already upserts under its row
-- lock, keeps the time of the last inbound message: one primary-key read
-- per send, by the database's clock, the same on every instance.
ALTER TABLE wa_conversations ADD COLUMN last_inbound_at TIMESTAMPTZ;

UPDATE wa_conversations w SET last_inbound_at = m.at
  FROM (SELECT business_id, from_address, max(created_at) AS at
          FROM messages WHERE direction = 'in'
         GROUP BY 1, 2) m
 WHERE w.business_id = m.business_id AND w.peer = m.from_address;

-- Templates a business registered with its provider: Twilio's Content API
-- (ContentSid HX..., ContentVariables) and/or Meta's template name and
-- language. `variables` lists the placeholder keys in parameter order
-- ("1","2",... or names); `body` is the preview text with {{key}}
-- placeholders, stored rendered on each message sent with it.
CREATE TABLE wa_templates (
  id                 BIGSERIAL PRIMARY KEY,
  business_id        BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  name               TEXT NOT NULL,
  purpose            TEXT NOT NULL DEFAULT 'generic' CHECK (purpose IN
                       ('payment_link', 'appointment_confirmation',
                        'follow_up', 'generic')),
  language           TEXT NOT NULL DEFAULT 'he',
  twilio_content_sid TEXT,
  meta_name          TEXT NOT NULL,
  variables          TEXT[] NOT NULL DEFAULT '{}',
  body               TEXT NOT NULL DEFAULT '',
  created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (business_id, name)
);
CREATE INDEX wa_templates_purpose ON wa_templates (business_id, purpose, id);

-- The template an outbound message was sent with (NULL: free-form).
ALTER TABLE messages ADD COLUMN template_name TEXT;
