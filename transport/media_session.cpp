#include "transport/media_session.hpp"

#include "actors/call.hpp"
#include "actors/call_protocol.hpp"
#include "actors/log.hpp"
#include "actors/type_ids.hpp"
#include "core/call_token.hpp"
#include "core/media_frame.hpp"
#include "core/media_out.hpp"
#include "core/mulaw.hpp"
#include "core/twilio_signature.hpp"
#include "core/url_builder.hpp"
#include "domain/calls.hpp"
#include "transport/dispatcher.hpp"
#include "transport/media_pacer.hpp"
#include "transport/services.hpp"

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

namespace al {

namespace {

constexpr auto frame_period = std::chrono::milliseconds(20);
constexpr std::uint64_t max_bad_frames = 50;

/// The actor's handle on one media socket: posts everything to its io
/// thread; harmless once the socket is gone.
class socket_sink : public media_sink {
public:
  explicit socket_sink(const std::shared_ptr<websocket_session>& ws)
    : ws_(ws)
    , ex_(ws->executor()) {}

  void bind(call_actor call) override {
    with([call = std::move(call)](websocket_session&, media_session& m) {
      m.bind(call);
    });
  }

  void play(audio_ptr audio, std::string mark) override {
    with([audio = std::move(audio), mark = std::move(mark)](
           websocket_session& ws, media_session& m) mutable {
      m.play(ws, std::move(audio), std::move(mark));
    });
  }

  void clear() override {
    with([](websocket_session& ws, media_session& m) { m.clear(ws); });
  }

  void close() override {
    with([](websocket_session& ws, media_session& m) { m.close(ws); });
  }

  void want_all_audio(bool on) override {
    with([on](websocket_session&, media_session& m) { m.want_all_audio(on); });
  }

private:
  template <class F>
  void with(F fn) {
    net::post(ex_, [weak = ws_, fn = std::move(fn)]() mutable {
      if (auto ws = weak.lock())
        fn(*ws, static_cast<media_session&>(ws->handler()));
    });
  }

