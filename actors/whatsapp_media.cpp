// The WhatsApp media fetcher and the message_media rows.
//
//   idle --poll tick / wake--> claiming --rows--> fetching (N in flight)
//    ^                            |                    |
//    |                            +--none / db error---+--all recorded-->
//    +-------------------------------------------------------------------+
//       (claims again at once when the batch was full or a wake came in
//        meanwhile; otherwise waits for the next tick or wake)
//
// One item's fetch is a chain of provider calls (lookup, redirects,
// download, transcription) that captures only the options and the claimed
// row, never the actor: it ends by writing the outcome and telling the
// actor, which only counts what is in flight.
#include "actors/whatsapp_media.hpp"

#include "actors/log.hpp"
#include "actors/secret_columns.hpp"
#include "actors/sql.hpp"
#include "actors/supervisor.hpp"
#include "core/after_call_wire.hpp"
#include "core/crypto.hpp"

#include <boost/json/object.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <memory>
#include <mutex>

namespace al {
namespace {

using media_job = wa_media_job;

/// What one fetch came to.
struct media_outcome {
  enum class kind { stored, rejected, retry, failed } what = kind::failed;
  std::string content_type;
  std::string bytes;
  std::int64_t size = 0;
  std::string error;
  std::optional<std::string> transcript;
};

namespace json = boost::json;

/// Redirects a download follows (Twilio answers one, to its storage).
constexpr int max_redirects = 3;
/// Final answers of get_following (never retried).
constexpr std::string_view too_many_redirects = "too many redirects";
constexpr std::string_view bad_redirect
  = "the provider redirected to an unusable URL";

// -- SQL, next to its use
// -------------------------------------------------------

constexpr sql_statement insert_media{
  "INSERT INTO message_media (business_id, message_id, idx, content_type,"
  " filename, source_ref) VALUES ($1, $2, $3, $4, $5, $6)"
  " ON CONFLICT (message_id, idx) DO NOTHING"};

// Claiming pushes next_attempt_at to the end of the lease: a claim that is
// never finished (a dead instance) is simply due again after it.
constexpr sql_statement claim_due{
  "WITH due AS (SELECT id FROM message_media"
  "  WHERE status = 'pending' AND next_attempt_at <= now()"
  "  ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
  " UPDATE message_media mm SET attempts = mm.attempts + 1,"
  "  next_attempt_at = now() + $2::float8 * interval '1 millisecond'"
  " FROM due, messages m, businesses b WHERE mm.id = due.id"
  "  AND m.id = mm.message_id AND m.business_id = mm.business_id"
  "  AND b.id = mm.business_id"
  " RETURNING mm.id, mm.business_id, m.provider, mm.source_ref,"
  "  mm.content_type, mm.attempts, coalesce(b.twilio_account_sid, ''),"
  "  b.twilio_auth_token"};

constexpr sql_statement mark_stored{
  "UPDATE message_media SET status = 'stored', content_type = $3,"
  " size_bytes = $4, bytes = $5, transcript = $6, error = '',"
  " fetched_at = now() WHERE id = $1 AND business_id = $2"
  " AND status = 'pending'"};

constexpr sql_statement mark_final{
  "UPDATE message_media SET status = $3,"
  " content_type = coalesce(nullif($4, ''), content_type),"
  " size_bytes = $5, error = $6, fetched_at = now()"
  " WHERE id = $1 AND business_id = $2 AND status = 'pending'"};

// $5: the attempt count of the claim that failed; a claim whose lease ran
// out and was taken again must not reschedule the newer claim.
constexpr sql_statement mark_retry{
  "UPDATE message_media SET error = $4,"
  " next_attempt_at = now() + $3::float8 * interval '1 millisecond'"
  " WHERE id = $1 AND business_id = $2 AND status = 'pending'"
  " AND attempts = $5"};

constexpr sql_statement select_media_of{
  "SELECT message_id, idx, status, content_type, size_bytes, filename,"
  " transcript, error FROM message_media"
  " WHERE business_id = $1 AND message_id = ANY($2::bigint[])"
  " ORDER BY message_id, idx"};

constexpr sql_statement select_media_item{
  "SELECT status, content_type, filename, error,"
  " CASE WHEN status = 'stored' THEN bytes END FROM message_media"
  " WHERE business_id = $1 AND message_id = $2 AND idx = $3"};

// -- the wakers of this process
// -------------------------------------------------

std::mutex wakers_mtx;
std::vector<caf::actor_addr>& wakers() {
  static std::vector<caf::actor_addr> all;
  return all;
}

// -- one fetch
// ------------------------------------------------------------------

using options_ptr = std::shared_ptr<const wa_media_options>;
using outcome_fn = std::function<void(media_outcome)>;

media_outcome outcome(media_outcome::kind k, std::string error) {
  media_outcome o;
  o.what = k;
  o.error = std::move(error);
  return o;
}

/// A provider answer that is not the media: retry what may pass (transport
/// errors, 5xx, 404 before the media is ready, 408, 429), fail the rest.
media_outcome provider_failure(std::string_view provider,
                               const outbound_response& r,
                               std::int64_t max_bytes) {
  using k = media_outcome::kind;
  if (r.error == "response body too large")
    return outcome(k::rejected,
                   "larger than " + std::to_string(max_bytes) + " bytes");
  if (!r.error.empty())
    return outcome(k::retry,
                   std::string{provider}
                     + (r.error == "timeout" ? " timed out"
                                             : " unreachable: " + r.error));
  auto e = std::string{provider} + " answered HTTP " + std::to_string(r.status);
  bool transient = r.status >= 500 || r.status == 404 || r.status == 408
                   || r.status == 429 || r.status == 0;
  return outcome(transient ? k::retry : k::failed, e);
}

std::string header_of(const outbound_response& r, std::string_view name) {
  for (auto& [n, v] : r.headers)
    if (n.size() == name.size()
        && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a))
                    == std::tolower(static_cast<unsigned char>(b));
           }))
      return v;
  return {};
}

