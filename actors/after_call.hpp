#pragma once

// After every call (SPEC §7): one durable job per ended call
// (after_call_jobs, schemas/0019) that
//   1. keeps the engine's transcript, or builds one for the local engine:
//      the prompts it said (utterance events) and the caller's turns sent
//      to {STT_API_BASE}/audio/transcriptions, in call order, as
//      call_events kind "transcript" with seq 300000 + position;
//   2. writes a Hebrew summary with extracted fields (a chat completion in
//      a strict JSON schema; without a key, or when the caller said
//      nothing, a scripted one from the dialogue's own answers) on the
//      call, a "סיכום שיחה" note on the lead and the fields into the
//      lead's empty fields;
//   3. queues the call.completed webhook, in the transaction that finishes
//      the job (done or failed).
// Provider failures (5xx, 429, timeouts, connection errors, a summary that
// breaks the schema) are retried with exponential backoff and jitter up to
// AFTER_CALL_MAX_ATTEMPTS; a 4xx that cannot succeed fails the job at once.
//
// One job actor per instance (a child of svc.job_manager) claims due jobs
// with FOR UPDATE SKIP LOCKED under a lease: two instances never run one
// job at once, and a job whose instance died is taken over once its lease
// ran out. It polls every AFTER_CALL_POLL_MS and is rung when this
// instance's call actor hung up.

#include "actors/store.hpp"
#include "actors/supervisor.hpp"
#include "core/outbound.hpp"

#include <caf/actor_addr.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

namespace al {

struct metrics;

/// Wakes this instance's job actor (thread-safe; a no-op before it runs).
class after_call_bell {
public:
  void attach(caf::actor_addr a);
  void ring() const;

private:
  mutable std::mutex mtx_;
  caf::actor_addr addr_;
};

struct after_call_options {
  std::string openai_api_base; // chat completions ("" = no summaries by AI)
  std::string openai_api_key;  // "" = scripted summaries
  std::string text_model = "gpt-4o-mini";
  std::string stt_api_base; // "" = no transcription of caller turns
  std::string stt_api_key;  // "" = no Authorization header
  std::string stt_model = "whisper-1";
  std::string recordings_dir; // segments not in PostgreSQL (older calls)
  std::chrono::milliseconds poll_interval{5000};
  std::chrono::milliseconds lease{300000};
  std::chrono::milliseconds retry_base{5000};
  std::chrono::milliseconds settle{30000}; // a job not marked ready
  std::chrono::milliseconds http_timeout{60000};
  int max_attempts = 6;
  int parallel = 2; // jobs at once per instance
};

struct after_call_env {
  store db;
  metrics* m = nullptr;
  http_send_fn http;
  after_call_options opts;
  std::shared_ptr<after_call_bell> bell;
};

/// Queues the call's job in `tx` (nothing when it exists): every path that
/// ends a call calls it in the transaction that marks the end. A call with
/// no media stream is ready at once; a streamed one when its actor's last
/// write (after_call_ready) landed, or AFTER_CALL_SETTLE_MS later.
void queue_after_call(db_tx& tx, const std::string& call_sid);

/// From the call actor at hang-up, through the ordered write queue (after
/// its events and segments): the job is ready now; then rings `bell`.
void after_call_ready(const store& db, const std::string& call_sid,
                      std::shared_ptr<after_call_bell> bell);

/// The job actor, as a child of svc.job_manager (key "after_call").
child_spec make_after_call_spec(std::shared_ptr<const after_call_env> env);

} // namespace al
