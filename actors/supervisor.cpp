#include "actors/supervisor.hpp"

#include "actors/metrics.hpp"
#include "actors/type_ids.hpp"

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <ctime>
#include <deque>
#include <unordered_map>

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

struct child {
  child_spec spec;
  caf::actor handle;
  std::deque<caf::actor_clock::time_point> restarts;
};

struct supervisor_state {
  std::unordered_map<std::string, child> children;
  std::unordered_map<caf::actor_addr, std::string> by_addr;
};

bool abnormal(const caf::error& reason) {
  return reason && reason != caf::exit_reason::normal
         && reason != caf::exit_reason::user_shutdown
         && reason != caf::exit_reason::kill;
}

supervisor_actor::behavior_type
supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
           supervision_stats* stats, metrics* m, supervisor_options opts) {
  // Spawns the child from its factory; false when the factory throws or
  // returns no actor (an exception must not take the manager down).
  auto start_child = [=](child& c) -> bool {
    try {
      c.handle = c.spec.spawn(self->home_system());
    } catch (const std::exception& e) {
      c.handle = caf::actor{};
      try {
        spdlog::error("{} child {}: factory threw: {}", stats->domain,
                      c.spec.key, e.what());
      } catch (...) {
      }
    }
    if (!c.handle)
      return false;
    self->monitor(c.handle);
    self->state.by_addr[c.handle.address()] = c.spec.key;
    return true;
  };
  // Abandons a child for good: counted, removed, on_give_up runs once.
  auto give_up = [=](const std::string& key) {
    auto& st = self->state;
    auto ci = st.children.find(key);
    if (ci == st.children.end())
      return;
    ++stats->given_up;
    --stats->live;
    if (m)
      m->live_actors.Add({{"domain", stats->domain}}).Decrement();
    auto fn = std::move(ci->second.spec.on_give_up);
    st.children.erase(ci);
    if (fn)
      fn();
  };
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.by_addr.find(dm.source);
    if (i == st.by_addr.end())
      return;
    auto key = i->second;
    st.by_addr.erase(i);
    auto ci = st.children.find(key);
    if (ci == st.children.end())
      return;
    auto& c = ci->second;
    if (!abnormal(dm.reason)) {
      st.children.erase(ci);
      --stats->live;
      if (m)
        m->live_actors.Add({{"domain", stats->domain}}).Decrement();
      return;
    }
    auto reason = self->home_system().render(dm.reason);
    stats->set_last_failure(key + ": " + reason);
    auto now = self->clock().now();
    while (!c.restarts.empty() && now - c.restarts.front() > opts.window)
      c.restarts.pop_front();
    if (static_cast<int>(c.restarts.size()) >= opts.max_restarts) {
      try {
        spdlog::error("{} child {} crash-looping ({}), giving up",
                      stats->domain, key, reason);
      } catch (...) {
      }
      return give_up(key);
    }
    try {
      spdlog::warn("{} child {} died ({}), restarting", stats->domain, key,
                   reason);
    } catch (...) {
    }
    if (!start_child(c))
      return give_up(key);
    c.restarts.push_back(now);
    ++stats->restarts;
    if (m)
      m->restart(stats->domain);
    if (c.spec.on_restart)
      c.spec.on_restart(c.handle);
  });
  auto find_or_start = [=](child_spec& spec) -> caf::actor {
    auto& st = self->state;
    if (auto i = st.children.find(spec.key); i != st.children.end())
      return i->second.handle;
    auto key = spec.key;
    auto& c = st.children[key];
    c.spec = std::move(spec);
    if (!start_child(c)) {
      st.children.erase(key);
      return caf::actor{};
    }
    ++stats->live;
    ++stats->spawned;
    if (m)
      m->live_actors.Add({{"domain", stats->domain}}).Increment();
    return c.handle;
  };
  // Shutdown: the children go with their manager.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    for (auto& [key, c] : self->state.children)
      self->send_exit(c.handle, caf::exit_reason::user_shutdown);
    self->state.children.clear();
    self->state.by_addr.clear();
    self->quit(msg.reason);
  });
  return {
    [=](spawn_atom, child_spec& spec, caf::message& then) -> caf::actor {
      // Find or create, then deliver `then` to the child.
      auto child = find_or_start(spec);
      // The child is dynamically typed here (each domain has its own
      // interface): enqueued directly, with the manager as its sender.
      if (child && !then.empty())
        child->enqueue(caf::make_mailbox_element(self->ctrl(),
                                                 caf::make_message_id(), {},
                                                 std::move(then)),
                       self->context());
      return child;
    },
    [=](spawn_atom, child_spec& spec) -> caf::actor {
      return find_or_start(spec);
    },
    [=](lookup_atom, const std::string& key) -> caf::actor {
      auto& st = self->state;
      if (auto i = st.children.find(key); i != st.children.end())
        return i->second.handle;
      return caf::actor{};
    },
    [=](stop_atom, const std::string& key) {
      auto& st = self->state;
      if (auto i = st.children.find(key); i != st.children.end())
        self->send_exit(i->second.handle, caf::exit_reason::user_shutdown);
    },
  };
}

} // namespace

supervisor_actor spawn_supervisor(caf::actor_system& sys,
                                  supervision_stats& stats, metrics* m,
                                  supervisor_options opts) {
  return sys.spawn(supervisor, &stats, m, opts);
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
