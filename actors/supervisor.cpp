#include "actors/supervisor.hpp"

#include "actors/manager.hpp"

#include "actors/metrics.hpp"
#include "actors/type_ids.hpp"

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <ctime>

namespace al {

void supervision_stats::set_last_failure(std::string what) {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  std::lock_guard<std::mutex> guard{mtx_};
  last_failure_ = std::move(what);
  last_failure_at_ = buf;
}

std::string supervision_stats::last_failure() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return last_failure_;
}

std::string supervision_stats::last_failure_at() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return last_failure_at_;
}

namespace {

bool abnormal(const caf::error& reason) {
  return reason && reason != caf::exit_reason::normal
         && reason != caf::exit_reason::user_shutdown
         && reason != caf::exit_reason::kill;
}

void count_live(supervision_stats* stats, metrics* m, int delta) {
  stats->live += delta;
  if (m) {
    auto& g = m->live_actors.Add({{"domain", stats->domain}});
    if (delta > 0)
      g.Increment();
    else
      g.Decrement();
  }
}

} // namespace

void supervisor_core::init(caf::scheduled_actor* self, supervision_stats* stats,
                           metrics* m, supervisor_options opts) {
  self_ = self;
  stats_ = stats;
  m_ = m;
  opts_ = opts;
  self->set_down_handler([this](caf::down_msg& dm) { on_down(dm); });
  self->set_exit_handler([this](caf::exit_msg& msg) { on_exit(msg); });
}

// Spawns the child from its factory; false when the factory throws or
// returns no actor (an exception must not take the manager down).
bool supervisor_core::start_child(child& c) {
  try {
    c.handle = c.spec.spawn(self_->home_system());
  } catch (const std::exception& e) {
    c.handle = caf::actor{};
    try {
      spdlog::error("{} child {}: factory threw: {}", stats_->domain,
                    c.spec.key, e.what());
    } catch (...) {
    }
  }
  if (!c.handle)
    return false;
  self_->monitor(c.handle);
  by_addr_[c.handle.address()] = c.spec.key;
  return true;
}

// Abandons a child for good: counted, removed, on_give_up runs once.
void supervisor_core::give_up(const std::string& key) {
  auto ci = children_.find(key);
  if (ci == children_.end())
    return;
  ++stats_->given_up;
  count_live(stats_, m_, -1);
  auto fn = std::move(ci->second.spec.on_give_up);
  children_.erase(ci);
  if (fn)
    fn();
}

void supervisor_core::on_down(caf::down_msg& dm) {
  auto i = by_addr_.find(dm.source);
  if (i == by_addr_.end())
    return;
  auto key = i->second;
  by_addr_.erase(i);
  auto ci = children_.find(key);
  if (ci == children_.end())
    return;
  auto& c = ci->second;
  if (!abnormal(dm.reason)) {
    children_.erase(ci);
    count_live(stats_, m_, -1);
    return;
  }
  auto reason = self_->home_system().render(dm.reason);
  stats_->set_last_failure(key + ": " + reason);
  auto now = self_->clock().now();
  while (!c.restarts.empty() && now - c.restarts.front() > opts_.window)
    c.restarts.pop_front();
  if (static_cast<int>(c.restarts.size()) >= opts_.max_restarts) {
    try {
      spdlog::error("{} child {} crash-looping ({}), giving up", stats_->domain,
                    key, reason);
    } catch (...) {
    }
    return give_up(key);
  }
  try {
    spdlog::warn("{} child {} died ({}), restarting", stats_->domain, key,
                 reason);
  } catch (...) {
  }
  if (!start_child(c))
    return give_up(key);
  c.restarts.push_back(now);
  ++stats_->restarts;
  if (m_)
    m_->restart(stats_->domain);
  if (c.spec.on_restart)
    c.spec.on_restart(c.handle);
}

// Shutdown: the children go with their manager.
void supervisor_core::on_exit(caf::exit_msg& msg) {
  for (auto& [key, c] : children_)
    caf::anon_send_exit(c.handle, caf::exit_reason::user_shutdown);
  children_.clear();
  by_addr_.clear();
  self_->quit(msg.reason);
}

caf::actor supervisor_core::find_or_start(child_spec spec, caf::message then) {
  caf::actor handle;
  if (auto i = children_.find(spec.key); i != children_.end()) {
    handle = i->second.handle;
  } else {
    auto key = spec.key;
    auto& c = children_[key];
    c.spec = std::move(spec);
    if (!start_child(c)) {
      children_.erase(key);
      return caf::actor{};
    }
    ++stats_->spawned;
    count_live(stats_, m_, +1);
    handle = c.handle;
  }
  // The child is dynamically typed here (each domain has its own
  // interface): enqueued directly, with the manager as its sender.
  if (handle && !then.empty())
    handle->enqueue(caf::make_mailbox_element(self_->ctrl(),
                                              caf::make_message_id(), {},
                                              std::move(then)),
                    self_->context());
  return handle;
}

caf::actor supervisor_core::lookup(const std::string& key) const {
  if (auto i = children_.find(key); i != children_.end())
    return i->second.handle;
  return caf::actor{};
}

void supervisor_core::stop(const std::string& key) {
  if (auto i = children_.find(key); i != children_.end())
    caf::anon_send_exit(i->second.handle, caf::exit_reason::user_shutdown);
}

supervisor_actor spawn_supervisor(caf::actor_system& sys,
                                  supervision_stats& stats, metrics* m,
                                  supervisor_options opts) {
  return spawn_manager<child_spec>(
    sys, stats, m, [](child_spec& spec) { return std::move(spec); }, opts);
}

caf::actor supervise_blocking(caf::actor_system& sys,
                              const supervisor_actor& manager,
                              child_spec spec) {
  caf::scoped_actor self{sys};
  caf::actor out;
  self->request(manager, std::chrono::seconds(5), spawn_atom_v, std::move(spec))
    .receive([&](caf::actor& a) { out = std::move(a); }, [&](caf::error&) {});
  return out;
}

} // namespace al