  std::weak_ptr<websocket_session> ws_;
  net::any_io_executor ex_;
};

energy_vad::options vad_options() {
  return energy_vad::options{};
}

} // namespace

media_session::media_session(services& svc)
  : svc_(svc)
  , vad_(vad_options()) {
  batch_.reserve(batch_frames * mulaw::frame_bytes);
}

template <class... Ts>
void media_session::to_call(Ts&&... xs) {
  if (!call_) {
    if (pending_.size() < 256)
      pending_.push_back(make_call_message(std::forward<Ts>(xs)...));
    return;
  }
  caf::anon_send(call_, std::forward<Ts>(xs)...);
}

void media_session::on_open(websocket_session& ws) {
  opened_at_ = std::chrono::steady_clock::now();
  self_ = std::static_pointer_cast<websocket_session>(ws.shared_from_this());
  log_safe(spdlog::level::info, "WS_CONNECTED /ws/twilio-media");
}

namespace {

/// The I/O thread's parser and frame: every session of the thread parses
/// with them (the parser's buffers and the frame's strings stay in cache,
/// and no call carries their kilobytes). Nothing keeps a reference past
/// the handling of one frame.
struct io_parse {
  media_frame_parser parser;
  media_frame frame;
};

io_parse& thread_parse() {
  thread_local io_parse p;
  return p;
}

} // namespace

void media_session::on_message(websocket_session& ws, std::string_view data,
                               bool is_text) {
  ++frames_in_;
  auto& io = thread_parse();
  auto& frame = io.frame;
  // In place: the session's read buffer has the padding simdjson reads.
  static_assert(websocket_session::read_padding >= simdjson::SIMDJSON_PADDING);
  auto err = io.parser.parse(data.data(), data.size(),
                             data.size() + websocket_session::read_padding,
                             frame);
  if (err != media_error::ok || !is_text) {
    // A bad frame is dropped; a stream of them ends the session.
    if (++bad_frames_ == max_bad_frames)
      ws.close(websocket::close_code::policy_error, "too many bad frames");
    if (bad_frames_ <= 3)
      log_safe(spdlog::level::warn, "media frame ignored: {}",
               is_text ? to_string(err) : "binary frame");
    return;
  }
  switch (frame.event) {
    case media_event::start:
      return on_start(ws, frame);
    case media_event::media:
      return on_media(frame);
    case media_event::mark:
      if (started_)
        to_call(mark_atom_v, frame.mark_name);
      return;
    case media_event::dtmf:
      if (started_)
        to_call(dtmf_atom_v, frame.dtmf_digit);
      return;
    case media_event::stop:
      stop_seen_ = true;
      if (started_ && batch_count_ > 0) {
        // The last (< 100 ms) audio, for the turn or the recording.
        to_call(audio_atom_v, std::move(batch_));
        batch_ = std::string{};
        batch_count_ = 0;
      }
      if (started_)
        to_call(hangup_atom_v, std::string{"stop"});
      return;
    case media_event::connected:
    case media_event::unknown:
      return;
  }
}

// `start`: verify the call token, then attach to (or revive) the call actor.
void media_session::on_start(websocket_session& ws, const media_frame& f) {
  if (started_)
    return;
  auto token = f.custom_parameter("call_token");
  if (!token
      || !verify_call_token(svc_.cfg.signing_key(), f.call_sid, *token)) {
    log_safe(spdlog::level::warn,
             "media stream for call {} refused: bad or missing call token",
             f.call_sid);
    ws.close(websocket::close_code::policy_error, "invalid call token");
    return;
  }
  started_ = true;
  start_at_ = std::chrono::steady_clock::now();
  call_sid_ = f.call_sid;
  stream_sid_ = f.stream_sid;
  media_json_ = media_json_writer{stream_sid_};
  auto sink = std::make_shared<socket_sink>(self_.lock());
  auto cp = std::make_shared<call_checkpoint>();
  cp->info.call_sid = call_sid_;
  // The greeting incoming_call left here plays now, on this thread: the
  // caller hears it without waiting for the actor, which is told its mark.
  std::string greeting_mark;
  if (auto voice = svc_.greetings.take(call_sid_); voice && voice->greeting) {
    greeting_mark = first_utterance_mark;
    play(ws, voice->greeting, greeting_mark);
  }
  // Find the call actor made by incoming_call, or revive one from the
  // database (the webhook may have reached another instance).
  caf::anon_send(svc_.call_manager, spawn_atom_v, std::move(cp),
                 make_call_message(attach_atom_v, stream_sid_,
                                   media_sink_ptr{sink},
                                   std::move(greeting_mark)));
}

// `media`: VAD on this thread; speech edges at once, audio in batches.
void media_session::on_media(const media_frame& f) {
  if (!started_)
    return; // media before start: ignored
  if (++unflushed_in_ >= metrics_every)
    flush_metrics();
  auto ev = vad_.feed(f.payload);
  if (ev == energy_vad::event::speech_start) {
    // Hearing everything (the AI, a recording): the audio before the turn
    // goes first, so the turn the actor keeps starts where it did before.
    if (all_audio_ && batch_count_ > 0) {
      to_call(audio_atom_v, std::move(batch_));
      batch_ = std::string{};
      batch_.reserve(batch_frames * mulaw::frame_bytes);
      batch_count_ = 0;
    }
    to_call(speech_atom_v, true);
  }
  if (!all_audio_ && !vad_.speaking() && ev != energy_vad::event::speech_stop)
    return; // silence nobody listens to: no message, no thread hand-off
  batch_ += f.payload;
  if (++batch_count_ >= batch_frames || ev == energy_vad::event::speech_stop) {
    to_call(audio_atom_v, std::move(batch_));
    batch_ = std::string{};
    batch_.reserve(batch_frames * mulaw::frame_bytes);
    batch_count_ = 0;
  }
  if (ev == energy_vad::event::speech_stop)
    to_call(speech_atom_v, false);
}

void media_session::bind(call_actor call) {
  call_ = std::move(call);
  // Each was built by make_call_message: a message of call_actor's
  // interface, sent as it was built.
  auto dynamic = caf::actor_cast<caf::actor>(call_);
  for (auto& msg : pending_)
    caf::anon_send(dynamic, std::move(msg));
  pending_.clear();
  if (closed_) // the socket ended before the actor bound
    caf::anon_send(call_, hangup_atom_v,
                   std::string{stop_seen_ ? "stop" : "socket closed"});
}

void media_session::play(websocket_session& ws, audio_ptr audio,
                         std::string mark) {
  if (!ws.open() || !audio)
    return;
  queue_.push_back(utterance{std::move(audio), 0, std::move(mark)});
  if (pacing_)
    return;
  // A new run: a small lead at once, then one frame per tick.
  pacing_ = true;
  run_start_ = std::chrono::steady_clock::now();
  run_frames_ = 0;
  last_frame_at_ = {};
  tick(ws, run_start_);
  media_pacer::local(ws.executor())
    .add(std::static_pointer_cast<websocket_session>(ws.shared_from_this()));
}

bool media_session::send_frame(websocket_session& ws,
                               std::chrono::steady_clock::time_point now) {
  auto& u = queue_.front();
  auto n = std::min(mulaw::frame_bytes, u.audio->size() - u.offset);
  // Built straight into a buffer the socket recycles: no allocation.
  std::string_view chunk{u.audio->data() + u.offset, n};
  if (!ws.send_with([&](std::string& out) { media_json_.append(out, chunk); }))
    return false;
  u.offset += n;
  ++run_frames_;
  ++frames_out_;
  if (++unflushed_out_ >= metrics_every)
    flush_metrics();
  if (last_frame_at_ != std::chrono::steady_clock::time_point{}
      && now - last_frame_at_ > 2 * frame_period)
    svc_.m.late_frames.Increment();
  last_frame_at_ = now;
  if (!first_audio_sent_) {
    first_audio_sent_ = true;
    svc_.m.first_audio.Observe(
      std::chrono::duration<double>(now - start_at_).count());
  }
  if (u.offset >= u.audio->size()) {
    ws.send_with(
      [&](std::string& out) { append_mark_json(out, stream_sid_, u.mark); });
    queue_.pop_front();
  }
  return true;
}

bool media_session::tick(websocket_session& ws,
                         std::chrono::steady_clock::time_point now) {
  if (!pacing_)
    return false;
  // Frames due since the run started, plus the lead (a pacer pass whose
  // clock was read before this run started owes nothing beyond the lead).
  auto since = now > run_start_ ? (now - run_start_) / frame_period : 0;
  auto due = static_cast<std::uint64_t>(lead_frames)
             + static_cast<std::uint64_t>(since);
  while (run_frames_ < due && !queue_.empty())
    if (!send_frame(ws, now))
      break;
  if (queue_.empty())
    pacing_ = false;
  return pacing_;
}

std::size_t media_session::queued_frames() const noexcept {
  std::size_t bytes = 0;
  for (auto& u : queue_)
    bytes += u.audio->size() - u.offset;
  return (bytes + mulaw::frame_bytes - 1) / mulaw::frame_bytes;
}

void media_session::clear(websocket_session& ws) {
  queue_.clear();
  pacing_ = false;
  if (!ws.open())
    return;
  ws.send_with([&](std::string& out) { append_clear_json(out, stream_sid_); });
}

void media_session::close(websocket_session& ws) {
  queue_.clear();
  pacing_ = false;
  ws.close(websocket::close_code::normal, "call finished");
}

// Prometheus counters are atomics that every io thread adds to: once per
// second of audio per call (and at the end), not once per 20 ms frame.
void media_session::flush_metrics() {
  if (unflushed_in_ > 0)
    svc_.m.media_frames_in.Increment(unflushed_in_);
  if (unflushed_out_ > 0)
    svc_.m.media_frames_out.Increment(unflushed_out_);
  unflushed_in_ = 0;
  unflushed_out_ = 0;
}

void media_session::on_close(websocket_session& ws, std::string_view reason) {
  closed_ = true;
  flush_metrics();
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                            - opened_at_)
                .count();
  log_safe(spdlog::level::info,
           "WS_END /ws/twilio-media call_sid={} stream_sid={} seconds={:.1f}"
           " frames_in={} frames_out={} reason={}",
           call_sid_.empty() ? "-" : call_sid_,
           stream_sid_.empty() ? "-" : stream_sid_, secs, frames_in_,
           frames_out_, reason);
  if (started_ && call_)
    caf::anon_send(call_, hangup_atom_v,
                   std::string{stop_seen_ ? "stop" : std::string{reason}});
}