/// GET `url`, following at most max_redirects redirects; `auth` goes only
/// to `auth_origin`'s origin. `done` gets the final answer.
void get_following(options_ptr opts, std::string url, std::string auth,
                   std::string auth_origin, int hops,
                   std::function<void(outbound_response)> done) {
  outbound_request req;
  req.method = "GET";
  req.url = url;
  req.timeout = opts->timeout;
  req.body_limit = static_cast<std::size_t>(opts->max_bytes);
  if (!auth.empty() && wa_same_origin(url, auth_origin))
    req.headers.emplace_back("Authorization", auth);
  opts->http(std::move(req),
             [opts, url, auth, auth_origin, hops, done](outbound_response res) {
               bool redirect = res.error.empty()
                               && (res.status == 301 || res.status == 302
                                   || res.status == 303 || res.status == 307
                                   || res.status == 308);
               if (!redirect)
                 return done(std::move(res));
               outbound_response bad;
               auto next = wa_media_redirect(url, header_of(res, "Location"));
               if (!next || !wa_media_url_error(*next, "redirect").empty()) {
                 bad.error = std::string{bad_redirect};
                 return done(std::move(bad));
               }
               if (hops >= max_redirects) {
                 bad.error = std::string{too_many_redirects};
                 return done(std::move(bad));
               }
               get_following(opts, *next, auth, auth_origin, hops + 1, done);
             });
}

/// The downloaded body, checked against the cap and the allow-list, and a
/// voice note transcribed.
void accept_body(options_ptr opts, const media_job& job,
                 std::string lookup_type, outbound_response res,
                 outcome_fn done) {
  using k = media_outcome::kind;
  if (!res.ok()) {
    if (res.error == too_many_redirects || res.error == bad_redirect)
      return done(outcome(k::failed, std::move(res.error)));
    return done(provider_failure(job.provider, res, opts->max_bytes));
  }
  media_outcome o;
  o.content_type = wa_media_base_type(header_of(res, "Content-Type"));
  if (o.content_type.empty() || o.content_type == "application/octet-stream")
    o.content_type = !lookup_type.empty() ? lookup_type : job.declared_type;
  o.size = static_cast<std::int64_t>(res.body.size());
  if (o.size > opts->max_bytes)
    return done(
      outcome(k::rejected,
              "larger than " + std::to_string(opts->max_bytes) + " bytes"));
  if (!wa_media_type_allowed(o.content_type)) {
    auto r = outcome(k::rejected,
                     "content type not allowed: "
                       + (o.content_type.empty() ? std::string{"(none)"}
                                                 : o.content_type));
    r.content_type = o.content_type.substr(0, 128);
    r.size = o.size;
    return done(std::move(r));
  }
  o.what = k::stored;
  o.bytes = std::move(res.body);
  if (!wa_media_is_audio(o.content_type) || opts->stt_api_base.empty()
      || !opts->http)
    return done(std::move(o));
  // A voice note: its text, when the STT server gives one.
  std::vector<form_part> parts;
  parts.push_back(
    {"file", o.bytes, wa_media_audio_filename(o.content_type), o.content_type});
  parts.push_back({"model", opts->stt_model, {}, {}});
  parts.push_back({"language", "he", {}, {}});
  parts.push_back({"response_format", "json", {}, {}});
  auto body = build_multipart(parts, "al-" + crypto::random_token(18));
  if (!body)
    return done(std::move(o));
  outbound_request req;
  req.method = "POST";
  auto base = opts->stt_api_base;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  req.url = base + "/audio/transcriptions";
  req.headers.emplace_back("Content-Type", body->content_type);
  if (!opts->stt_api_key.empty())
    req.headers.emplace_back("Authorization", "Bearer " + opts->stt_api_key);
  req.body = std::move(body->body);
  req.timeout = opts->timeout;
  auto shared = std::make_shared<media_outcome>(std::move(o));
  auto id = job.id;
  opts->http(std::move(req), [shared, done, id](outbound_response r) {
    if (r.ok())
      shared->transcript = transcription_text(r.body);
    if (!shared->transcript)
      log_safe(spdlog::level::info, "whatsapp media {}: no transcript (stt {})",
               id,
               r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error);
    done(std::move(*shared));
  });
}

