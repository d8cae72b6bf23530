// The dashboard's API extras: GET /api/crm/events, the live events of the
// token's business as server-sent events (actors/event_feed.hpp reads them
// when the instance's LISTEN connection says the business changed; the
// connection streams through request::stream); POST /api/crm/events/ticket,
// a short-lived ticket that opens that stream; GET /api/crm/me, who the
// token is; GET /api/crm/voice/preview, a text spoken by the embedded voice
// (the settings page's "listen").
//
// EventSource cannot set headers, and an API token must never be in a URL
// (proxies log URLs): the dashboard first POSTs for a ticket (bearer in the
// header) and opens `/api/crm/events?ticket=...` with it. A ticket is signed
// (core/stream_ticket.hpp), so any instance accepts it, lives 60 s, and
// names the API token it was issued for: a revoked token's ticket opens
// nothing, and its open streams end (the feed checks at every read). The
// Authorization header still works (and wins over a ticket).
//
// Each event has an `id:`; a client that reconnects sends the last one as
// Last-Event-ID (or, from a new EventSource, `?last_event_id=`) and gets
// what it missed, without duplicates.
//
// Handlers parse and authorise; whether a principal may still stream is
// domain/events.hpp's.
#include "transport/handlers/handlers.hpp"

#include "actors/event_feed.hpp"
#include "actors/voice_cache.hpp"
#include "core/form.hpp"
#include "core/input.hpp"
#include "core/stream_ticket.hpp"
#include "core/tts.hpp"
#include "core/wav.hpp"
#include "domain/events.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <atomic>
#include <chrono>
#include <memory>

