#pragma once

// The typed protocol of the background job actors (the store's pool,
// workers and writer, the event listener and feeds, campaigns, after-call
// jobs, audio jobs, webhook delivery, the WhatsApp media fetcher): their
// typed_actor interfaces and the type-ID block al_jobs of the message types
// they carry (actors/type_ids.hpp lists the ranges).
//
// Every message is a plain value (registered below, with its `inspect`) or
// an atom, except the store's jobs (db_job, db_write_job): they carry the
// closure a store job runs on a database thread, which only lives in this
// process. Completions that run on other threads (a DB thread, an I/O
// thread) send their outcome back to their actor as one of these values.
//
//   store (actors/store.hpp)
//     db_pool_actor     db_job; (ready_atom) from a worker that is free
//     db_worker_actor   db_job
//     db_writer_actor   db_write_job; (retry_atom); flush_request -> size_t
//   live events (actors/event_listener.hpp, actors/event_feed.hpp)
//     event_listener_actor  events_subscribe, events_unsubscribe,
//                           events_changed, events_link; (restart_atom)
//     listener_connection_actor  (tick_atom)
//     event_feed_actor  events_changed; (tick_atom) check; (read_atom)
//                       retry a read; feed_result
//     event_sink_actor  events_changed: what the listener wakes
//   campaigns (actors/campaign.hpp)
//     campaign_actor    (tick_atom) timer; (wake_atom) tick now;
//                       campaign_ticked; campaign_dialed; (finished_atom) a
//                       failed dial is recorded
//     campaign_manager_actor  (tick_atom) scan; campaign_leased;
//                       (wake_atom, campaign id)
//   after_call_actor    (create_atom) look now; (timeout_atom, 0) poll;
//                       (result_atom, after_call_claimed); (idle_atom) a
//                       job ended
//   audio_jobs_actor    (purge_atom) timer; (purge_atom, now_atom) -> int64;
//                       (purge_atom, deleted, ok) a batch's result; the
//                       same three with import_atom (a batch's result:
//                       claimed, imported, ok)
//   webhook_delivery_actor  (tick_atom); (wake_atom); webhook_claimed;
//                       webhook_attempt; webhook_recorded
//   wa_media_fetcher_actor  (tick_atom); (wake_atom); wa_media_claimed;
//                       (finished_atom) one item finished

#include "actors/campaign_store.hpp"
#include "actors/inspect_optional.hpp"
#include "actors/store.hpp"
#include "actors/type_ids.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/omittable.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace al {

// -- the store ----------------------------------------------------------------

/// A job for a pool worker.
struct db_job {
  std::function<void(db_tx&)> job;
  std::function<void(const db_error&)> done;
};

/// A write for the writer.
struct db_write_job {
  std::string what;
  std::function<void(db_tx&)> job;
};

/// Shutdown: flush the write queue until `deadline`; answers how many
/// writes are left.
struct flush_request {
  std::chrono::steady_clock::time_point deadline;
};

// -- live events --------------------------------------------------------------

/// Something of `business` changed: `kind` is call | message | payment |
/// token, or events_resync (the listener was away: re-read everything).
struct events_changed {
  std::int64_t business = 0;
  std::string kind;
};

/// What the listener wakes: an event feed (or a test standing in for one).
using event_sink_actor = caf::typed_actor<caf::reacts_to<events_changed>>;

/// feed -> listener: wake `feed` when `business` changes. The feed is
/// monitored: one that ends is dropped without an unsubscribe.
struct events_subscribe {
  std::int64_t business = 0;
  event_sink_actor feed;
};

/// feed -> listener: no more wake-ups for `business`.
struct events_unsubscribe {
  std::int64_t business = 0;
  event_sink_actor feed;
};

/// connection -> listener: LISTEN is established (`up`) or was lost.
struct events_link {
  bool up = false;
};

/// The listener (the registry of this instance's feeds).
using event_listener_actor
  = caf::typed_actor<caf::reacts_to<events_subscribe>,
                     caf::reacts_to<events_unsubscribe>,
                     caf::reacts_to<events_changed>,
                     caf::reacts_to<events_link>, caf::reacts_to<restart_atom>>;

/// The listener's connection: a tick is one bounded wait (or a reconnect).
using listener_connection_actor = caf::typed_actor<caf::reacts_to<tick_atom>>;

/// A place in the feed's order: updated_at, then kind, then row id.
struct feed_position {
  std::int64_t micros = 0; // updated_at, µs since the epoch
  std::string kind;        // "" (before every row of `micros`) | call | ...
  std::int64_t row = 0;    // the table's id

  friend bool operator<(const feed_position& a, const feed_position& b) {
    return std::tie(a.micros, a.kind, a.row)
           < std::tie(b.micros, b.kind, b.row);
  }
};

/// One changed row.
struct feed_change {
  std::string kind;        // call | message | payment
  std::string key;         // call sid, message id, payment id
  std::int64_t row = 0;    // the table's id
  std::int64_t micros = 0; // updated_at, µs since the epoch
  std::string json;        // the event's data

  feed_position position() const {
    return {micros, kind, row};
  }
};

