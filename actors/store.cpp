#include "actors/store.hpp"

#include "actors/job_protocols.hpp"
#include "actors/log.hpp"
#include "actors/metrics.hpp"
#include "actors/sql.hpp"
#include "core/crypto.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace al {

namespace {

/// One connection, opened lazily and reopened after a failure.
class connection_holder {
public:
  explicit connection_holder(std::string url)
    : url_(std::move(url)) {}

  /// The connection, (re)opening it when needed; nullptr when down.
  pqxx::connection* get() {
    if (conn_ && conn_->is_open())
      return conn_.get();
    conn_.reset();
    auto now = std::chrono::steady_clock::now();
    if (now < next_attempt_)
      return nullptr;
    try {
      conn_ = std::make_unique<pqxx::connection>(url_);
      backoff_ = std::chrono::milliseconds{0};
      return conn_.get();
    } catch (const std::exception& e) {
      backoff_
        = std::min(std::chrono::milliseconds{2000},
                   std::max(std::chrono::milliseconds{100}, backoff_ * 2));
      next_attempt_ = now + backoff_;
      log_noexcept(spdlog::level::warn,
                   "database connect failed: " + first_line(e.what()));
      return nullptr;
    }
  }

  void reset() {
    conn_.reset();
  }

private:
  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point next_attempt_{};
};

enum class outcome { ok, unavailable, failed };

/// Runs `job` in a transaction; tells "database away" from "SQL error".
/// A pooled connection that died while idle (the server restarted) fails
/// at BEGIN, before the job ran: that attempt is retried once on a fresh
/// connection, so a restart costs no request. A deadlock or serialization
/// failure (PostgreSQL rolled everything back) runs the job again, up to 3
/// more times.
outcome run_in_tx(connection_holder& holder,
                  const std::function<void(db_tx&)>& job, db_error& err,
                  store_health& health) {
  for (int attempt = 0;; ++attempt) {
    auto* conn = holder.get();
    if (!conn) {
      health.reachable = false;
      err = "database unavailable";
      return outcome::unavailable;
    }
    bool begun = false;
    try {
      pqxx::work tx{*conn};
      begun = true;
      job(tx);
      tx.commit();
      health.reachable = true;
      return outcome::ok;
    } catch (const pqxx::in_doubt_error& e) {
      holder.reset();
      err = "database unavailable";
      return outcome::unavailable;
    } catch (const pqxx::transaction_rollback& e) {
      // Deadlock or serialization failure: PostgreSQL rolled the whole
      // transaction back, so running the job again is safe. A few times.
      if (attempt < 3)
        continue;
      err = first_line(e.what());
      return outcome::failed;
    } catch (const std::exception& e) {
      bool lost = dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr
                  || !conn->is_open();
      if (!lost) {
        err = first_line(e.what());
        return outcome::failed;
      }
      holder.reset();
      if (!begun && attempt == 0)
        continue; // stale connection: the job never ran
      health.reachable = false;
      err = "database unavailable";
      return outcome::unavailable;
    }
  }
}

struct worker_state {
  std::unique_ptr<connection_holder> conn;
};

db_worker_actor::behavior_type
db_worker(db_worker_actor::stateful_pointer<worker_state> self, std::string url,
          std::shared_ptr<store_health> health, metrics* m) {
  self->state.conn = std::make_unique<connection_holder>(std::move(url));
  return {
    [=](db_job& j) {
      db_error err;
      ++health->in_use;
      if (m)
        m->db_pool_in_use.Increment();
      run_in_tx(*self->state.conn, j.job, err, *health);
      --health->in_use;
      if (m)
        m->db_pool_in_use.Decrement();
      try {
        if (j.done)
          j.done(err);
      } catch (const std::exception& e) {
        log_noexcept(spdlog::level::err,
                     std::string{"db completion threw: "} + e.what());
      }
      // The job came from the pool: ask it for the next one.
      self->send(caf::actor_cast<db_pool_actor>(self->current_sender()),
                 ready_atom_v);
    },
  };
}

struct pool_state {
  std::vector<db_worker_actor> workers;
  std::vector<db_worker_actor> idle;
  std::deque<db_job> waiting;
};

/// The connection pool: `size` detached workers, each with its own
/// connection. A job goes to a worker that is free, or waits here until one
/// asks for the next (ready_atom): a slow query holds its own connection,
/// never the jobs behind it. A worker that dies is replaced; when the pool
/// exits, its workers go with it.
db_pool_actor::behavior_type
db_pool(db_pool_actor::stateful_pointer<pool_state> self, std::string url,
        std::shared_ptr<store_health> health, metrics* m, int size) {
  auto add_worker = [=] {
    auto w = self->spawn<caf::detached + caf::monitored>(db_worker, url, health,
                                                         m);
    self->state.workers.push_back(w);
    self->state.idle.push_back(std::move(w));
  };
  for (int i = 0; i < size; ++i)
    add_worker();
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    auto gone = [&](const db_worker_actor& a) {
      return a.address() == dm.source;
    };
    st.workers.erase(std::remove_if(st.workers.begin(), st.workers.end(), gone),
                     st.workers.end());
    st.idle.erase(std::remove_if(st.idle.begin(), st.idle.end(), gone),
                  st.idle.end());
    log_noexcept(spdlog::level::err, "database worker died ("
                                       + self->system().render(dm.reason)
                                       + "), starting another");
    add_worker();
  });
  self->set_exit_handler([=](caf::exit_msg& em) {
    for (auto& w : self->state.workers)
      self->send_exit(w, em.reason);
    self->quit(em.reason);
  });
  return {
    [=](db_job& j) {
      auto& st = self->state;
      if (st.idle.empty()) {
        st.waiting.push_back(std::move(j));
        return;
      }
      auto w = std::move(st.idle.back());
      st.idle.pop_back();
      self->send(w, std::move(j));
    },
    [=](ready_atom) {
      auto& st = self->state;
      auto w = caf::actor_cast<db_worker_actor>(self->current_sender());
      if (st.waiting.empty()) {
        st.idle.push_back(std::move(w));
        return;
      }
      self->send(w, std::move(st.waiting.front()));
      st.waiting.pop_front();
    },
  };
}

