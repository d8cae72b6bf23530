// The instance's LISTEN connection and the registry of its event feeds.
//
//   connection actor (detached, one pqxx::connection):
//
//     down --connect + LISTEN ok--> listening --await (<= wait)--> listening
//      ^  \--failed: retry after backoff (doubling, capped)          |
//      |                                                              |
//      +------------- connection lost: retry after min backoff -------+
//
//   Each arrival in `listening` tells the listener events_link{true} (it
//   makes every feed re-read); each loss events_link{false}.
#include "actors/event_listener.hpp"

#include "actors/log.hpp"
#include "actors/store.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace al {
namespace {

/// `url` with a connect timeout and TCP keepalives, so that a peer that
/// vanished without a word (no FIN) breaks the wait within about a minute
/// instead of leaving a LISTEN that hears nothing.
std::string listen_url(const std::string& url) {
  auto out = with_timeouts(url);
  bool is_uri = url.rfind("postgres://", 0) == 0
                || url.rfind("postgresql://", 0) == 0;
  if (out.find("keepalives") != std::string::npos)
    return out;
  if (is_uri)
    return out + (out.find('?') == std::string::npos ? "?" : "&")
           + "keepalives=1&keepalives_idle=30&keepalives_interval=10"
             "&keepalives_count=3";
  return out
         + " keepalives=1 keepalives_idle=30 keepalives_interval=10"
           " keepalives_count=3";
}

/// Collects the payloads that arrive during one wait.
class payload_sink : public pqxx::notification_receiver {
public:
  payload_sink(pqxx::connection_base& c, std::vector<std::string>& out)
    : pqxx::notification_receiver(c, std::string{events_channel})
    , out_(out) {}
  void operator()(const std::string& payload, int) override {
    out_.push_back(payload);
  }

private:
  std::vector<std::string>& out_;
};

// -- the connection -----------------------------------------------------------

struct connection_state {
  listener_options opts;
  event_listener_actor listener;
  std::vector<std::string> payloads;
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<payload_sink> sink; // after conn: destroyed before it
  int backend = 0;                    // the pid LISTEN was issued on
  std::chrono::milliseconds backoff{0};
  bool failing = false; // the current outage was logged

  static inline const char* name = "event_listener_connection";
};

using connection_actor
  = listener_connection_actor::stateful_pointer<connection_state>;

/// Forgets the connection without a word to the server (no UNLISTEN on a
/// dead link: disconnect first, then the receiver goes).
void drop(connection_state& st) {
  if (st.conn)
    st.conn->disconnect();
  st.sink.reset();
  st.conn.reset();
  st.backend = 0;
}

/// Connects and LISTENs; false (logged once per outage) on failure.
bool connect(connection_state& st) {
  try {
    st.conn = std::make_unique<pqxx::connection>(listen_url(st.opts.url));
    st.sink = std::make_unique<payload_sink>(*st.conn, st.payloads);
    // libpqxx swallows a connection lost during LISTEN: check.
    if (!st.conn->is_open())
      throw pqxx::broken_connection{"connection lost during LISTEN"};
    st.backend = st.conn->backendpid();
    if (st.failing)
      log_noexcept(spdlog::level::info, "event listener: listening again");
    st.failing = false;
    return true;
  } catch (const std::exception& e) {
    drop(st);
    if (!st.failing)
      log_noexcept(spdlog::level::warn,
                   "event listener: cannot listen: " + first_line(e.what()));
    st.failing = true;
    return false;
  }
}

/// Hands what arrived to the listener.
void forward(connection_actor self) {
  auto& st = self->state;
  for (auto& p : st.payloads)
    if (auto c = parse_event_payload(p))
      self->send(st.listener, std::move(*c));
  st.payloads.clear();
}

/// The connection broke: tell the listener, try again soon.
void lost(connection_actor self, const std::string& why) {
  auto& st = self->state;
  forward(self);
  drop(st);
  if (!st.failing)
    log_noexcept(spdlog::level::warn,
                 "event listener: connection lost: " + why);
  st.failing = true;
  self->send(st.listener, events_link{false});
  st.backoff = st.opts.min_backoff;
  self->delayed_send(self, st.backoff, tick_atom_v);
}

listener_connection_actor::behavior_type
listener_connection(connection_actor self, listener_options opts,
                    event_listener_actor listener) {
  self->state.opts = std::move(opts);
  self->state.listener = std::move(listener);
  self->send(self, tick_atom_v);
  return {
    [self](tick_atom) {
      auto& st = self->state;
      if (!st.conn) {
        if (!connect(st)) {
          st.backoff = std::clamp(st.backoff * 2, st.opts.min_backoff,
                                  st.opts.max_backoff);
          self->delayed_send(self, st.backoff, tick_atom_v);
          return;
        }
        st.backoff = std::chrono::milliseconds{0};
        self->send(st.listener, events_link{true});
      }
      auto us
        = std::chrono::duration_cast<std::chrono::microseconds>(st.opts.wait)
            .count();
      try {
        // Returns at once when something arrives; else after `wait`.
        st.conn->await_notification(us / 1000000, us % 1000000);
      } catch (const std::exception& e) {
        return lost(self, first_line(e.what()));
      }
      if (!st.conn->is_open())
        return lost(self, "connection closed");
      if (st.conn->backendpid() != st.backend) {
        // libpqxx reconnected (and re-LISTENed) on its own: what was
        // notified in between is lost, as after any reconnect.
        st.backend = st.conn->backendpid();
        self->send(st.listener, events_link{true});
      }
      forward(self);
      self->send(self, tick_atom_v);
    },
  };
}

// -- the listener (registry) --------------------------------------------------

struct listener_state {
  listener_options opts;
  std::shared_ptr<event_listener_stats> stats;
  listener_connection_actor connection;
  std::unordered_map<std::int64_t, std::vector<event_sink_actor>> feeds;