namespace {

void refuse_upgrade(beast::tcp_stream stream, http::status status,
                    const char* why) {
  auto res = std::make_shared<http_response>(error_response(status, why));
  res->keep_alive(false);
  auto s = std::make_shared<beast::tcp_stream>(std::move(stream));
  http::async_write(*s, *res, [s, res](beast::error_code, std::size_t) {
    beast::error_code ec;
    s->socket().shutdown(tcp::socket::shutdown_both, ec);
  });
}

/// The business named by "/ws/twilio-media/{id}"; 0 for the bare path,
/// -1 for a segment that is not a business id.
std::int64_t business_of_path(std::string_view target) {
  target = target.substr(0, target.find('?'));
  constexpr std::string_view base = "/ws/twilio-media";
  if (target.size() <= base.size() + 1)
    return 0;
  auto tail = target.substr(base.size() + 1);
  if (tail.empty() || tail.size() > 18)
    return tail.empty() ? 0 : -1;
  std::int64_t id = 0;
  for (char c : tail) {
    if (c < '0' || c > '9')
      return -1;
    id = id * 10 + (c - '0');
  }
  return id > 0 ? id : -1;
}

} // namespace

void add_media_websocket(dispatcher& d, services& svc) {
  auto open = [&svc](beast::tcp_stream stream, http_request req,
                     session_registry& registry) {
    websocket_options opts;
    opts.subprotocol = "audio.twilio.com";
    opts.ping_interval = svc.cfg.ws_ping_interval;
    opts.idle_timeout = svc.cfg.ws_idle_timeout;
    opts.queue_limit = 4096;
    std::make_shared<websocket_session>(std::move(stream), std::move(req), opts,
                                        registry,
                                        std::make_unique<media_session>(svc))
      ->run();
  };
  // Twilio signs the upgrade too (PROTOCOLS §3.4); when it does, the
  // signature must hold for the token of the business that owns the call:
  // the global one on the bare path, the business's own account on
  // /ws/twilio-media/{business id} (the TwiML names it). The call token in
  // `start` is checked either way.
  auto accept = [&svc, open](beast::tcp_stream stream, http_request req,
                             session_registry& registry) {
    auto header = req.find("X-Twilio-Signature");
    auto business = business_of_path(std::string_view{req.target()});
    if (business < 0)
      return refuse_upgrade(std::move(stream), http::status::not_found,
                            "Not found");
    if (header == req.end())
      return open(std::move(stream), std::move(req), registry);
    auto url = svc.urls->ws(std::string_view{req.target()});
    std::string signature{header->value()};
    auto valid = [url, signature](const std::string& token) {
      return !token.empty()
             && verify_twilio_signature(token, url, form_params{}, signature);
    };
    if (business == 0) {
      if (valid(svc.cfg.twilio_auth_token))
        return open(std::move(stream), std::move(req), registry);
      log_safe(spdlog::level::warn,
               "media upgrade refused: bad X-Twilio-Signature");
      return refuse_upgrade(std::move(stream), http::status::forbidden,
                            "Invalid signature");
    }
    if (auto token = svc.tenant_tokens.get(business); token && valid(*token))
      return open(std::move(stream), std::move(req), registry);
    // Not known here yet (incoming_call ran on another instance) or the
    // token changed: read it, then continue on this connection's thread.
    auto s = std::make_shared<beast::tcp_stream>(std::move(stream));
    auto r = std::make_shared<http_request>(std::move(req));
    auto ex = s->get_executor();
    domain::calls::account_of_business(
      svc.db, business,
      [ex, s, r, valid, open, &registry, &svc,
       business](domain::calls::account_result found) {
        // Unknown (or no database): no token, the upgrade is refused.
        std::string token;
        if (found.own) {
          // Its own account when it has both (as in the webhooks).
          token = domain::calls::account_of(svc.cfg, *found.own).auth_token;
          if (domain::calls::has_own_account(*found.own))
            svc.tenant_tokens.put(business, token);
        }
        net::post(ex, [s, r, token = std::move(token), valid, open, &registry,
                       &svc] {
          if (svc.draining)
            return refuse_upgrade(std::move(*s),
                                  http::status::service_unavailable,
                                  "Shutting down");
          if (valid(token))
            return open(std::move(*s), std::move(*r), registry);
          log_safe(spdlog::level::warn,
                   "media upgrade refused: bad X-Twilio-Signature (business"
                   " account)");
          refuse_upgrade(std::move(*s), http::status::forbidden,
                         "Invalid signature");
        });
      });
  };
  d.add_websocket("/ws/twilio-media", accept);
  d.add_websocket("/ws/twilio-media/", accept);
  d.add_websocket("/ws/twilio-media/*", accept);
}

} // namespace al