struct writer_state {
  std::unique_ptr<connection_holder> conn;
  std::deque<db_write_job> queue;
  bool retry_scheduled = false;
  std::chrono::milliseconds backoff{100};
};

db_writer_actor::behavior_type
db_writer(db_writer_actor::stateful_pointer<writer_state> self, std::string url,
          std::shared_ptr<store_health> health, metrics* m,
          std::chrono::milliseconds max_backoff) {
  self->state.conn = std::make_unique<connection_holder>(std::move(url));
  // Applies queued writes in order until the queue is empty or the
  // database is away (then retries later with backoff).
  auto drain = [=] {
    auto& st = self->state;
    while (!st.queue.empty()) {
      db_error err;
      auto r = run_in_tx(*st.conn, st.queue.front().job, err, *health);
      if (r == outcome::unavailable) {
        if (!st.retry_scheduled) {
          st.retry_scheduled = true;
          if (m)
            m->db_write_retries.Increment();
          self->delayed_send(self, st.backoff, retry_atom_v);
          st.backoff = std::min(max_backoff, st.backoff * 2);
        }
        return;
      }
      if (r == outcome::failed)
        log_noexcept(spdlog::level::err, "queued write '"
                                           + st.queue.front().what
                                           + "' failed: " + err);
      st.queue.pop_front();
      --health->queued_writes;
      if (m)
        m->db_write_queue_depth.Decrement();
      st.backoff = std::chrono::milliseconds{100};
    }
  };
  return {
    [=](db_write_job& j) {
      self->state.queue.push_back(std::move(j));
      if (!self->state.retry_scheduled)
        drain();
    },
    [=](retry_atom) {
      self->state.retry_scheduled = false;
      drain();
    },
    [=](flush_request& f) {
      // Shutdown: try until the deadline, then give up and report.
      while (!self->state.queue.empty()
             && std::chrono::steady_clock::now() < f.deadline) {
        self->state.retry_scheduled = false;
        drain();
        if (!self->state.queue.empty())
          std::this_thread::sleep_for(std::chrono::milliseconds{100});
      }
      if (!self->state.queue.empty())
        log_noexcept(spdlog::level::err,
                     std::to_string(self->state.queue.size())
                       + " queued writes not flushed at shutdown");
      return std::size_t{self->state.queue.size()};
    },
  };
}

} // namespace

std::string with_timeouts(const std::string& url) {
  bool is_uri = url.rfind("postgres://", 0) == 0
                || url.rfind("postgresql://", 0) == 0;
  if (is_uri) {
    auto sep = url.find('?') == std::string::npos ? "?" : "&";
    std::string out = url;
    if (url.find("connect_timeout") == std::string::npos) {
      out += sep;
      out += "connect_timeout=3";
      sep = "&";
    }
    return out;
  }
  if (url.find("connect_timeout") == std::string::npos)
    return url + " connect_timeout=3";
  return url;
}

store store::start(caf::actor_system& sys, store_options opts, metrics* m) {
  store s;
  s.health_ = std::make_shared<store_health>();
  s.metrics_ = m;
  s.write_limit_ = opts.write_queue_limit;
  auto url = with_timeouts(opts.url);
  auto health = s.health_;
  s.pool_ = sys.spawn(db_pool, url, health, m, std::max(1, opts.pool_size));
  s.writer_ = sys.spawn<caf::detached>(db_writer, url, health, m,
                                       opts.max_backoff);
  return s;
}

/// store::direct's connection.
struct direct_link {
  explicit direct_link(std::string url)
    : conn(std::move(url)) {}
  connection_holder conn;
};

store store::direct(const std::string& url) {
  store s;
  s.health_ = std::make_shared<store_health>();
  s.direct_ = std::make_shared<direct_link>(with_timeouts(url));
  return s;
}

