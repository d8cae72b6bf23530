// The dashboard's live events: state, one poll per tick, frames out.
//
//   start --tick--> polling --result--> (push frames, heartbeat) --interval-->
//     tick ... until the output is gone (quit; the output is closed on exit)
#include "actors/event_feed.hpp"

#include "actors/sql.hpp"
#include "actors/sql_fields.hpp"
#include "core/money.hpp"
#include "core/sse.hpp"

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>

namespace al {
namespace {

/// Self -> self: poll now.
struct feed_tick {};

/// DB thread -> feed: what a poll found (`err` empty on success).
struct feed_result {
  std::shared_ptr<feed_poll> poll;
  db_error err;
};

} // namespace
} // namespace al

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(al::feed_tick)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(al::feed_result)

namespace al {
namespace {

namespace json = boost::json;
using steady = std::chrono::steady_clock;

// updated_at as µs since the epoch, and the window start from a cursor.
#define AL_FEED_MICROS "(extract(epoch FROM updated_at) * 1000000)::bigint"
#define AL_FEED_SINCE                                                          \
  " WHERE business_id = $1 AND updated_at > 'epoch'::timestamptz"              \
  " + $2::bigint * interval '1 microsecond'"                                   \
  " ORDER BY updated_at, id LIMIT $3"

constexpr sql_statement select_token_live{
  "SELECT 1 FROM api_tokens WHERE id = $1 AND revoked_at IS NULL"};

constexpr sql_statement select_clock{
  "SELECT (extract(epoch FROM now()) * 1000000)::bigint"};

constexpr sql_statement select_calls{
  "SELECT call_sid, from_number, to_number, status, engine, lead_id,"
  " ended_normally, iso_utc(created_at), iso_utc(started_at),"
  " iso_utc(ended_at), iso_utc(updated_at), " AL_FEED_MICROS
  " FROM calls" AL_FEED_SINCE};

constexpr sql_statement select_messages{
  "SELECT id, lead_id, direction, provider, from_address, to_address, body,"
  " status, error, iso_utc(created_at), iso_utc(updated_at), " AL_FEED_MICROS
  " FROM messages" AL_FEED_SINCE};

constexpr sql_statement select_payments{
  "SELECT id, lead_id, provider, amount_minor, currency, description,"
  " status, pay_url, iso_utc(created_at), iso_utc(updated_at), " AL_FEED_MICROS
  " FROM payments" AL_FEED_SINCE};

feed_change call_change(const pqxx::row& r) {
  json::object o{{"sid", r[0].c_str()},
                 {"from", r[1].c_str()},
                 {"to", r[2].c_str()},
                 {"status", r[3].c_str()},
                 {"engine", r[4].c_str()},
                 {"lead_id", int_or_null(r[5])},
                 {"ended_normally", r[6].as<bool>()},
                 {"created_at", r[7].c_str()},
                 {"started_at", text_or_null(r[8])},
                 {"ended_at", text_or_null(r[9])},
                 {"updated_at", r[10].c_str()}};
  return {"call", r[0].c_str(), r[11].as<std::int64_t>(), json::serialize(o)};
}

feed_change message_change(const pqxx::row& r) {
  json::object o{
    {"id", r[0].as<std::int64_t>()}, {"lead_id", int_or_null(r[1])},
    {"direction", r[2].c_str()},     {"provider", r[3].c_str()},
    {"from", r[4].c_str()},          {"to", r[5].c_str()},
    {"body", r[6].c_str()},          {"status", r[7].c_str()},
    {"error", text_or_null(r[8])},   {"created_at", r[9].c_str()},
    {"updated_at", r[10].c_str()}};
  return {"message", r[0].c_str(), r[11].as<std::int64_t>(),
          json::serialize(o)};
}

feed_change payment_change(const pqxx::row& r) {
  auto minor = r[3].as<std::int64_t>();
  json::object o{
    {"id", r[0].as<std::int64_t>()}, {"lead_id", int_or_null(r[1])},
    {"provider", r[2].c_str()},      {"amount", format_amount(minor)},
    {"amount_minor", minor},         {"currency", r[4].c_str()},
    {"description", r[5].c_str()},   {"status", r[6].c_str()},
    {"pay_url", text_or_null(r[7])}, {"created_at", r[8].c_str()},
    {"updated_at", r[9].c_str()}};
  return {"payment", r[0].c_str(), r[10].as<std::int64_t>(),
          json::serialize(o)};
}

struct feed_state {
  store db;
  std::int64_t business = 0;
  std::int64_t token_id = 0;
  feed_output out;
  feed_options opts;
  std::int64_t cursor = 0; // 0: not read from the database yet
  /// kind/key -> updated_at already sent (only rows inside the overlap).
  std::map<std::string, std::int64_t> sent;
  steady::time_point last_write = steady::now();

