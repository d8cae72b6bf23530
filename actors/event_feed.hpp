#pragma once

// The live events of one dashboard connection (GET /api/crm/events): an
// actor that reads its business's calls, WhatsApp messages and payments
// changed since its cursor and writes each change as a server-sent event
// (`id: <position>`, `event: call|message|payment`, the row as JSON), plus
// a comment line as a heartbeat when nothing happened for a while. It ends
// when its output is gone (the client left, the server drains) or its API
// token is revoked, and closes the output when it ends for any other reason.
//
// Pushed, not polled: every committed change notifies PostgreSQL channel
// 'al_events' (schemas/0016_event_notify.sql), the instance's one listener
// (actors/event_listener.hpp) wakes the feeds of that business, and a woken
// feed reads, so whichever instance wrote a row, every instance's
// dashboards see it at once, and an idle dashboard costs no query. A feed
// also reads when it starts, when the listener (re)connects (notifications
// sent while it was away are gone) and, as a safety net, every
// `feed_options::resync` without a notification. Wake-ups during a read
// fold into one more read.
//
// The cursor is the newest updated_at seen. Each read re-reads a short
// overlap window before it, because a row's updated_at is its transaction's
// start time and a slow transaction commits after younger ones; rows already
// sent with the same updated_at are skipped. A transaction slower than the
// overlap can still be missed (the dashboard reloads its views on reconnect).
//
// Resuming: each event's id is the newest position (updated_at µs, kind,
// row id) sent on the stream so far, "<µs>-<kind>-<id>" (the `ready` event:
// "<µs>", where the stream starts). A client that reconnects with it
// (Last-Event-ID) gets a feed whose first read starts there and skips what
// is at or before that position: what it missed, without duplicates. A row
// whose transaction started before that position and committed while the
// client was away is not sent to it (the overlap rule, across a reconnect).

#include "actors/event_listener.hpp"
#include "actors/job_protocols.hpp"
#include "actors/store.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace al {

/// Where a feed writes; every function may be called from any thread.
struct feed_output {
  std::function<bool(std::string)> push; // false: the reader is gone
  std::function<bool()> open;            // false: the reader is gone
  std::function<void()> close;           // end the response
};

// The feed's data (feed_position, feed_change, feed_poll, ...), its
// messages and its typed interface event_feed_actor are in
// actors/job_protocols.hpp.

struct feed_options {
  /// How often the feed looks whether its reader is still there and a
  /// heartbeat is due (no query).
  std::chrono::milliseconds check{1000};
  std::chrono::milliseconds heartbeat{15000};
  /// A read without a notification after this long (the safety net).
  std::chrono::milliseconds resync{60000};
  std::chrono::milliseconds overlap{3000};
  /// The oldest Last-Event-ID honoured; an older one resumes from there.
  std::chrono::milliseconds max_resume{std::chrono::hours(24)};
  std::size_t max_rows = 200; // per table and page
  std::size_t max_pages = 25; // per table and read
};

/// "<µs>-<kind>-<row>", or "<µs>" when `kind` is empty: an SSE event id.
std::string format_event_id(const feed_position& p);

/// The position of an event id written by format_event_id; nullopt when
/// malformed (or of a kind the feed does not send). Pure.
std::optional<feed_position> parse_event_id(std::string_view id);

/// The database's clock now, µs since the epoch (a fresh feed's cursor).
std::int64_t feed_clock(db_tx& tx);

/// The rows of `business` changed after `cursor - overlap` (µs), at most
/// `max_pages` pages of `max_rows` per table; a table in `after` (what the
/// last read left unfinished) goes on after its key instead, so that a
/// backlog larger than one read is read to its end. Pure DB function.
feed_poll poll_feed(db_tx& tx, std::int64_t business, std::int64_t cursor,
                    std::int64_t overlap_us, std::size_t max_rows,
                    std::size_t max_pages = 1,
                    const feed_unfinished& after = {});

/// True when API token `token_id` is revoked (or gone).
bool token_revoked(db_tx& tx, std::int64_t token_id);

/// True when API token `token_id` is live and belongs to `business` (a
/// stream ticket's claim, checked when the stream opens).
bool token_serves(db_tx& tx, std::int64_t token_id, std::int64_t business);

/// How a feed begins.
struct feed_start {
  /// The client's last event id: resume after it (else: start now).
  std::optional<feed_position> resume;
  /// The data of the `ready` event sent first, with the start position as
  /// its id (empty: no ready event).
  std::string ready;
};

/// Spawns the feed of `business` writing to `out`, woken by `listener`
/// (may be invalid: then it reads at start and every `resync` only).
/// `token_id` is the API token it serves (0: the admin token): checked at
/// every read (a revocation notifies, so a revoked token's stream ends at
/// once).
event_feed_actor spawn_event_feed(caf::actor_system& sys, store db,
                                  event_listener_actor listener,
                                  std::int64_t business, std::int64_t token_id,
                                  feed_output out, feed_start start = {},
                                  feed_options opts = {});

/// What the events route needs: the instance's listener and the options of
/// each feed (tests shorten or lengthen them).
struct live_events {
  event_listener_actor listener;
  std::shared_ptr<event_listener_stats> stats;
  feed_options feed;
};

} // namespace al
