// The dashboard's API extras: GET /api/crm/events, the live events of the
// token's business as server-sent events (actors/event_feed.hpp does the
// polling; the connection streams through request::stream);
// GET /api/crm/me, who the token is; GET /api/crm/voice/preview, a text
// spoken by the embedded voice (the settings page's "listen").
//
// EventSource cannot set headers, so /api/crm/events also takes the bearer
// token as `?token=` (a header, when present, wins). The access log records
// paths without query strings, so the token is not logged.
#include "transport/handlers/handlers.hpp"

#include "actors/businesses.hpp"
#include "actors/event_feed.hpp"
#include "actors/voice_cache.hpp"
#include "core/form.hpp"
#include "core/input.hpp"
#include "core/sse.hpp"
#include "core/tts.hpp"
#include "core/wav.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include <atomic>
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
  svc.sys.spawn<caf::detached>(
    [text = std::move(text), res](caf::event_based_actor*) {
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
    });
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
                  const principal& p) {
  auto body = std::make_shared<body_stream>();
  json::object ready{{"business_id", p.business_id},
                     {"role", std::string{to_string(p.who)}}};
  body->push("retry: " + std::to_string(reconnect_ms) + "\n\n"
             + sse_frame("ready", json::serialize(ready)));
  req->stream = body;
  spawn_event_feed(svc.sys, svc.db, p.business_id, p.token_id,
                   output_of(body));
  auto head
    = make_response(http::status::ok, {}, "text/event-stream; charset=utf-8");
  head.set(http::field::cache_control, "no-store");
  head.set("X-Accel-Buffering", "no"); // nginx: do not buffer the stream
  res(std::move(head));
}

} // namespace

void add_event_routes(router& r, services& svc) {
  auto events = require(
    svc, access::read, [&svc](request_ptr req, responder res, principal p) {
      if (!p.is_admin())
        return start_events(svc, req, res, p);
      // The admin token names its business: it must exist.
      auto exists = std::make_shared<bool>(false);
      svc.db.run(
        [exists, b = p.business_id](db_tx& tx) {
          *exists = business_exists(tx, b);
        },
        [&svc, req, res, p, exists](const db_error& err) {
          if (!err.empty())
            return res(db_error_response(err));
          if (!*exists)
            return res(
              error_response(http::status::not_found, "No such business"));
          start_events(svc, req, res, p);
        });
    });
  r.add(http::verb::get, "/api/crm/events",
        [events](request_ptr req, responder res) {
          if (req->header(http::field::authorization).empty()) {
            auto q = parse_form(req->query);
            if (!q)
              return res(error_response(http::status::bad_request,
                                        "malformed query string"));
            if (auto t = q->get("token"); t && !t->empty())
              req->msg.set(http::field::authorization,
                           "Bearer " + std::string{*t});
          }
          events(std::move(req), std::move(res));
        });

  r.add(http::verb::get, "/api/crm/voice/preview",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal) {
                  auto q = parse_form(req->query);
                  if (!q)
                    return res(error_response(http::status::bad_request,
                                              "malformed query string"));
                  std::string text{q->value_or("text")};
                  if (text.size() > max_preview_bytes || !storable_text(text))
                    return res(error_response(
                      http::status::bad_request,
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