  static inline const char* name = "event_listener";
};

using listener_actor = event_listener_actor::stateful_pointer<listener_state>;

void start_connection(listener_actor self) {
  auto& st = self->state;
  if (st.opts.url.empty())
    return;
  st.connection = self->spawn<caf::detached + caf::linked>(
    listener_connection, st.opts, caf::actor_cast<event_listener_actor>(self));
}

void count_feeds(listener_state& st) {
  long n = 0;
  for (auto& [b, fs] : st.feeds)
    n += static_cast<long>(fs.size());
  st.stats->feeds = n;
}

event_listener_actor::behavior_type
event_listener(listener_actor self, listener_options opts,
               std::shared_ptr<event_listener_stats> stats) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.stats = stats ? std::move(stats)
                   : std::make_shared<event_listener_stats>();
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    for (auto i = st.feeds.begin(); i != st.feeds.end();) {
      auto& fs = i->second;
      fs.erase(std::remove_if(fs.begin(), fs.end(),
                              [&](const event_sink_actor& f) {
                                return f.address() == dm.source;
                              }),
               fs.end());
      i = fs.empty() ? st.feeds.erase(i) : std::next(i);
    }
    count_feeds(st);
  });
  self->set_exit_handler([self](caf::exit_msg& em) {
    auto& st = self->state;
    if (st.connection && em.source == st.connection.address()) {
      // Not a shutdown: the connection actor failed. Start another.
      log_noexcept(spdlog::level::err, "event listener connection ended ("
                                         + self->system().render(em.reason)
                                         + "), restarting");
      st.connection = nullptr;
      st.stats->listening = false;
      self->delayed_send(self, st.opts.min_backoff, restart_atom_v);
      return;
    }
    self->quit(em.reason);
  });
  start_connection(self);
  return {
    [self](events_subscribe& s) {
      auto& st = self->state;
      if (!s.feed)
        return;
      auto& fs = st.feeds[s.business];
      if (std::find(fs.begin(), fs.end(), s.feed) == fs.end()) {
        self->monitor(s.feed);
        fs.push_back(std::move(s.feed));
      }
      count_feeds(st);
    },
    [self](events_unsubscribe& u) {
      auto& st = self->state;
      auto i = st.feeds.find(u.business);
      if (i == st.feeds.end())
        return;
      auto& fs = i->second;
      fs.erase(std::remove(fs.begin(), fs.end(), u.feed), fs.end());
      if (fs.empty())
        st.feeds.erase(i);
      count_feeds(st);
    },
    [self](events_changed& c) {
      auto& st = self->state;
      ++st.stats->notifications;
      auto i = st.feeds.find(c.business);
      if (i == st.feeds.end())
        return;
      for (auto& f : i->second)
        self->send(f, c);
    },
    [self](events_link l) {
      auto& st = self->state;
      st.stats->listening = l.up;
      if (!l.up)
        return;
      ++st.stats->connects;
      // Whatever was notified while nobody listened is gone: re-read.
      for (auto& [business, fs] : st.feeds)
        for (auto& f : fs)
          self->send(f, events_changed{business, std::string{events_resync}});
    },
    [self](restart_atom) {
      if (!self->state.connection)
        start_connection(self);
    },
  };
}

} // namespace

std::optional<events_changed> parse_event_payload(std::string_view payload) {
  auto colon = payload.find(':');
  if (colon == 0 || colon == std::string_view::npos || colon > 18)
    return std::nullopt;
  std::int64_t business = 0;
  for (char c : payload.substr(0, colon)) {
    if (c < '0' || c > '9')
      return std::nullopt;
    business = business * 10 + (c - '0');
  }
  auto kind = payload.substr(colon + 1);
  if (business <= 0 || kind.empty() || kind.size() > 32)
    return std::nullopt;
  for (char c : kind)
    if (c < 'a' || c > 'z')
      return std::nullopt;
  return events_changed{business, std::string{kind}};
}

event_listener_actor
spawn_event_listener(caf::actor_system& sys, listener_options opts,
                     std::shared_ptr<event_listener_stats> stats) {
  return sys.spawn(event_listener, std::move(opts), std::move(stats));
}

} // namespace al