store store::offline(std::shared_ptr<std::vector<std::string>> writes) {
  store s;
  s.health_ = std::make_shared<store_health>();
  s.offline_writes_ = std::move(writes);
  return s;
}

void store::run(std::function<void(db_tx&)> job,
                std::function<void(const db_error&)> done) const {
  if (direct_) {
    db_error err;
    run_in_tx(direct_->conn, job, err, *health_);
    if (done)
      done(err);
    return;
  }
  if (!pool_) { // not started: no database to run it on
    if (done)
      done("database unavailable");
    return;
  }
  caf::anon_send(pool_, db_job{std::move(job), std::move(done)});
}

bool store::write(std::string what, std::function<void(db_tx&)> job) const {
  if (direct_) {
    db_error err;
    return run_in_tx(direct_->conn, job, err, *health_) == outcome::ok;
  }
  if (!writer_) { // not started: nothing is queued
    if (offline_writes_)
      offline_writes_->push_back(std::move(what));
    return false;
  }
  auto depth = ++health_->queued_writes;
  if (depth > write_limit_) {
    --health_->queued_writes;
    if (metrics_)
      metrics_->db_writes_dropped.Increment();
    log_noexcept(spdlog::level::err,
                 "write queue full, dropped '" + what + "'");
    return false;
  }
  if (metrics_)
    metrics_->db_write_queue_depth.Increment();
  caf::anon_send(writer_, db_write_job{std::move(what), std::move(job)});
  return true;
}

void store::shutdown(std::chrono::milliseconds deadline) const {
  if (!writer_)
    return;
  caf::scoped_actor self{writer_->home_system()};
  self
    ->request(writer_, deadline + std::chrono::seconds(1),
              flush_request{std::chrono::steady_clock::now() + deadline})
    .receive([](std::size_t) {}, [](caf::error&) {});
  caf::anon_send_exit(writer_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(pool_, caf::exit_reason::user_shutdown);
}

std::string apply_migrations(const std::string& url,
                             const std::string& schemas_dir) {
  namespace fs = std::filesystem;
  try {
    std::vector<fs::path> files;
    for (auto& e : fs::directory_iterator(schemas_dir))
      if (e.path().extension() == ".sql")
        files.push_back(e.path());
    std::sort(files.begin(), files.end());
    if (files.empty())
      return "no migrations found in " + schemas_dir;
    pqxx::connection conn{with_timeouts(url)};
    {
      pqxx::nontransaction nt{conn};
      nt.exec("SET client_min_messages = warning");
      nt.exec("SELECT pg_advisory_lock(7411)");
      nt.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
              " version TEXT PRIMARY KEY,"
              " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
      // The SHA-256 of each file as applied: an applied migration that was
      // edited afterwards stops start-up instead of silently diverging.
      nt.exec("ALTER TABLE schema_migrations"
              " ADD COLUMN IF NOT EXISTS checksum TEXT");
    }
    for (auto& f : files) {
      auto version = f.filename().string();
      std::ifstream in{f, std::ios::binary};
      std::stringstream sql;
      sql << in.rdbuf();
      auto text = sql.str();
      auto sum = crypto::to_hex(crypto::sha256(text));
      pqxx::work tx{conn};
      auto seen = tx.exec_params(
        "SELECT checksum FROM schema_migrations WHERE version = $1", version);
      if (!seen.empty()) {
        if (seen[0][0].is_null()) { // applied before checksums were kept
          tx.exec_params("UPDATE schema_migrations SET checksum = $2"
                         " WHERE version = $1",
                         version, sum);
          tx.commit();
        } else if (seen[0][0].c_str() != sum) {
          return "migration " + version
                 + " was changed after it was applied (recorded sha256 "
                 + std::string{seen[0][0].c_str()}.substr(0, 12) + "..., file "
                 + sum.substr(0, 12)
                 + "...): restore the file and put the change in a new"
                   " migration";
        }
        continue;
      }
      tx.exec(text);
      tx.exec_params(
        "INSERT INTO schema_migrations(version, checksum) VALUES ($1, $2)",
        version, sum);
      tx.commit();
      log_noexcept(spdlog::level::info, "applied migration " + version);
    }
    pqxx::nontransaction nt{conn};
    nt.exec("SELECT pg_advisory_unlock(7411)");
    return {};
  } catch (const std::exception& e) {
    return "migrations failed: " + first_line(e.what());
  }
}

std::string run_blocking(const std::string& url,
                         const std::function<void(db_tx&)>& job) {
  try {
    pqxx::connection conn{with_timeouts(url)};
    pqxx::work tx{conn};
    job(tx);
    tx.commit();
    return {};
  } catch (const std::exception& e) {
    return first_line(e.what());
  }
}

void ping_database(db_tx& tx) {
  static constexpr sql_statement select_one{"SELECT 1"};
  exec(tx, select_one);
}

} // namespace al
