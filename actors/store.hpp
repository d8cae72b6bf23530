#pragma once

// The only door to PostgreSQL. A pool of DB_POOL_SIZE detached CAF actors,
// each owning one libpqxx connection (reconnecting with backoff), runs
// transactional jobs; one more detached actor owns the write queue: writes
// that must land even if the database is briefly away (call events, status
// callbacks). The queue is bounded, in order, and retried until it lands.
//
// Jobs are functions run on a DB thread inside one transaction; they must
// not touch caller state except through what they capture. The completion
// runs on the DB thread too: post or send from it, never block in it.
//
// store::direct(url), for actor tests on CAF's test coordinator, runs each
// job and its completion at once on the caller's thread, on one connection
// of its own: deterministic, no detached actor involved.
//
// A store that was not started (default-constructed, or store::offline()
// for actor tests) has no database: run() calls `done` at once, on the
// caller's thread, with "database unavailable"; write() queues nothing and
// returns false.

#include "actors/type_ids.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pqxx {
class dbtransaction;
} // namespace pqxx

namespace al {

struct metrics;
struct direct_link;

// The store's actors and their messages (defined, with the reason their
// closures may cross actors, in actors/job_protocols.hpp).
struct db_job;
struct db_write_job;
struct flush_request;

/// A pool worker: runs one job, then tells its pool (ready_atom).
using db_worker_actor = caf::typed_actor<caf::reacts_to<db_job>>;

/// The pool: hands each job to a free worker, or keeps it until one is.
using db_pool_actor
  = caf::typed_actor<caf::reacts_to<db_job>, caf::reacts_to<ready_atom>>;

/// The write queue: (retry_atom) is its own backoff timer; a flush answers
/// how many writes are left.
using db_writer_actor
  = caf::typed_actor<caf::reacts_to<db_write_job>, caf::reacts_to<retry_atom>,
                     caf::replies_to<flush_request>::with<std::size_t>>;

/// The transaction a job runs in (a pqxx::work).
using db_tx = pqxx::dbtransaction;

/// Empty on success, else a short reason ("database unavailable", the SQL
/// error's first line, ...).
using db_error = std::string;

struct store_options {
  std::string url;
  int pool_size = 4;
  std::size_t write_queue_limit = 100000;
  std::chrono::milliseconds max_backoff{2000};
};

/// Shared health facts, readable from any thread.
struct store_health {
  std::atomic<bool> reachable{false};
  std::atomic<int> in_use{0};
  std::atomic<std::size_t> queued_writes{0};
};

class store {
public:
  store() = default;

  /// Spawns the pool and the writer.
  static store start(caf::actor_system& sys, store_options opts, metrics* m);

  /// No database, for tests of actors that use one: every run() fails at
  /// once; every write() appends its `what` to `writes` (if given; not
  /// synchronised: one thread, e.g. CAF's test coordinator) and returns
  /// false. health() reads "unreachable, nothing queued".
  static store
  offline(std::shared_ptr<std::vector<std::string>> writes = nullptr);

  /// A real database without actors, for tests of actors on CAF's test
  /// coordinator: run() runs the job and then `done` on the caller's
  /// thread before it returns; write() applies the write at once (true when
  /// it committed). One connection, used by one thread at a time.
  static store direct(const std::string& url);

  /// Runs `job` in a transaction on a pooled connection, then `done` with
  /// the outcome (commit happens when `job` returns without throwing). Fails
  /// fast ("database unavailable") when the database cannot be reached, and
  /// at once, on the caller's thread, on a store that was not started.
  void run(std::function<void(db_tx&)> job,
           std::function<void(const db_error&)> done) const;

  /// Queues a write: applied in order, retried across outages. Returns false
  /// (and drops it) when the queue is full. Writes must be idempotent (use
  /// ON CONFLICT / guarded updates): a retry after an unknown commit outcome
  /// may run one twice. A store that was not started returns false.
  bool write(std::string what, std::function<void(db_tx&)> job) const;

  const store_health& health() const {
    return *health_;
  }

  /// Stops accepting; the writer flushes what it can within `deadline`.
  void shutdown(std::chrono::milliseconds deadline) const;

  /// Started: false for a default-constructed or offline() store.
  explicit operator bool() const noexcept {
    return static_cast<bool>(pool_) || static_cast<bool>(direct_);
  }

private:
  db_pool_actor pool_;
  db_writer_actor writer_;
  std::shared_ptr<store_health> health_;
  std::size_t write_limit_ = 0;
  metrics* metrics_ = nullptr;
  std::shared_ptr<std::vector<std::string>> offline_writes_; // offline()
  std::shared_ptr<direct_link> direct_;                      // direct()
};

/// Applies schemas/NNNN_*.sql in order, each in its own transaction,
/// recording them (and their SHA-256) in schema_migrations; refuses when an
/// applied file was edited since; serialised across instances with an
/// advisory lock. Returns an error message, or empty on success. Blocking:
/// call at start-up only.
std::string apply_migrations(const std::string& url,
                             const std::string& schemas_dir);

/// Runs `job` in one transaction on a connection of its own and commits;
/// the error's first line, or empty. Blocking: for the command line only.
std::string run_blocking(const std::string& url,
                         const std::function<void(db_tx&)>& job);

/// A trivial round trip (readiness checks).
void ping_database(db_tx& tx);

/// `url` with connect/statement timeouts appended.
std::string with_timeouts(const std::string& url);

} // namespace al
