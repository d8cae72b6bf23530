#pragma once

// The live events of one dashboard connection (GET /api/crm/events): an
// actor that polls its business's calls, WhatsApp messages and payments for
// rows changed since its cursor and writes each change as a server-sent
// event (`event: call|message|payment`, the row as JSON), plus a comment
// line as a heartbeat when nothing happened for a while. It ends when its
// output is gone (the client left, the server drains) and closes the output
// when it ends for any other reason.
//
// Polling, not LISTEN/NOTIFY: whichever instance wrote a row, every
// instance's dashboards see it through the shared database, with no extra
// channel; the cost is one indexed query per table per interval per open
// dashboard (schemas/0009_event_feed.sql adds the indexes).
//
// The cursor is the newest updated_at seen. Each poll re-reads a short
// overlap window before it, because a row's updated_at is its transaction's
// start time and a slow transaction commits after younger ones; rows already
// sent with the same updated_at are skipped. A transaction slower than the
// overlap can still be missed (the dashboard reloads its views on reconnect).

#include "actors/store.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace al {

/// Where a feed writes; every function may be called from any thread.
struct feed_output {
  std::function<bool(std::string)> push; // false: the reader is gone
  std::function<bool()> open;            // false: the reader is gone
  std::function<void()> close;           // end the response
};

struct feed_options {
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds heartbeat{15000};
  std::chrono::milliseconds overlap{3000};
  std::size_t max_rows = 200; // per table and poll
};

/// One changed row.
struct feed_change {
  std::string kind;        // call | message | payment
  std::string key;         // call sid, message id, payment id
  std::int64_t micros = 0; // updated_at, µs since the epoch
  std::string json;        // the event's data
};

/// What one poll found: the changes in updated_at order and the new cursor.
struct feed_poll {
  std::vector<feed_change> changes;
  std::int64_t cursor = 0;
  bool revoked = false; // the API token was revoked: the feed ends
};

/// The database's clock now, µs since the epoch (a fresh feed's cursor).
std::int64_t feed_clock(db_tx& tx);

/// The rows of `business` changed after `cursor - overlap` (µs), at most
/// `max_rows` per table. Pure DB function.
feed_poll poll_feed(db_tx& tx, std::int64_t business, std::int64_t cursor,
                    std::int64_t overlap_us, std::size_t max_rows);

/// True when API token `token_id` is revoked (or gone).
bool token_revoked(db_tx& tx, std::int64_t token_id);

/// Spawns the feed of `business` writing to `out`. `token_id` is the API
/// token it serves (0: the admin token): checked at every poll, so that a
/// revoked token's stream ends within a poll interval.
caf::actor spawn_event_feed(caf::actor_system& sys, store db,
                            std::int64_t business, std::int64_t token_id,
                            feed_output out, feed_options opts = {});

} // namespace al
