#pragma once

// One LISTEN connection per instance for the dashboard's live events
// (schemas/0016_event_notify.sql: every committed change of calls,
// messages, payments and API tokens notifies 'al_events' with
// '<business id>:<kind>'). The listener keeps a registry of the event feeds
// of this instance by business (actors/event_feed.hpp) and wakes the feeds
// of a business when it changed, so that no feed polls on a timer.
//
// Two actors: the listener itself (the registry; never blocks) and, linked
// to it, a detached connection actor that owns its own libpqxx connection
// and waits in await_notification (a bounded wait on the socket, so that
// it sees its mailbox, and shutdown, between waits). When the connection
// is lost the connection actor reconnects with backoff; every time LISTEN
// is (re)established the listener tells every subscribed feed to re-read,
// because notifications sent while nobody listened are gone. A feed that
// ends is dropped (monitored).
//
// Messages (all asynchronous; the types and the typed interfaces
// event_listener_actor, listener_connection_actor and event_sink_actor are
// in actors/job_protocols.hpp):
//   feed -> listener      events_subscribe, events_unsubscribe
//   listener -> feed      events_changed  (kind "resync" after a reconnect)
//   connection -> listener  events_changed, events_link
// Tests drive a listener without a database (an empty url) by sending it
// events_changed and events_link themselves.

#include "actors/job_protocols.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace al {

/// The channel the triggers notify.
inline constexpr std::string_view events_channel = "al_events";

/// events_changed::kind after a (re)connect: everything may have changed.
inline constexpr std::string_view events_resync = "resync";

struct listener_options {
  std::string url; // empty: no connection (the registry only)
  /// The longest single wait for a notification: how long shutdown may
  /// wait for the connection actor (it wakes at once for a notification).
  std::chrono::milliseconds wait{250};
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
};

/// What an operator (and a test) can see; readable from any thread.
struct event_listener_stats {
  std::atomic<bool> listening{false};
  std::atomic<long> connects{0};      // LISTEN established, in total
  std::atomic<long> notifications{0}; // received and forwarded
  std::atomic<long> feeds{0};         // subscriptions now
};

/// Spawns the listener (and, when `opts.url` is set, its connection).
/// Stop it with an exit message; the connection actor ends with it.
event_listener_actor
spawn_event_listener(caf::actor_system& sys, listener_options opts,
                     std::shared_ptr<event_listener_stats> stats = nullptr);

/// A notification payload "<business id>:<kind>" as a change; nullopt when
/// malformed. Pure.
std::optional<events_changed> parse_event_payload(std::string_view payload);

} // namespace al
