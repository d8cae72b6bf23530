-- After every call (SPEC §7): a durable job per ended call that writes the
-- transcript (the engine's, or the local engine's prompts and the caller's
-- turns through STT_API_BASE) and a Hebrew summary with extracted fields,
-- then queues the call.completed webhook. Claimed with FOR UPDATE SKIP
-- LOCKED under a lease, so two instances never run one job at once and a
-- job whose instance died is taken over once its lease ran out.
CREATE TABLE after_call_jobs (
  call_sid    TEXT PRIMARY KEY REFERENCES calls(call_sid) ON DELETE CASCADE,
  business_id BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  status      TEXT NOT NULL DEFAULT 'pending'
              CHECK (status IN ('pending', 'running', 'done', 'failed')),
  attempts    INTEGER NOT NULL DEFAULT 0,
  -- The call actor of a streamed call wrote everything it had (its last
  -- write is this flag); a job not ready runs after AFTER_CALL_SETTLE_MS.
  ready       BOOLEAN NOT NULL DEFAULT FALSE,
  next_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  lease_until TIMESTAMPTZ,
  lease_token TEXT,
  last_error  TEXT,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX after_call_jobs_due ON after_call_jobs(next_at)
  WHERE status IN ('pending', 'running');
CREATE INDEX after_call_jobs_business ON after_call_jobs(business_id);

-- What the summary extracted: {"deal","city","rooms","budget",
-- "callback_time","next_step","sentiment","source"}.
ALTER TABLE calls ADD COLUMN summary_fields JSONB;
