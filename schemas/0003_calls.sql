-- Calls: one row per Twilio call, ordered events, caller audio segments.
-- `ended_normally` lets any instance answer the <Connect action> correctly.
CREATE TABLE calls (
  id             BIGSERIAL PRIMARY KEY,
  business_id    BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  call_sid       TEXT NOT NULL UNIQUE,
  stream_sid     TEXT,
  from_number    TEXT NOT NULL DEFAULT '',
  to_number      TEXT NOT NULL DEFAULT '',
  status         TEXT NOT NULL DEFAULT 'ringing',
  engine         TEXT NOT NULL DEFAULT 'local',
  lead_id        BIGINT REFERENCES leads(id) ON DELETE SET NULL,
  ended_normally BOOLEAN NOT NULL DEFAULT FALSE,
  end_reason     TEXT,
  recording_url  TEXT,
  recording_path TEXT,
  summary        TEXT,
  created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  started_at     TIMESTAMPTZ,                -- media stream start
  ended_at       TIMESTAMPTZ,
  updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX calls_business_created ON calls(business_id, created_at DESC);

CREATE TABLE call_events (
  id          BIGSERIAL PRIMARY KEY,
  business_id BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  call_sid    TEXT NOT NULL,
  seq         INTEGER NOT NULL,             -- order within the call
  kind        TEXT NOT NULL,                -- stream_start, utterance, barge_in, dtmf, transcript, error...
  detail      JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (call_sid, kind, seq)
);
CREATE INDEX call_events_call ON call_events(call_sid, id);

CREATE TABLE call_segments (
  id          BIGSERIAL PRIMARY KEY,
  business_id BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  call_sid    TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  path        TEXT NOT NULL,                -- relative to RECORDINGS_DIR
  duration_ms INTEGER NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (call_sid, seq)
);