/// Where the next read of a table goes on: after (updated_at µs, id).
struct feed_resume_key {
  std::int64_t micros = 0;
  std::int64_t row = 0;
};

/// Per table kind: the tables a read left unfinished.
using feed_unfinished = std::map<std::string, feed_resume_key>;

/// What one read found: the changes in position order and the new cursor.
struct feed_poll {
  std::vector<feed_change> changes;
  std::int64_t cursor = 0;
  /// Tables that had more rows than one read takes, and where to go on
  /// (empty: the read is complete).
  feed_unfinished more;
  bool revoked = false;   // the API token was revoked: the feed ends
  std::int64_t clock = 0; // the database's clock (a feed's first read)
};

/// DB thread -> feed: what a read found (`err` empty on success).
struct feed_result {
  feed_poll poll;
  db_error err;
};

/// One dashboard connection's feed.
using event_feed_actor
  = caf::typed_actor<caf::reacts_to<events_changed>, caf::reacts_to<tick_atom>,
                     caf::reacts_to<read_atom>, caf::reacts_to<feed_result>>;

// -- campaigns ----------------------------------------------------------------

/// Store -> campaign actor: what one tick did.
struct campaign_ticked {
  std::string error;
  bool stop = false; // gone, leased elsewhere, paused or completed
  std::string why;
  std::optional<campaign_settings> settings;
  std::optional<claim_result> claim;
};

/// Dial helper -> campaign actor: one dial's result (an
/// outbound_dial_result).
struct campaign_dialed {
  claimed_lead row;
  bool ok = false;
  std::string call_sid;
  std::string error;
  bool retryable = false;
};

/// Store -> manager: the campaigns leased to this instance.
struct campaign_leased {
  std::string error;
  std::vector<std::int64_t> ids;
};

/// One running campaign's actor.
using campaign_actor
  = caf::typed_actor<caf::reacts_to<tick_atom>, caf::reacts_to<wake_atom>,
                     caf::reacts_to<campaign_ticked>,
                     caf::reacts_to<campaign_dialed>,
                     caf::reacts_to<finished_atom>>;

/// The instance's campaign manager.
using campaign_manager_actor
  = caf::typed_actor<caf::reacts_to<tick_atom>, caf::reacts_to<campaign_leased>,
                     caf::reacts_to<wake_atom, std::int64_t>>;

// -- after-call jobs ----------------------------------------------------------

/// An after-call job this instance claimed.
struct after_call_job {
  std::string call_sid;
  std::int64_t business = 0;
  std::int32_t attempts = 0;
  std::string token;
};

/// Store -> job actor: the jobs one claim took (none after a failure).
struct after_call_claimed {
  std::vector<after_call_job> jobs;
};

using after_call_actor = caf::typed_actor<
  caf::reacts_to<create_atom>, caf::reacts_to<timeout_atom, std::int64_t>,
  caf::reacts_to<result_atom, after_call_claimed>, caf::reacts_to<idle_atom>>;

// -- audio jobs ---------------------------------------------------------------

using audio_jobs_actor = caf::typed_actor<
  caf::reacts_to<purge_atom>,
  caf::replies_to<purge_atom, now_atom>::with<std::int64_t>,
  caf::reacts_to<purge_atom, std::int64_t, bool>, caf::reacts_to<import_atom>,
  caf::replies_to<import_atom, now_atom>::with<std::int64_t>,
  caf::reacts_to<import_atom, std::int64_t, std::int64_t, bool>>;

// -- webhook delivery ---------------------------------------------------------

/// One claimed outbox row, with the business's current URL and secret.
struct webhook_claim {
  std::string id;
  std::int64_t business = 0;
  std::string event;
  std::string body;
  std::int32_t attempts = 0; // including this one
  std::string url;           // "" when the business has none now
  std::string secret;
};

/// Store -> deliverer: the claim's rows, or its error.
struct webhook_claimed {
  std::vector<webhook_claim> rows;
  std::string error;
};

/// HTTP client -> deliverer: one attempt finished (the row's secret is
/// cleared by then), with its outbound_response's status and error.
struct webhook_attempt {
  webhook_claim row;
  std::int32_t status = 0;
  std::string error;
};

/// Store -> deliverer: an attempt's outcome is recorded ("delivered",
/// "retried", "failed", or "" when it could not be written).
struct webhook_recorded {
  std::string result;
  std::chrono::milliseconds retry_in{0}; // for "retried"
};

using webhook_delivery_actor
  = caf::typed_actor<caf::reacts_to<tick_atom>, caf::reacts_to<wake_atom>,
                     caf::reacts_to<webhook_claimed>,
                     caf::reacts_to<webhook_attempt>,
                     caf::reacts_to<webhook_recorded>>;

// -- WhatsApp media -----------------------------------------------------------

/// One claimed pending media row, with the credentials of its business.
struct wa_media_job {
  std::int64_t id = 0;
  std::int64_t business = 0;
  std::string provider; // twilio | meta
  std::string source_ref;
  std::string declared_type;
  std::int32_t attempts = 0; // including this one
  std::string account_sid;
  std::string auth_token;
};

