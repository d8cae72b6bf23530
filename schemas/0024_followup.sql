-- Follow-up calls (SPEC §7 "Follow-up calls"): web-form intake, campaigns
-- and speed-to-lead call-backs, dialed through Twilio's Calls API with
-- answering-machine detection.
--
-- intake_key: the business's key for POST /api/leads/intake?key=... from a
-- public web form (it sits in the page's HTML, so it only creates leads);
-- NULL until an owner creates one.
ALTER TABLE businesses ADD COLUMN intake_key TEXT UNIQUE;

-- A campaign: the leads chosen by lead_filter, each dialed up to `attempts`
-- times, `retry_after_min` apart, at most max_concurrent at once for it.
-- kind speed_to_lead: the one per business (created on first use) that new
-- leads from intake and WhatsApp join when auto_call_new_leads is on; it is
-- always running.
-- lease_owner/lease_until: the instance whose campaign actor runs it; an
-- expired lease lets another instance take the campaign over.
CREATE TABLE campaigns (
  id              BIGSERIAL PRIMARY KEY,
  business_id     BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  name            TEXT NOT NULL,
  kind            TEXT NOT NULL DEFAULT 'campaign'
                    CHECK (kind IN ('campaign', 'speed_to_lead')),
  lead_filter     JSONB NOT NULL DEFAULT '{}',
  prompt          TEXT NOT NULL DEFAULT '',
  max_concurrent  INT NOT NULL DEFAULT 3 CHECK (max_concurrent BETWEEN 1 AND 50),
  attempts        INT NOT NULL DEFAULT 2 CHECK (attempts BETWEEN 1 AND 10),
  retry_after_min INT NOT NULL DEFAULT 60
                    CHECK (retry_after_min BETWEEN 1 AND 10080),
  voicemail       TEXT NOT NULL DEFAULT 'hangup'
                    CHECK (voicemail IN ('hangup', 'message')),
  voicemail_text  TEXT NOT NULL DEFAULT '',
  state           TEXT NOT NULL DEFAULT 'draft'
                    CHECK (state IN ('draft', 'running', 'paused', 'completed')),
  lease_owner     TEXT,
  lease_until     TIMESTAMPTZ,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  started_at      TIMESTAMPTZ,
  completed_at    TIMESTAMPTZ
);
CREATE INDEX campaigns_business ON campaigns (business_id, id DESC);
CREATE UNIQUE INDEX campaigns_speed_to_lead ON campaigns (business_id)
  WHERE kind = 'speed_to_lead';

-- One row per (campaign, lead). `outcome` is the lead's state in the
-- campaign:
--   queued     waiting for its next attempt (next_attempt_at)
--   dialing    a Calls API request placed, ringing (lease held)
--   answered   a person answered; the call is live (lease held)
--   completed  the answered call ended                          (final)
--   voicemail  a machine answered: message left or hung up       (final)
--   no_answer, busy, failed
--              the last attempt's outcome; due again at next_attempt_at
--              while attempts_made < the campaign's attempts, else final
--   opted_out  on the do-not-contact list before a dial, or DTMF 9 (final)
-- lease_owner/lease_until: the instance that dials it and until when; a
-- dial whose instance died is treated as failed after the lease expires.
CREATE TABLE campaign_leads (
  id              BIGSERIAL PRIMARY KEY,
  campaign_id     BIGINT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  business_id     BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  lead_id         BIGINT NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
  phone           TEXT NOT NULL,
  outcome         TEXT NOT NULL DEFAULT 'queued' CHECK (outcome IN
                    ('queued', 'dialing', 'answered', 'completed', 'voicemail',
                     'no_answer', 'busy', 'failed', 'opted_out')),
  attempts_made   INT NOT NULL DEFAULT 0,
  next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  lease_owner     TEXT,
  lease_until     TIMESTAMPTZ,
  call_sid        TEXT,
  answered_by     TEXT,           -- Twilio AnsweredBy of the last answer
  last_error      TEXT NOT NULL DEFAULT '',
  lead_created_at TIMESTAMPTZ,    -- speed-to-lead: from here to first_dial_at
  first_dial_at   TIMESTAMPTZ,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (campaign_id, lead_id)
);
CREATE INDEX campaign_leads_due ON campaign_leads (campaign_id, next_attempt_at)
  WHERE outcome IN ('queued', 'no_answer', 'busy', 'failed');
CREATE INDEX campaign_leads_live ON campaign_leads (business_id)
  WHERE outcome IN ('dialing', 'answered');
CREATE INDEX campaign_leads_call_sid ON campaign_leads (call_sid);

-- Calls we placed: their campaign row (NULL for an inbound call).
ALTER TABLE calls
  ADD COLUMN direction TEXT NOT NULL DEFAULT 'inbound'
    CHECK (direction IN ('inbound', 'outbound')),
  ADD COLUMN campaign_lead_id BIGINT
    REFERENCES campaign_leads(id) ON DELETE SET NULL;
