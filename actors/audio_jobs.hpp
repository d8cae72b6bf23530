#pragma once

// The audio background jobs of one instance, one actor under the job
// manager (key "audio_jobs"):
//
//  - retention: every `purge_interval` (on the actor clock), call audio
//    older than AUDIO_RETENTION_DAYS is deleted in batches (0 = kept
//    forever); metric al_audio_objects_purged_total.
//  - import: once at start, audio files that earlier versions wrote to
//    RECORDINGS_DIR (call_segments.path, calls.recording_path) are moved
//    into call_audio: read (only inside the directory), stored, marked
//    'done' and then deleted from the disk; a missing, unreadable or
//    too-large file is logged and marked 'missing', never retried. Safe
//    with several instances (rows are claimed FOR UPDATE SKIP LOCKED).
//
// The database work runs on the store's pool, never on the actor's thread.

#include "actors/job_protocols.hpp"
#include "actors/store.hpp"
#include "actors/supervisor.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace al {

struct metrics;

inline constexpr const char* audio_jobs_key = "audio_jobs";

struct audio_job_options {
  std::string recordings_dir; // the import source
  int retention_days = 365;   // 0: keep forever
  std::chrono::milliseconds first_purge{std::chrono::minutes(1)};
  std::chrono::milliseconds purge_interval{std::chrono::hours(1)};
  /// After a database failure, the import tries again this much later.
  std::chrono::milliseconds retry_delay{std::chrono::seconds(30)};
  int purge_batch = 500; // objects per DELETE transaction
  int import_batch = 50; // rows per import transaction
  bool import_at_start = true;
};

/// The job manager's child spec (key audio_jobs_key) for this instance.
child_spec audio_jobs_spec(store db, metrics* m, audio_job_options opts);

/// The running audio jobs actor under `job_manager` (invalid when none);
/// its interface, audio_jobs_actor, is in actors/job_protocols.hpp.
/// Blocking: start-up, tests, operators.
audio_jobs_actor find_audio_jobs(caf::actor_system& sys,
                                 const supervisor_actor& job_manager);

/// Runs a retention pass now and waits for it: the number of objects
/// deleted, or -1 on timeout or a database failure. Blocking (tests,
/// operators).
std::int64_t purge_audio_now(caf::actor_system& sys,
                             const audio_jobs_actor& jobs,
                             std::chrono::milliseconds timeout);

/// Runs the import now (or joins the one running) and waits for it: the
/// number of objects moved into the database, or -1 on timeout or a
/// database failure. Blocking (tests, operators).
std::int64_t import_audio_now(caf::actor_system& sys,
                              const audio_jobs_actor& jobs,
                              std::chrono::milliseconds timeout);

} // namespace al