namespace al {

namespace {

namespace json = boost::json;

/// How long a client waits before reconnecting (the SSE `retry:` field).
constexpr int reconnect_ms = 3000;

/// Greeting previews: longest text, and how many are synthesised at once
/// (each on its own thread; espeak-ng runs one at a time anyway).
constexpr std::size_t max_preview_bytes = 1000;
constexpr int max_previews = 2;
std::atomic<int> previews_running{0};

/// A preview's actor, on a thread of its own: (speech_atom, text)
/// synthesises the text, answers the request it was spawned for and ends.
using preview_actor
  = caf::typed_actor<caf::reacts_to<speech_atom, std::string>>;

bool blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

/// Synthesises `text` off the io threads and answers with a PCM WAV.
void answer_preview(services& svc, std::string text, const responder& res) {
  if (previews_running.fetch_add(1) >= max_previews) {
    --previews_running;
    return res(error_response(http::status::too_many_requests,
                              "Too many previews at once"));
  }
  auto preview = svc.sys.spawn<caf::detached>(
    [res](preview_actor::pointer self) -> preview_actor::behavior_type {
      return {
        [self, res](speech_atom, const std::string& text) {
          self->quit(); // one text per actor
          std::optional<std::string> audio;
          try {
            audio = synthesize_mulaw(text);
          } catch (...) {
          }
          --previews_running;
          if (!audio)
            return res(error_response(http::status::service_unavailable,
                                      "Speech synthesis unavailable"));
          auto wav = make_response(http::status::ok, mulaw_to_pcm_wav(*audio),
                                   "audio/wav");
          wav.set(http::field::cache_control, "no-store");
          res(std::move(wav));
        },
      };
    });
  caf::anon_send(preview, speech_atom_v, std::move(text));
}

/// The output of a feed: the stream, held weakly, so that a connection that
/// goes away without a word (its io_context stopped) still ends the feed.
feed_output output_of(const std::shared_ptr<body_stream>& body) {
  std::weak_ptr<body_stream> weak = body;
  feed_output out;
  out.push = [weak](std::string chunk) {
    auto b = weak.lock();
    return b && b->push(std::move(chunk));
  };
  out.open = [weak] {
    auto b = weak.lock();
    return b && !b->closed();
  };
  out.close = [weak] {
    if (auto b = weak.lock())
      b->close();
  };
  return out;
}

/// Starts the stream of `p`'s business on `req`'s connection.
void start_events(services& svc, const request_ptr& req, const responder& res,
                  const principal& p, feed_start start) {
  auto body = std::make_shared<body_stream>();
  json::object ready{{"business_id", p.business_id},
                     {"role", std::string{to_string(p.who)}}};
  start.ready = json::serialize(ready); // sent by the feed, with its id
  body->push("retry: " + std::to_string(reconnect_ms) + "\n\n");
  req->stream = body;
  spawn_event_feed(svc.sys, svc.db, svc.events.listener, p.business_id,
                   p.token_id, output_of(body), std::move(start),
                   svc.events.feed);
  auto head = make_response(http::status::ok, {},
                            "text/event-stream; charset=utf-8");
  head.set(http::field::cache_control, "no-store");
  head.set("X-Accel-Buffering", "no"); // nginx: do not buffer the stream
  res(std::move(head));
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Where the client left: the Last-Event-ID header (a reconnecting
/// EventSource), else ?last_event_id= (a new one); nullopt when malformed.
std::optional<feed_start> resume_point(const request& req,
                                       const form_params& q) {
  feed_start start;
  std::string_view id = req.header("Last-Event-ID");
  if (id.empty())
    if (auto v = q.get("last_event_id"))
      id = *v;
  if (id.empty())
    return start;
  start.resume = parse_event_id(id);
  if (!start.resume)
    return std::nullopt;
  return start;
}

/// The principal a ticket stands for.
principal principal_of(const stream_ticket& t) {
  principal p;
  p.who = t.role == "admin" ? role::admin
                            : parse_role(t.role).value_or(role::read_only);
  p.business_id = t.business_id;
  p.token_id = t.token_id;
  return p;
}

/// Runs `then` on the session's thread when `p` may still stream: its API
/// token is not revoked and is of that business (else 401: a ticket
/// outlives nothing), the admin's business exists (else 404).
void when_streamable(services& svc, const request_ptr& req, const principal& p,
                     const responder& res, std::function<void()> then) {
  domain::events::streamable(
    svc.db, p.business_id, p.token_id, p.is_admin(),
    on_session(req, [res, then = std::move(then)](domain_status s) {
      if (!s.ok())
        return res(error_response(s));
      then();
    }));
}

} // namespace

void add_event_routes(router& r, services& svc) {
  auto events = require(
    svc, access::read, [&svc](request_ptr req, responder res, principal p) {
      auto q = parse_form(req->query);
      auto start = q ? resume_point(*req, *q) : std::nullopt;
      if (!start)
        return res(
          error_response(http::status::bad_request, "malformed Last-Event-ID"));
      if (!p.is_admin())
        return start_events(svc, req, res, p, std::move(*start));
      // The admin token names its business: it must exist.
      when_streamable(svc, req, p, res,
                      [&svc, req, res, p, start = std::move(*start)] {
                        start_events(svc, req, res, p, start);
                      });
    });
  r.add(http::verb::get, "/api/crm/events",
        [&svc, events](request_ptr req, responder res) {
          auto q = parse_form(req->query);
          if (!q)
            return res(error_response(http::status::bad_request,
                                      "malformed query string"));
          auto ticket = q->get("ticket");
          if (!req->header(http::field::authorization).empty() || !ticket)
            return events(std::move(req), std::move(res));
          req->client = client_address(*req, svc.cfg.trusted_proxies);
          auto t = verify_stream_ticket(svc.cfg.signing_key(), *ticket,
                                        unix_now());
          if (!t)
            return res(error_response(http::status::unauthorized,
                                      "Invalid or expired stream ticket"));
          auto start = resume_point(*req, *q);
          if (!start)
            return res(error_response(http::status::bad_request,
                                      "malformed Last-Event-ID"));
          auto p = principal_of(*t);
          when_streamable(svc, req, p, res,
                          [&svc, req, res, p, start = std::move(*start)] {
                            start_events(svc, req, res, p, start);
                          });
        });
  r.add(http::verb::post, "/api/crm/events/ticket",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  // A JSON object like every POST (no options yet: `{}`).
                  json_doc doc;
                  simdjson::dom::object body;
                  if (!parse_body(*req, doc, body, res))
                    return;
                  auto issue = [&svc, res, p] {
                    stream_ticket t{p.business_id, p.token_id,
                                    std::string{to_string(p.who)},
                                    unix_now() + stream_ticket_ttl};
                    json::object o{
                      {"ticket", issue_stream_ticket(svc.cfg.signing_key(), t)},
                      {"expires_in", stream_ticket_ttl}};
                    auto ok = json_response(http::status::ok,
                                            json::serialize(o));
                    ok.set(http::field::cache_control, "no-store");
                    res(std::move(ok));
                  };
                  // require() has just checked an API token; the admin
                  // token's business must exist.
                  if (!p.is_admin())
                    return issue();
                  when_streamable(svc, req, p, res, issue);
                }));

  r.add(http::verb::get, "/api/crm/voice/preview",
        require(
          svc, access::read, [&svc](request_ptr req, responder res, principal) {
            auto q = parse_form(req->query);
            if (!q)
              return res(error_response(http::status::bad_request,
                                        "malformed query string"));
            std::string text{q->value_or("text")};
            if (text.size() > max_preview_bytes || !storable_text(text))
              return res(
                error_response(http::status::bad_request,
                               "text must be at most 1000 bytes, without NUL"));
            if (blank(text))
              text = prompts::default_greeting;
            answer_preview(svc, std::move(text), res);
          }));

  r.add(http::verb::get, "/api/crm/me",
        require(svc, access::read, [](request_ptr, responder res, principal p) {
          json::object o{{"business_id", p.business_id},
                         {"role", std::string{to_string(p.who)}},
                         {"token_id", p.token_id}};
          o["can_write"] = allowed(p.who, access::write);
          o["can_manage"] = allowed(p.who, access::manage);
          res(json_response(http::status::ok, json::serialize(o)));
        }));
}

} // namespace al