void fetch_twilio(options_ptr opts, const media_job& job, outcome_fn done) {
  using k = media_outcome::kind;
  if (auto err = wa_media_url_error(job.source_ref, "MediaUrl"); !err.empty())
    return done(outcome(k::failed, err));
  auto sid = job.account_sid;
  auto token = job.auth_token;
  if (sid.empty() || token.empty()) {
    sid = opts->twilio_account_sid;
    token = opts->twilio_auth_token;
  }
  std::string auth;
  if (!sid.empty() && !token.empty())
    auth = "Basic " + crypto::base64_encode(sid + ":" + token);
  get_following(opts, job.source_ref, auth, job.source_ref, 0,
                [opts, job, done](outbound_response res) {
                  accept_body(opts, job, {}, std::move(res), done);
                });
}

void fetch_meta(options_ptr opts, const media_job& job, outcome_fn done) {
  using k = media_outcome::kind;
  if (opts->meta_token.empty() || opts->meta_api_base.empty())
    return done(outcome(k::failed, "meta is not configured"));
  auto base = opts->meta_api_base;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  auto bearer = "Bearer " + opts->meta_token;
  outbound_request req;
  req.method = "GET";
  req.url = base + "/"
            + boost::urls::encode(job.source_ref,
                                  boost::urls::unreserved_chars);
  req.timeout = opts->timeout;
  req.headers.emplace_back("Authorization", bearer);
  opts->http(std::move(req), [opts, job, done, bearer](outbound_response res) {
    if (!res.ok())
      return done(provider_failure("meta", res, opts->max_bytes));
    auto info = parse_meta_media_lookup(res.body);
    if (!info)
      return done(outcome(media_outcome::kind::retry,
                          "meta answered the media lookup without a url"));
    if (info->file_size > opts->max_bytes) {
      auto r
        = outcome(media_outcome::kind::rejected,
                  "larger than " + std::to_string(opts->max_bytes) + " bytes");
      r.size = info->file_size;
      r.content_type = info->mime_type.substr(0, 128);
      return done(std::move(r));
    }
    if (!info->mime_type.empty() && !wa_media_type_allowed(info->mime_type)) {
      auto r = outcome(media_outcome::kind::rejected,
                       "content type not allowed: " + info->mime_type);
      r.content_type = info->mime_type.substr(0, 128);
      return done(std::move(r));
    }
    if (auto err = wa_media_url_error(info->url, "url"); !err.empty())
      return done(outcome(media_outcome::kind::failed, "meta media " + err));
    // Meta's download URL wants the same bearer token.
    get_following(opts, info->url, bearer, info->url, 0,
                  [opts, job, done,
                   type = info->mime_type](outbound_response res) {
                    accept_body(opts, job, type, std::move(res), done);
                  });
  });
}

/// The wait before retry number `attempts` (1 after the first failure).
std::chrono::milliseconds backoff(int attempts,
                                  std::chrono::milliseconds base) {
  auto wait = base;
  for (int i = 1; i < attempts && wait < std::chrono::hours(1); ++i)
    wait *= 2;
  return std::min<std::chrono::milliseconds>(wait, std::chrono::hours(1));
}

