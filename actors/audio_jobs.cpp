// The audio jobs actor (see audio_jobs.hpp). Two independent loops, each
// with at most one pass in flight:
//
//   purge:  (purge_atom) every purge_interval, or (purge_atom, now_atom)
//             -> a batch on the pool -> (purge_atom, n, ok) -> next batch
//                while a batch came back full -> answer the waiters
//   import: (import_atom) at start and again after a database failure, or
//           (import_atom, now_atom)
//             -> a batch on the pool -> (import_atom, claimed, imported,
//                ok) -> next batch while the batch claimed rows -> answer
//                the waiters
//
// The state struct comes first, then the passes, then the behaviour.

#include "actors/audio_jobs.hpp"

#include "actors/audio_store.hpp"
#include "actors/log.hpp"
#include "actors/metrics.hpp"
#include "actors/sql.hpp"
#include "actors/type_ids.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <pqxx/pqxx>

#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

namespace al {

namespace {

namespace fs = std::filesystem;

/// Largest file the import reads (a two-minute recording is ~2 MB).
constexpr std::uintmax_t max_import_bytes = 64 * 1024 * 1024;

/// Bytes one import transaction reads at most (then it commits, and the
/// next batch goes on).
constexpr std::uintmax_t import_batch_bytes = 32 * 1024 * 1024;

// -- SQL
// -----------------------------------------------------------------------

constexpr sql_statement purge_old_audio{
  "DELETE FROM call_audio WHERE id IN (SELECT id FROM call_audio"
  " WHERE created_at < now() - make_interval(days => $1::int)"
  " ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id"};

constexpr sql_statement claim_segments{
  "SELECT id, business_id, call_sid, seq, path, duration_ms"
  " FROM call_segments WHERE audio_import IS NULL"
  " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"};

constexpr sql_statement mark_segment{
  "UPDATE call_segments SET audio_import = $2 WHERE id = $1"};

constexpr sql_statement claim_recordings{
  "SELECT id, business_id, call_sid, recording_path FROM calls"
  " WHERE recording_path IS NOT NULL AND recording_import IS NULL"
  " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"};

// updated_at stays: the import is no change the dashboard should see.
constexpr sql_statement mark_recording{
  "UPDATE calls SET recording_import = $2 WHERE id = $1"};

// -- files
// ---------------------------------------------------------------------

/// `stored` (relative to `dir`, or absolute) resolved inside `dir`, or
/// nullopt when it would escape it ("..", symlinks, another root).
std::optional<fs::path> inside(const std::string& dir,
                               const std::string& stored) {
  std::error_code ec;
  auto base = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  if (ec || stored.empty())
    return std::nullopt;
  fs::path rel{stored};
  auto full = fs::weakly_canonical(rel.is_absolute() ? rel : base / rel, ec);
  if (ec)
    return std::nullopt;
  auto b = base.begin();
  auto f = full.begin();
  for (; b != base.end(); ++b, ++f)
    if (f == full.end() || *f != *b)
      return std::nullopt;
  if (f == full.end())
    return std::nullopt; // the directory itself
  return full;
}

std::string type_of(const fs::path& p) {
  auto ext = p.extension().string();
  for (auto& c : ext)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".wav")
    return "audio/wav";
  if (ext == ".mp3")
    return "audio/mpeg";
  if (ext == ".ogg" || ext == ".opus")
    return "audio/ogg";
  return "application/octet-stream";
}

/// The file's bytes, or nullopt (with the reason) when it is outside
/// `dir`, missing, not a regular file, unreadable or too large.
std::optional<std::string> read_inside(const std::string& dir,
                                       const std::string& stored,
                                       fs::path& path, std::string& why) {
  auto p = inside(dir, stored);
  if (!p) {
    why = "outside RECORDINGS_DIR";
    return std::nullopt;
  }
  path = *p;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    why = "no such file";
    return std::nullopt;
  }
  auto size = fs::file_size(path, ec);
  if (ec || size > max_import_bytes) {
    why = ec ? "unreadable" : "too large";
    return std::nullopt;
  }
  std::ifstream in{path, std::ios::binary};
  std::string data(static_cast<std::size_t>(size), '\0');
  if (!in.read(data.data(), static_cast<std::streamsize>(size))) {
    why = "unreadable";
    return std::nullopt;
  }
  return data;
}

