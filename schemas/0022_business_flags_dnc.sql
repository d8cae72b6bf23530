-- Second-round business switches (SPEC §7) and the do-not-contact list.
--
-- whatsapp_ai: with an OpenAI key, the conversation actor answers inbound
-- WhatsApp messages with the AI (default on). auto_call_new_leads: a new
-- lead from intake or WhatsApp is called back within 60 s inside working
-- hours (speed-to-lead; default off). Both are the owner's to change
-- (PATCH /api/crm/settings) and the administrator's.
ALTER TABLE businesses ADD COLUMN whatsapp_ai BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE businesses ADD COLUMN auto_call_new_leads BOOLEAN NOT NULL
  DEFAULT FALSE;

-- Numbers that asked not to be contacted (Communications Law §30A): the
-- WhatsApp word הסר / STOP, DTMF 9 in a follow-up call, or an agent through
-- /api/crm/dnc. Checked right before every outbound dial and every
-- marketing or follow-up send. Per business: a number that refused one
-- office has not refused another. `phone` is E.164 (+972...).
CREATE TABLE dnc (
  business_id BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  phone       TEXT NOT NULL,
  source      TEXT NOT NULL DEFAULT 'agent' CHECK (source IN
                ('agent', 'whatsapp', 'dtmf', 'import', 'api')),
  note        TEXT NOT NULL DEFAULT '',
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (business_id, phone)
);
