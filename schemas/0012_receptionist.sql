-- The receptionist (SPEC §7 "Calls"): the AI on by default, one voice from
-- the first frame, transfer to a person, appointment slots.

-- voice_engine 'auto': the OpenAI engine when OPENAI_API_KEY is set (and
-- VOICE_ENGINE is not 'local'), else the embedded one. Until now 'local'
-- was the only default and could not be told from a choice, so every
-- 'local' business becomes 'auto': a key alone turns the AI on.
ALTER TABLE businesses DROP CONSTRAINT IF EXISTS businesses_voice_engine_check;
UPDATE businesses SET voice_engine = 'auto' WHERE voice_engine = 'local';
ALTER TABLE businesses ALTER COLUMN voice_engine SET DEFAULT 'auto';
ALTER TABLE businesses ADD CONSTRAINT businesses_voice_engine_check
  CHECK (voice_engine IN ('auto', 'local', 'openai'));

ALTER TABLE businesses
  -- The AI voice (OpenAI voice name); NULL: OPENAI_VOICE.
  ADD COLUMN voice TEXT,
  -- {"numbers":["+9725..."],"ring_timeout_s":20}; {} = no transfer.
  ADD COLUMN transfer JSONB NOT NULL DEFAULT '{}'::jsonb,
  -- The owner's uploaded greeting, as played: 8 kHz mono mu-law.
  ADD COLUMN greeting_audio BYTEA,
  -- Bumped on every greeting/voice/audio change: instances compare it with
  -- what they hold in memory and reload only then.
  ADD COLUMN greeting_rev BIGINT NOT NULL DEFAULT 0;

-- Speech rendered by {OPENAI_API_BASE}/audio/speech (8 kHz mu-law), shared
-- by every instance; key = sha256 of model, voice and text.
CREATE TABLE rendered_speech (
  key        TEXT PRIMARY KEY,
  voice      TEXT NOT NULL,
  text       TEXT NOT NULL,
  audio      BYTEA NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A transfer asked for during the call: the numbers to <Dial>, set by the
-- call actor before it ends the stream; the <Connect action> reads it.
ALTER TABLE calls
  ADD COLUMN transfer JSONB,
  ADD COLUMN transfer_status TEXT;

ALTER TABLE appointments
  ADD COLUMN duration_min INTEGER NOT NULL DEFAULT 60
    CHECK (duration_min BETWEEN 5 AND 1440);
CREATE INDEX appointments_business_live ON appointments(business_id, starts_at)
  WHERE status = 'scheduled';