/// Removes an imported file, and its call directory once empty.
void remove_imported(const std::string& dir, const fs::path& file) {
  std::error_code ec;
  fs::remove(file, ec);
  auto parent = file.parent_path();
  if (inside(dir, parent.string()))
    fs::remove(parent, ec); // fails (harmlessly) unless empty
}

// -- the actor
// -----------------------------------------------------------------

struct audio_jobs_state {
  store db;
  metrics* m = nullptr;
  audio_job_options opts;
  bool purging = false;
  std::int64_t purged = 0; // in the running pass
  std::vector<caf::typed_response_promise<std::int64_t>> purge_waiters;
  bool importing = false;
  std::int64_t imported = 0; // in the running pass
  std::vector<caf::typed_response_promise<std::int64_t>> import_waiters;

  static inline const char* name = "audio_jobs";
};

using jobs_self = audio_jobs_actor::stateful_pointer<audio_jobs_state>;

void answer(std::vector<caf::typed_response_promise<std::int64_t>>& waiters,
            std::int64_t n) {
  for (auto& rp : waiters)
    rp.deliver(n);
  waiters.clear();
}

/// One retention batch on the pool; (purge_atom, deleted, ok) comes back.
void purge_batch(jobs_self self) {
  auto me = caf::actor_cast<audio_jobs_actor>(self);
  auto deleted = std::make_shared<std::int64_t>(0);
  auto& st = self->state;
  st.db.run(
    [deleted, days = st.opts.retention_days,
     batch = st.opts.purge_batch](db_tx& tx) {
      *deleted = static_cast<std::int64_t>(
        exec(tx, purge_old_audio, days, batch).size());
    },
    [me, deleted](const db_error& err) {
      if (!err.empty())
        log_safe(spdlog::level::warn, "audio retention: {}", err);
      caf::anon_send(me, purge_atom_v, *deleted, err.empty());
    });
}

void start_purge(jobs_self self) {
  auto& st = self->state;
  if (st.purging)
    return;
  if (st.opts.retention_days <= 0) {
    answer(st.purge_waiters, 0);
    return;
  }
  st.purging = true;
  st.purged = 0;
  purge_batch(self);
}

/// One import batch on the pool: claims call_segments and calls rows whose
/// files were not looked at, moves what it can read, marks every claimed
/// row; after the commit, deletes the files it moved. (import_atom,
/// claimed, imported, ok) comes back.
void import_batch(jobs_self self) {
  struct outcome {
    std::int64_t claimed = 0;
    std::int64_t imported = 0;
    std::vector<fs::path> moved;
  };
  auto me = caf::actor_cast<audio_jobs_actor>(self);
  auto out = std::make_shared<outcome>();
  auto& st = self->state;
  auto dir = st.opts.recordings_dir;
  st.db.run(
    [out, dir, batch = st.opts.import_batch](db_tx& tx) {
      *out = outcome{};
      std::uintmax_t read = 0;
      // Reads one claimed row's file; stores it; says how to mark the row.
      auto move = [&](std::int64_t business, const std::string& sid,
                      std::string_view kind, int seq, const std::string& stored,
                      int duration_ms) -> const char* {
        fs::path path;
        std::string why;
        auto bytes = read_inside(dir, stored, path, why);
        if (!bytes) {
          log_safe(spdlog::level::warn,
                   "audio import: {} {} of {} ('{}'): {}; marked missing", kind,
                   seq, sid, stored, why);
          return "missing";
        }
        read += bytes->size();
        if (insert_audio(tx, business, sid, kind, seq, type_of(path), *bytes,
                         duration_ms))
          ++out->imported;
        out->moved.push_back(path);
        return "done";
      };
      for (auto r : exec(tx, claim_segments, batch)) {
        if (read >= import_batch_bytes)
          break; // the rest stay for the next batch
        ++out->claimed;
        auto mark = move(r[1].as<std::int64_t>(), r[2].c_str(),
                         audio_kind_segment(), r[3].as<int>(), r[4].c_str(),
                         r[5].as<int>());
        exec(tx, mark_segment, r[0].as<std::int64_t>(), std::string{mark});
      }
      for (auto r : exec(tx, claim_recordings, batch)) {
        if (read >= import_batch_bytes)
          break;
        ++out->claimed;
        auto mark = move(r[1].as<std::int64_t>(), r[2].c_str(),
                         audio_kind_recording(), 0, r[3].c_str(), 0);
        exec(tx, mark_recording, r[0].as<std::int64_t>(), std::string{mark});
      }
    },
    [me, out, dir](const db_error& err) {
      if (!err.empty()) {
        log_safe(spdlog::level::warn, "audio import: {}", err);
        caf::anon_send(me, import_atom_v, std::int64_t{0}, std::int64_t{0},
                       false);
        return;
      }
      // Committed: the database holds them now.
      for (auto& p : out->moved)
        remove_imported(dir, p);
      caf::anon_send(me, import_atom_v, out->claimed, out->imported, true);
    });
}

