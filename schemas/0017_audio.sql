-- Call audio kept in PostgreSQL (SPEC §7 "After every call"), so that any
-- instance serves any recording and nothing is lost with a pod's disk.
-- One call_audio row per object: a caller turn ('segment', seq = the turn),
-- a recording downloaded from Twilio ('recording', seq 0), the whole
-- two-sided call ('call', seq 0). Its bytes are call_audio_chunks rows of
-- 256 KiB (the last one shorter), so a range request reads only the chunks
-- it needs. An object is served once `complete`. The business is the
-- call's (calls.call_sid); deleting the business deletes its audio.
CREATE TABLE call_audio (
  id           BIGSERIAL PRIMARY KEY,
  business_id  BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  call_sid     TEXT NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('segment', 'recording', 'call')),
  seq          INTEGER NOT NULL DEFAULT 0,
  content_type TEXT NOT NULL,
  total_bytes  BIGINT NOT NULL DEFAULT 0,
  duration_ms  INTEGER NOT NULL DEFAULT 0,
  complete     BOOLEAN NOT NULL DEFAULT FALSE,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (call_sid, kind, seq)
);
-- Retention (AUDIO_RETENTION_DAYS) deletes the oldest first.
CREATE INDEX call_audio_created ON call_audio(created_at);
-- The CRM's lookups are per business and call.
CREATE INDEX call_audio_business_call ON call_audio(business_id, call_sid);

CREATE TABLE call_audio_chunks (
  audio_id BIGINT NOT NULL REFERENCES call_audio(id) ON DELETE CASCADE,
  chunk_no INTEGER NOT NULL CHECK (chunk_no >= 0),
  data     BYTEA NOT NULL,
  PRIMARY KEY (audio_id, chunk_no)
);
-- Compressed audio does not shrink further: store it out of line without
-- spending CPU on pglz.
ALTER TABLE call_audio_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- The one-time import of audio files written to RECORDINGS_DIR by earlier
-- versions (actors/audio_jobs.cpp): NULL = not looked at yet, 'done' =
-- moved into call_audio, 'missing' = no readable file (logged, not retried).
ALTER TABLE call_segments
  ADD COLUMN audio_import TEXT CHECK (audio_import IN ('done', 'missing'));
ALTER TABLE calls
  ADD COLUMN recording_import TEXT
    CHECK (recording_import IN ('done', 'missing'));
CREATE INDEX call_segments_import_pending ON call_segments(id)
  WHERE audio_import IS NULL;
CREATE INDEX calls_recording_import_pending ON calls(id)
  WHERE recording_path IS NOT NULL AND recording_import IS NULL;