/// Store -> fetcher: the claim's rows, or its error.
struct wa_media_claimed {
  std::vector<wa_media_job> rows;
  std::string error;
};

using wa_media_fetcher_actor
  = caf::typed_actor<caf::reacts_to<tick_atom>, caf::reacts_to<wake_atom>,
                     caf::reacts_to<wa_media_claimed>,
                     caf::reacts_to<finished_atom>>;

// -- inspection ---------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, flush_request& x) {
  return f(caf::meta::type_name("flush_request"), x.deadline);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, events_changed& x) {
  return f(caf::meta::type_name("events_changed"), x.business, x.kind);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, events_subscribe& x) {
  return f(caf::meta::type_name("events_subscribe"), x.business, x.feed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, events_unsubscribe& x) {
  return f(caf::meta::type_name("events_unsubscribe"), x.business, x.feed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, events_link& x) {
  return f(caf::meta::type_name("events_link"), x.up);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_change& x) {
  return f(caf::meta::type_name("feed_change"), x.kind, x.key, x.row, x.micros,
           x.json);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_resume_key& x) {
  return f(caf::meta::type_name("feed_resume_key"), x.micros, x.row);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_poll& x) {
  return f(caf::meta::type_name("feed_poll"), x.changes, x.cursor, x.more,
           x.revoked, x.clock);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_result& x) {
  return f(caf::meta::type_name("feed_result"), x.poll, x.err);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, campaign_settings& x) {
  return f(caf::meta::type_name("campaign_settings"), x.id, x.business_id,
           x.kind, x.state, x.max_concurrent, x.attempts, x.retry_after_min,
           x.working_hours);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claimed_lead& x) {
  return f(caf::meta::type_name("claimed_lead"), x.id, x.lead_id, x.phone,
           x.attempt, opt_field(x.since_lead_s));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, claim_result& x) {
  return f(caf::meta::type_name("claim_result"), x.live_campaign, x.live_global,
           x.opted_out, x.claimed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, campaign_ticked& x) {
  return f(caf::meta::type_name("campaign_ticked"), x.error, x.stop, x.why,
           opt_field(x.settings), opt_field(x.claim));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, campaign_dialed& x) {
  return f(caf::meta::type_name("campaign_dialed"), x.row, x.ok, x.call_sid,
           x.error, x.retryable);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, campaign_leased& x) {
  return f(caf::meta::type_name("campaign_leased"), x.error, x.ids);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, after_call_job& x) {
  return f(caf::meta::type_name("after_call_job"), x.call_sid, x.business,
           x.attempts, x.token);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, after_call_claimed& x) {
  return f(caf::meta::type_name("after_call_claimed"), x.jobs);
}

// Secrets are left out of human-readable renderings (logs).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, webhook_claim& x) {
  return f(caf::meta::type_name("webhook_claim"), x.id, x.business, x.event,
           x.body, x.attempts, x.url, caf::meta::omittable(), x.secret);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, webhook_claimed& x) {
  return f(caf::meta::type_name("webhook_claimed"), x.rows, x.error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, webhook_attempt& x) {
  return f(caf::meta::type_name("webhook_attempt"), x.row, x.status, x.error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, webhook_recorded& x) {
  return f(caf::meta::type_name("webhook_recorded"), x.result, x.retry_in);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wa_media_job& x) {
  return f(caf::meta::type_name("wa_media_job"), x.id, x.business, x.provider,
           x.source_ref, x.declared_type, x.attempts, x.account_sid,
           caf::meta::omittable(), x.auth_token);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wa_media_claimed& x) {
  return f(caf::meta::type_name("wa_media_claimed"), x.rows, x.error);
}

} // namespace al

// A store job carries the closure it runs on a database thread (and its
// completion): a function of this process, never serialisable.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(al::db_job)
// The same for a queued write.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(al::db_write_job)

CAF_BEGIN_TYPE_ID_BLOCK(al_jobs, caf::first_custom_type_id + 400)

CAF_ADD_TYPE_ID(al_jobs, (al::flush_request))
CAF_ADD_TYPE_ID(al_jobs, (al::events_changed))
CAF_ADD_TYPE_ID(al_jobs, (al::events_subscribe))
CAF_ADD_TYPE_ID(al_jobs, (al::events_unsubscribe))
CAF_ADD_TYPE_ID(al_jobs, (al::events_link))
CAF_ADD_TYPE_ID(al_jobs, (al::feed_result))
CAF_ADD_TYPE_ID(al_jobs, (al::campaign_ticked))
CAF_ADD_TYPE_ID(al_jobs, (al::campaign_dialed))
CAF_ADD_TYPE_ID(al_jobs, (al::campaign_leased))
CAF_ADD_TYPE_ID(al_jobs, (al::after_call_claimed))
CAF_ADD_TYPE_ID(al_jobs, (al::webhook_claimed))
CAF_ADD_TYPE_ID(al_jobs, (al::webhook_attempt))
CAF_ADD_TYPE_ID(al_jobs, (al::webhook_recorded))
CAF_ADD_TYPE_ID(al_jobs, (al::wa_media_claimed))

CAF_END_TYPE_ID_BLOCK(al_jobs)