void start_import(jobs_self self) {
  auto& st = self->state;
  if (st.importing)
    return;
  st.importing = true;
  st.imported = 0;
  import_batch(self);
}

audio_jobs_actor::behavior_type audio_jobs(jobs_self self, store db, metrics* m,
                                           audio_job_options opts) {
  auto& st = self->state;
  st.db = std::move(db);
  st.m = m;
  st.opts = std::move(opts);
  if (st.opts.retention_days > 0)
    self->delayed_send(self, st.opts.first_purge, purge_atom_v);
  if (st.opts.import_at_start)
    self->send(self, import_atom_v);
  return {
    [=](purge_atom) {
      self->delayed_send(self, self->state.opts.purge_interval, purge_atom_v);
      start_purge(self);
    },
    [=](purge_atom, now_atom) {
      auto rp = self->make_response_promise<std::int64_t>();
      self->state.purge_waiters.push_back(rp);
      start_purge(self);
      return rp;
    },
    [=](purge_atom, std::int64_t deleted, bool ok) {
      auto& st = self->state;
      st.purged += deleted;
      if (st.m && deleted > 0)
        st.m->audio_purged.Increment(static_cast<double>(deleted));
      if (ok && deleted >= st.opts.purge_batch)
        return purge_batch(self);
      st.purging = false;
      if (st.purged > 0)
        log_safe(spdlog::level::info, "audio retention: {} objects deleted",
                 st.purged);
      answer(st.purge_waiters, ok ? st.purged : -1);
    },
    [=](import_atom) { start_import(self); },
    [=](import_atom, now_atom) {
      auto rp = self->make_response_promise<std::int64_t>();
      self->state.import_waiters.push_back(rp);
      start_import(self);
      return rp;
    },
    [=](import_atom, std::int64_t claimed, std::int64_t imported, bool ok) {
      auto& st = self->state;
      st.imported += imported;
      if (ok && claimed > 0)
        return import_batch(self);
      st.importing = false;
      if (st.imported > 0)
        log_safe(spdlog::level::info,
                 "audio import: {} files moved into the database", st.imported);
      if (!ok)
        self->delayed_send(self, st.opts.retry_delay, import_atom_v);
      answer(st.import_waiters, ok ? st.imported : -1);
    },
  };
}

/// (what, now_atom) -> the number, or -1.
template <class What>
std::int64_t ask_blocking(caf::actor_system& sys, const audio_jobs_actor& jobs,
                          std::chrono::milliseconds timeout, What what) {
  if (!jobs)
    return -1;
  caf::scoped_actor self{sys};
  std::int64_t out = -1;
  self->request(jobs, timeout, what, now_atom_v)
    .receive([&](std::int64_t n) { out = n; }, [](caf::error&) {});
  return out;
}

} // namespace

child_spec audio_jobs_spec(store db, metrics* m, audio_job_options opts) {
  child_spec spec;
  spec.key = audio_jobs_key;
  spec.spawn = [db, m, opts](caf::actor_system& sys) {
    return caf::actor_cast<caf::actor>(sys.spawn(audio_jobs, db, m, opts));
  };
  return spec;
}

audio_jobs_actor find_audio_jobs(caf::actor_system& sys,
                                 const supervisor_actor& job_manager) {
  if (!job_manager)
    return {};
  caf::scoped_actor self{sys};
  caf::actor out;
  self
    ->request(job_manager, std::chrono::seconds(5), lookup_atom_v,
              std::string{audio_jobs_key})
    .receive([&](caf::actor& a) { out = std::move(a); }, [](caf::error&) {});
  return caf::actor_cast<audio_jobs_actor>(out);
}

std::int64_t purge_audio_now(caf::actor_system& sys,
                             const audio_jobs_actor& jobs,
                             std::chrono::milliseconds timeout) {
  return ask_blocking(sys, jobs, timeout, purge_atom_v);
}

std::int64_t import_audio_now(caf::actor_system& sys,
                              const audio_jobs_actor& jobs,
                              std::chrono::milliseconds timeout) {
  return ask_blocking(sys, jobs, timeout, import_atom_v);
}

} // namespace al