/// Writes the outcome, then tells `me`.
void record(options_ptr opts, const media_job& job, media_outcome o,
            wa_media_fetcher_actor me) {
  using k = media_outcome::kind;
  if (o.what == k::retry && job.attempts >= opts->max_attempts)
    o.what = k::failed;
  if (o.error.size() > 300)
    o.error.resize(300);
  if (o.what != k::stored)
    log_safe(spdlog::level::info, "whatsapp media {} of business {}: {}{}",
             job.id, job.business, o.error,
             o.what == k::retry ? " (will retry)" : "");
  auto shared = std::make_shared<media_outcome>(std::move(o));
  auto wait
    = static_cast<double>(backoff(job.attempts, opts->retry_base).count());
  opts->db.run(
    [shared, job, wait](db_tx& tx) {
      auto& o = *shared;
      switch (o.what) {
        case k::stored: {
          std::optional<std::string> transcript = o.transcript;
          exec(tx, mark_stored, job.id, job.business, o.content_type, o.size,
               pqxx::binarystring{o.bytes.data(), o.bytes.size()}, transcript);
          break;
        }
        case k::retry:
          exec(tx, mark_retry, job.id, job.business, wait, o.error,
               job.attempts);
          break;
        case k::rejected:
        case k::failed:
          exec(tx, mark_final, job.id, job.business,
               std::string{o.what == k::rejected ? "rejected" : "failed"},
               o.content_type, o.size, o.error);
          break;
      }
    },
    [me, job, shared, wait](const db_error& err) {
      if (!err.empty())
        log_safe(spdlog::level::warn,
                 "whatsapp media {}: outcome not written ({}); due again"
                 " after the lease",
                 job.id, first_line(err));
      caf::anon_send(me, finished_atom_v);
      if (shared->what == media_outcome::kind::retry)
        caf::delayed_anon_send(
          me, std::chrono::milliseconds(static_cast<std::int64_t>(wait) + 5),
          wake_atom_v);
    });
}

void fetch(options_ptr opts, media_job job, wa_media_fetcher_actor me) {
  auto done = [opts, job, me](media_outcome o) {
    record(opts, job, std::move(o), me);
  };
  if (!opts->http)
    return done(outcome(media_outcome::kind::retry, "no HTTP client"));
  if (job.provider == "meta")
    fetch_meta(opts, job, done);
  else
    fetch_twilio(opts, job, done);
}

// -- the actor
// ------------------------------------------------------------------

struct fetcher_state {
  options_ptr opts;
  bool claiming = false;
  int in_flight = 0;
  bool again = false;
  bool batch_full = false;
  bool db_failing = false;

  static inline const char* name = "wa_media_fetcher";
};

using fetcher_actor = wa_media_fetcher_actor::stateful_pointer<fetcher_state>;

void claim(fetcher_actor self) {
  auto& st = self->state;
  st.claiming = true;
  st.again = false;
  auto rows = std::make_shared<std::vector<media_job>>();
  auto me = caf::actor_cast<wa_media_fetcher_actor>(self);
  st.opts->db.run(
    [rows, batch = st.opts->batch,
     lease = static_cast<double>(st.opts->lease.count())](db_tx& tx) {
      for (auto r : exec(tx, claim_due, batch, lease)) {
        media_job j;
        j.id = r[0].as<std::int64_t>();
        j.business = r[1].as<std::int64_t>();
        j.provider = r[2].c_str();
        j.source_ref = r[3].c_str();
        j.declared_type = r[4].c_str();
        j.attempts = r[5].as<int>();
        j.account_sid = r[6].c_str();
        j.auth_token = secret_or_empty(r[7], "twilio_auth_token");
        rows->push_back(std::move(j));
      }
    },
    [me, rows](const db_error& err) {
      caf::anon_send(me, wa_media_claimed{std::move(*rows), err});
    });
}

void maybe_claim(fetcher_actor self) {
  auto& st = self->state;
  if (st.claiming || st.in_flight > 0) {
    st.again = true;
    return;
  }
  claim(self);
}

