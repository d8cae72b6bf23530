// The dashboard's live events: state, one read per wake-up, frames out.
//
//   start --read--> reading --result--> idle --events_changed / resync
//     timer / listener reconnect--> reading ...   (a wake-up while reading
//     sets `again`: one more read right after)
//   every `check`: reader gone? quit. Quiet for `heartbeat`? ": ping".
//   until the output is gone or the token is revoked (quit; the output is
//   closed on exit)
#include "actors/event_feed.hpp"

#include "actors/call_rows.hpp"
#include "actors/sql.hpp"
#include "actors/sql_fields.hpp"
#include "core/input.hpp"
#include "core/money.hpp"
#include "core/sse.hpp"

#include <boost/json.hpp>
#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>

namespace al {
namespace {

namespace json = boost::json;
/// The actor clock's time (the steady clock in production).
using time_point = caf::actor_clock::time_point;

// updated_at as µs since the epoch, and one page of a table's rows after
// ($2 µs, $4 id) in (updated_at, id) order (the first page: $4 = the largest
// id, i.e. strictly after $2). The plain updated_at bound keeps the index
// range scan.
#define AL_FEED_MICROS "(extract(epoch FROM updated_at) * 1000000)::bigint"
#define AL_FEED_SINCE                                                          \
  " WHERE business_id = $1 AND updated_at >= 'epoch'::timestamptz"             \
  " + $2::bigint * interval '1 microsecond'"                                   \
  " AND (updated_at, id) > ('epoch'::timestamptz"                              \
  " + $2::bigint * interval '1 microsecond', $4::bigint)"                      \
  " ORDER BY updated_at, id LIMIT $3"

// Live: not revoked and, for a dashboard session, not expired.
constexpr sql_statement select_token_live{
  "SELECT 1 FROM api_tokens WHERE id = $1 AND revoked_at IS NULL"
  " AND (expires_at IS NULL OR expires_at > now())"};

constexpr sql_statement select_token_serves{
  "SELECT 1 FROM api_tokens WHERE id = $1 AND business_id = $2"
  " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"};

constexpr sql_statement select_clock{
  "SELECT (extract(epoch FROM now()) * 1000000)::bigint"};

constexpr sql_statement select_calls{
  "SELECT call_sid, from_number, to_number, status, engine, lead_id,"
  " ended_normally, iso_utc(created_at), iso_utc(started_at),"
  " iso_utc(ended_at), iso_utc(updated_at), " AL_FEED_MICROS ", id"
  " FROM calls" AL_FEED_SINCE};

constexpr sql_statement select_messages{
  "SELECT id, lead_id, direction, provider, from_address, to_address, body,"
  " status, error, iso_utc(created_at), iso_utc(updated_at), " AL_FEED_MICROS
  ", id FROM messages" AL_FEED_SINCE};

constexpr sql_statement select_payments{
  "SELECT id, lead_id, provider, amount_minor, currency, description,"
  " status, pay_url, iso_utc(created_at), iso_utc(updated_at), " AL_FEED_MICROS
  ", id FROM payments" AL_FEED_SINCE};

feed_change call_change(const pqxx::row& r) {
  auto o = call_head_json(r);
  o["created_at"] = r[7].c_str();
  o["started_at"] = text_or_null(r[8]);
  o["ended_at"] = text_or_null(r[9]);
  o["updated_at"] = r[10].c_str();
  return {"call", r[0].c_str(), r[12].as<std::int64_t>(),
          r[11].as<std::int64_t>(), json::serialize(o)};
}

feed_change message_change(const pqxx::row& r) {
  json::object o{
    {"id", r[0].as<std::int64_t>()}, {"lead_id", int_or_null(r[1])},
    {"direction", r[2].c_str()},     {"provider", r[3].c_str()},
    {"from", r[4].c_str()},          {"to", r[5].c_str()},
    {"body", r[6].c_str()},          {"status", r[7].c_str()},
    {"error", text_or_null(r[8])},   {"created_at", r[9].c_str()},
    {"updated_at", r[10].c_str()}};
  return {"message", r[0].c_str(), r[12].as<std::int64_t>(),
          r[11].as<std::int64_t>(), json::serialize(o)};
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
  return {"payment", r[0].c_str(), r[11].as<std::int64_t>(),
          r[10].as<std::int64_t>(), json::serialize(o)};
}

std::int64_t micros_of(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

struct feed_state {
  store db;
  event_listener_actor listener;
  std::int64_t business = 0;
  std::int64_t token_id = 0;
  feed_output out;
  feed_options opts;
  feed_start start;
  std::int64_t cursor = 0; // 0: not read from the database yet
  /// The newest position sent: the id of every event.
  feed_position high;
  /// Resuming: what the client had; skipped until a read completes.
  std::optional<feed_position> floor;
  /// kind/row -> updated_at already sent (only rows inside the overlap).
  std::map<std::string, std::int64_t> sent;
  /// What the last read left unfinished: the next goes on from there.
  feed_unfinished unfinished;
  bool reading = false;  // a read is in flight
  bool again = false;    // woken during it: read once more
  time_point last_write; // set at start
  time_point next_resync;

  static inline const char* name = "event_feed";
};

using feed_actor = event_feed_actor::stateful_pointer<feed_state>;

/// Writes the new changes at `now`; false when the reader is gone.
bool deliver(feed_state& st, const feed_poll& poll, time_point now) {
  for (auto& c : poll.changes) {
    auto key = c.kind + "/" + std::to_string(c.row);
    auto i = st.sent.find(key);
    if (i != st.sent.end() && i->second >= c.micros)
      continue; // already sent (the overlap reads it again)
    st.sent[key] = c.micros;
    auto pos = c.position();
    if (st.floor && !(*st.floor < pos))
      continue; // the client had it before it reconnected
    if (st.high < pos)
      st.high = std::move(pos);
    if (!st.out.push(sse_frame(c.kind, c.json, format_event_id(st.high))))
      return false;
    st.last_write = now;
  }
  if (poll.more.empty())
    st.floor.reset();
  st.cursor = std::max(st.cursor, poll.cursor);
  // Forget what the next window cannot contain any more.
  auto horizon = st.cursor - micros_of(st.opts.overlap);
  for (auto i = st.sent.begin(); i != st.sent.end();)
    i = i->second <= horizon ? st.sent.erase(i) : std::next(i);
  return true;
}

/// The first read's answer: where the stream starts, and `ready`.
bool begin(feed_state& st, const feed_poll& poll) {
  feed_position now{poll.clock, {}, 0};
  if (st.start.resume) {
    st.high = std::min(*st.start.resume, now);
    st.floor = st.high;
  } else {
    // The first read covers the overlap before now: so does the id.
    st.high = feed_position{poll.clock - micros_of(st.opts.overlap), {}, 0};
  }
  if (st.start.ready.empty())
    return true;
  return st.out.push(
    sse_frame("ready", st.start.ready, format_event_id(st.high)));
}

/// Starts a read, or asks for one more when one is in flight.
void read(feed_actor self) {
  auto& st = self->state;
  if (st.reading) {
    st.again = true;
    return;
  }
  st.reading = true;
  st.again = false;
  auto poll = std::make_shared<feed_poll>();
  auto me = caf::actor_cast<event_feed_actor>(self);
  std::optional<std::int64_t> resume;
  if (st.cursor == 0 && st.start.resume)
    resume = st.start.resume->micros;
  st.db.run(
    [poll, business = st.business, token = st.token_id, cursor = st.cursor,
     resume, opts = st.opts, after = st.unfinished](db_tx& tx) {
      if (token != 0 && token_revoked(tx, token)) {
        poll->revoked = true;
        return;
      }
      auto from = cursor;
      std::int64_t clock = 0;
      if (cursor == 0) {
        // From now on (the overlap before now included), or from where
        // the client left, at most max_resume back.
        clock = feed_clock(tx);
        from = resume ? std::clamp(*resume, clock - micros_of(opts.max_resume),
                                   clock)
                      : clock;
      }
      *poll = poll_feed(tx, business, from, micros_of(opts.overlap),
                        opts.max_rows, opts.max_pages, after);
      poll->clock = clock;
    },
    [poll, me](const db_error& err) {
      caf::anon_send(me, feed_result{std::move(*poll), err});
    });
}

event_feed_actor::behavior_type event_feed(feed_actor self) {
  auto& st = self->state;
  if (st.listener)
    self->send(st.listener,
               events_subscribe{st.business,
                                caf::actor_cast<event_sink_actor>(self)});
  read(self);
  self->delayed_send(self, st.opts.check, tick_atom_v);
  return {
    [self](const events_changed&) {
      // A change of this business (or a listener reconnect): read.
      read(self);
    },
    [self](read_atom) { read(self); },
    [self](tick_atom) {
      auto& st = self->state;
      if (!st.out.open())
        return self->quit();
      auto now = self->clock().now();
      if (st.cursor != 0 && now - st.last_write >= st.opts.heartbeat) {
        if (!st.out.push(sse_comment("ping")))
          return self->quit();
        st.last_write = now;
      }
      if (now >= st.next_resync && !st.reading)
        read(self);
      self->delayed_send(self, st.opts.check, tick_atom_v);
    },
    [self](feed_result& r) {
      auto& st = self->state;
      st.reading = false;
      if (!r.err.empty()) {
        // Database away: keep the client, try again shortly.
        self->delayed_send(self, st.opts.check, read_atom_v);
        return;
      }
      if (r.poll.revoked)
        return self->quit(); // closes the stream (attach_functor)
      if (st.cursor == 0 && !begin(st, r.poll))
        return self->quit();
      if (!deliver(st, r.poll, self->clock().now()))
        return self->quit();
      st.next_resync = self->clock().now() + st.opts.resync;
      // More rows than one read takes: go on from where it stopped.
      st.unfinished = std::move(r.poll.more);
      if (st.again || !st.unfinished.empty())
        read(self);
    },
  };
}

} // namespace

std::string format_event_id(const feed_position& p) {
  auto id = std::to_string(p.micros);
  if (!p.kind.empty())
    id += "-" + p.kind + "-" + std::to_string(p.row);
  return id;
}

std::optional<feed_position> parse_event_id(std::string_view id) {
  auto number = [](std::string_view s) {
    return parse_decimal(s, 0, std::numeric_limits<std::int64_t>::max());
  };
  feed_position p;
  auto dash = id.find('-');
  auto micros = number(id.substr(0, dash));
  if (!micros)
    return std::nullopt;
  p.micros = *micros;
  if (dash == std::string_view::npos)
    return p;
  auto rest = id.substr(dash + 1);
  auto dash2 = rest.find('-');
  if (dash2 == std::string_view::npos)
    return std::nullopt;
  auto kind = rest.substr(0, dash2);
  if (kind != "call" && kind != "message" && kind != "payment")
    return std::nullopt;
  auto row = number(rest.substr(dash2 + 1));
  if (!row)
    return std::nullopt;
  p.kind = std::string{kind};
  p.row = *row;
  return p;
}

bool token_revoked(db_tx& tx, std::int64_t token_id) {
  return exec(tx, select_token_live, token_id).empty();
}

bool token_serves(db_tx& tx, std::int64_t token_id, std::int64_t business) {
  return !exec(tx, select_token_serves, token_id, business).empty();
}

std::int64_t feed_clock(db_tx& tx) {
  return exec(tx, select_clock)[0][0].as<std::int64_t>();
}

feed_poll poll_feed(db_tx& tx, std::int64_t business, std::int64_t cursor,
                    std::int64_t overlap_us, std::size_t max_rows,
                    std::size_t max_pages, const feed_unfinished& after) {
  feed_poll out;
  auto limit = static_cast<std::int64_t>(std::max<std::size_t>(1, max_rows));
  std::int64_t newest = cursor;
  // A table that still had rows after its last page: the cursor stops at
  // its last row read, and the next read goes on after that row.
  auto cap = std::numeric_limits<std::int64_t>::max();
  auto read = [&](const char* kind, const sql_statement& sql,
                  feed_change (*to_change)(const pqxx::row&)) {
    // (since, largest id): strictly after `since`.
    feed_resume_key key{cursor - overlap_us,
                        std::numeric_limits<std::int64_t>::max()};
    if (auto i = after.find(kind); i != after.end())
      key = i->second;
    for (std::size_t page = 1;; ++page) {
      auto rows = exec(tx, sql, business, key.micros, limit, key.row);
      for (auto r : rows) {
        out.changes.push_back(to_change(r));
        newest = std::max(newest, out.changes.back().micros);
      }
      if (rows.size() < static_cast<std::size_t>(limit))
        return;
      key = {out.changes.back().micros, out.changes.back().row};
      if (page >= std::max<std::size_t>(1, max_pages)) {
        cap = std::min(cap, key.micros);
        out.more[kind] = key;
        return;
      }
    }
  };
  read("call", select_calls, call_change);
  read("message", select_messages, message_change);
  read("payment", select_payments, payment_change);
  std::sort(out.changes.begin(), out.changes.end(),
            [](const feed_change& a, const feed_change& b) {
              return a.position() < b.position();
            });
  out.cursor = std::max(cursor, std::min(newest, cap));
  return out;
}

event_feed_actor spawn_event_feed(caf::actor_system& sys, store db,
                                  event_listener_actor listener,
                                  std::int64_t business, std::int64_t token_id,
                                  feed_output out, feed_start start,
                                  feed_options opts) {
  return sys.spawn([db = std::move(db), listener = std::move(listener),
                    business, token_id, out, start = std::move(start),
                    opts](feed_actor self) -> event_feed_actor::behavior_type {
    auto& st = self->state;
    st.db = db;
    st.listener = listener;
    st.business = business;
    st.token_id = token_id;
    st.out = out;
    st.start = start;
    st.opts = opts;
    st.last_write = self->clock().now();
    st.next_resync = st.last_write + opts.resync;
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
}

} // namespace al