  static inline const char* name = "event_feed";
};

using feed_actor = caf::stateful_actor<feed_state>;

/// Writes the new changes; false when the reader is gone.
bool deliver(feed_state& st, const feed_poll& poll) {
  auto overlap_us
    = std::chrono::duration_cast<std::chrono::microseconds>(st.opts.overlap)
        .count();
  for (auto& c : poll.changes) {
    auto key = c.kind + "/" + c.key;
    auto i = st.sent.find(key);
    if (i != st.sent.end() && i->second >= c.micros)
      continue; // already sent (the overlap reads it again)
    st.sent[key] = c.micros;
    if (!st.out.push(sse_frame(c.kind, c.json)))
      return false;
    st.last_write = steady::now();
  }
  st.cursor = std::max(st.cursor, poll.cursor);
  // Forget what the next window cannot contain any more.
  for (auto i = st.sent.begin(); i != st.sent.end();)
    i = i->second <= st.cursor - overlap_us ? st.sent.erase(i) : std::next(i);
  if (steady::now() - st.last_write >= st.opts.heartbeat) {
    if (!st.out.push(sse_comment("ping")))
      return false;
    st.last_write = steady::now();
  }
  return true;
}

caf::behavior event_feed(feed_actor* self) {
  self->send(self, feed_tick{});
  return {
    [self](feed_tick) {
      auto& st = self->state;
      if (!st.out.open())
        return self->quit();
      auto poll = std::make_shared<feed_poll>();
      auto me = caf::actor_cast<caf::actor>(self);
      auto overlap_us
        = std::chrono::duration_cast<std::chrono::microseconds>(st.opts.overlap)
            .count();
      st.db.run(
        [poll, business = st.business, token = st.token_id, cursor = st.cursor,
         overlap_us, rows = st.opts.max_rows](db_tx& tx) {
          if (token != 0 && token_revoked(tx, token)) {
            poll->revoked = true;
            return;
          }
          if (cursor == 0) {
            poll->cursor = feed_clock(tx); // from now on
            return;
          }
          *poll = poll_feed(tx, business, cursor, overlap_us, rows);
        },
        [poll, me](const db_error& err) {
          caf::anon_send(me, feed_result{poll, err});
        });
    },
    [self](feed_result& r) {
      auto& st = self->state;
      if (r.err.empty() && r.poll->revoked)
        return self->quit(); // closes the stream (attach_functor)
      if (!r.err.empty()) {
        // Database away: try again at the next tick; keep the client.
        r.poll->changes.clear();
        r.poll->cursor = st.cursor;
      }
      if (!deliver(st, *r.poll))
        return self->quit();
      self->delayed_send(self, st.opts.interval, feed_tick{});
    },
  };
}

} // namespace

bool token_revoked(db_tx& tx, std::int64_t token_id) {
  return exec(tx, select_token_live, token_id).empty();
}

std::int64_t feed_clock(db_tx& tx) {
  return exec(tx, select_clock)[0][0].as<std::int64_t>();
}

feed_poll poll_feed(db_tx& tx, std::int64_t business, std::int64_t cursor,
                    std::int64_t overlap_us, std::size_t max_rows) {
  feed_poll out;
  auto since = cursor - overlap_us;
  auto limit = static_cast<std::int64_t>(max_rows);
  std::int64_t newest = cursor;
  // A table that filled its limit has more after its last row: the cursor
  // stops there, and the next poll goes on from it.
  auto cap = std::numeric_limits<std::int64_t>::max();
  auto read = [&](const sql_statement& sql,
                  feed_change (*to_change)(const pqxx::row&)) {
    auto rows = exec(tx, sql, business, since, limit);
    for (auto r : rows) {
      out.changes.push_back(to_change(r));
      newest = std::max(newest, out.changes.back().micros);
    }
    if (!rows.empty() && rows.size() >= max_rows)
      cap = std::min(cap, out.changes.back().micros);
  };
  read(select_calls, call_change);
  read(select_messages, message_change);
  read(select_payments, payment_change);
  std::stable_sort(out.changes.begin(), out.changes.end(),
                   [](const feed_change& a, const feed_change& b) {
                     return a.micros < b.micros;
                   });
  out.cursor = std::max(cursor, std::min(newest, cap));
  return out;
}

caf::actor spawn_event_feed(caf::actor_system& sys, store db,
                            std::int64_t business, std::int64_t token_id,
                            feed_output out, feed_options opts) {
  auto a = sys.spawn(
    [db = std::move(db), business, token_id, out, opts](feed_actor* self) {
      auto& st = self->state;
      st.db = db;
      st.business = business;
      st.token_id = token_id;
      st.out = out;
      st.opts = opts;
      // However the feed ends, the response ends with it.
      self->attach_functor([out] {
        try {
          if (out.close)
            out.close();
        } catch (...) {
        }
      });
      return event_feed(self);
    });
  return a;
}

} // namespace al