wa_media_fetcher_actor::behavior_type fetcher(fetcher_actor self,
                                              options_ptr opts) {
  auto& st = self->state;
  st.opts = std::move(opts);
  {
    std::lock_guard<std::mutex> lock{wakers_mtx};
    wakers().push_back(self->address());
  }
  self->attach_functor([addr = self->address()] {
    std::lock_guard<std::mutex> lock{wakers_mtx};
    auto& all = wakers();
    all.erase(std::remove(all.begin(), all.end(), addr), all.end());
  });
  self->send(self, tick_atom_v);
  return {
    [self](tick_atom) {
      maybe_claim(self);
      self->delayed_send(self, self->state.opts->poll, tick_atom_v);
    },
    [self](wake_atom) { maybe_claim(self); },
    [self](wa_media_claimed& c) {
      auto& st = self->state;
      st.claiming = false;
      if (!c.error.empty()) {
        if (!st.db_failing)
          log_safe(spdlog::level::warn, "whatsapp media: cannot claim: {}",
                   first_line(c.error));
        st.db_failing = true;
        return; // the next tick tries again
      }
      st.db_failing = false;
      st.batch_full = static_cast<int>(c.rows.size()) >= st.opts->batch;
      st.in_flight = static_cast<int>(c.rows.size());
      auto me = caf::actor_cast<wa_media_fetcher_actor>(self);
      for (auto& r : c.rows)
        fetch(st.opts, std::move(r), me);
      if (st.in_flight == 0 && st.again)
        claim(self);
    },
    [self](finished_atom) {
      auto& st = self->state;
      if (--st.in_flight > 0)
        return;
      st.in_flight = 0;
      if (st.again || st.batch_full)
        claim(self);
    },
  };
}

/// "{1,2,3}": a bigint[] parameter.
std::string id_array(const std::vector<std::int64_t>& ids) {
  std::string out = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i)
      out.push_back(',');
    out += std::to_string(ids[i]);
  }
  return out + "}";
}

} // namespace

child_spec wa_media_fetcher_spec(wa_media_options opts) {
  if (opts.batch < 1)
    opts.batch = 1;
  if (opts.max_attempts < 1)
    opts.max_attempts = 1;
  // A claim outlives a whole fetch: lookup, redirects, download, STT.
  opts.lease = std::max(opts.lease, opts.timeout * (max_redirects + 4));
  auto shared = std::make_shared<const wa_media_options>(std::move(opts));
  child_spec spec;
  spec.key = "wa_media_fetcher";
  spec.spawn = [shared](caf::actor_system& sys) {
    return caf::actor_cast<caf::actor>(sys.spawn(fetcher, shared));
  };
  return spec;
}

void wake_wa_media_fetchers() {
  std::vector<caf::actor_addr> all;
  {
    std::lock_guard<std::mutex> lock{wakers_mtx};
    all = wakers();
  }
  for (auto& addr : all)
    if (auto me = caf::actor_cast<wa_media_fetcher_actor>(addr))
      caf::anon_send(me, wake_atom_v);
}

void insert_wa_media(db_tx& tx, std::int64_t business, std::int64_t message,
                     const std::vector<wa_media_item>& items) {
  int idx = 0;
  for (auto& item : items) {
    if (static_cast<std::size_t>(idx) >= wa_max_media_items)
      break;
    exec(tx, insert_media, business, message, idx++, item.content_type,
         item.filename, item.source_ref);
  }
}

std::map<std::int64_t, json::array>
wa_media_of(db_tx& tx, std::int64_t business,
            const std::vector<std::int64_t>& messages) {
  std::map<std::int64_t, json::array> out;
  if (messages.empty())
    return out;
  for (auto r : exec(tx, select_media_of, business, id_array(messages))) {
    auto message = r[0].as<std::int64_t>();
    auto idx = r[1].as<int>();
    json::object o{{"idx", idx},
                   {"status", r[2].c_str()},
                   {"content_type", r[3].c_str()},
                   {"size", r[4].as<std::int64_t>()},
                   {"filename", r[5].c_str()},
                   {"transcript", nullptr},
                   {"error", nullptr},
                   {"url", "/api/crm/messages/" + std::to_string(message)
                             + "/media/" + std::to_string(idx)}};
    if (!r[6].is_null())
      o["transcript"] = r[6].c_str();
    if (std::string_view err = r[7].c_str(); !err.empty())
      o["error"] = err;
    out[message].push_back(std::move(o));
  }
  return out;
}

std::optional<wa_media_blob> load_wa_media(db_tx& tx, std::int64_t business,
                                           std::int64_t message, int idx) {
  auto r = exec(tx, select_media_item, business, message, idx);
  if (r.empty())
    return std::nullopt;
  wa_media_blob b;
  b.status = r[0][0].c_str();
  b.content_type = r[0][1].c_str();
  b.filename = r[0][2].c_str();
  b.error = r[0][3].c_str();
  if (!r[0][4].is_null()) {
    pqxx::binarystring bytes{r[0][4]};
    b.bytes = bytes.str();
  }
  return b;
}

} // namespace al
