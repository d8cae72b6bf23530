#include "actors/openai_engine.hpp"

#include "actors/log.hpp"
#include "core/mulaw.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace al {

namespace {

constexpr char silence_byte = static_cast<char>(0xFF); // mu-law zero

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

/// Errors our own cancel/truncate races cause: not a reason to fall back.
bool benign(const realtime_event& ev) {
  return ev.error_code == "response_cancel_not_active"
         || ev.error_code == "conversation_already_has_active_response"
         || starts_with(ev.error_event_id, "al_cancel_")
         || starts_with(ev.error_event_id, "al_trunc_");
}

std::string clip(std::string s, std::size_t n) {
  if (s.size() > n)
    s.resize(n);
  return s;
}

} // namespace

openai_engine::openai_engine(engine_host& host, openai_engine_options opts)
  : host_(host)
  , opts_(std::move(opts)) {}

openai_engine::~openai_engine() {
  if (link_)
    link_->close();
}

realtime_connect_request openai_engine::connect_request() const {
  realtime_connect_request req;
  req.url = realtime_url(opts_.url, opts_.model);
  req.headers.emplace_back("Authorization", "Bearer " + opts_.api_key);
  if (!opts_.ga)
    req.headers.emplace_back("OpenAI-Beta", "realtime=v1");
  req.timeout = std::max(opts_.open_timeout * 2,
                         std::chrono::milliseconds(3000));
  return req;
}

void openai_engine::start(realtime_link_ptr link) {
  if (phase_ != phase::idle)
    return;
  phase_ = phase::connecting;
  link_ = std::move(link);
  if (!link_)
    return fail("no connection");
  open_timer_ = arm(opts_.open_timeout);
}

std::uint64_t openai_engine::arm(std::chrono::milliseconds after) {
  auto token = ++next_token_;
  host_.schedule(after, token);
  return token;
}

void openai_engine::arm_reply() {
  if (!active() || ending_)
    return;
  reply_timer_ = arm(opts_.reply_timeout);
}

void openai_engine::send(std::string text) {
  if (link_ && phase_ == phase::live)
    link_->send(std::move(text));
}

void openai_engine::fail(const std::string& reason) {
  if (!active())
    return;
  bool was_speaking = speaking();
  phase_ = phase::failed;
  open_timer_ = reply_timer_ = end_timer_ = 0;
  if (link_) {
    link_->close();
    link_.reset();
  }
  parts_.clear();
  frames_.clear();
  buffered_.clear();
  if (was_speaking)
    host_.clear();
  host_.fallback(reason);
}

void openai_engine::stop() {
  if (phase_ == phase::stopped)
    return;
  phase_ = phase::stopped;
  open_timer_ = reply_timer_ = end_timer_ = 0;
  if (link_) {
    link_->close();
    link_.reset();
  }
}

// -- the link -----------------------------------------------------------------

void openai_engine::on_link_open() {
  if (phase_ != phase::connecting)
    return;
  phase_ = phase::live;
  open_timer_ = 0;
  log_safe(spdlog::level::info, "call {}: openai realtime session open",
           opts_.log_name);
  realtime_session_options s;
  s.instructions = opts_.instructions;
  s.ga = opts_.ga;
  s.model = opts_.model;
  s.voice = opts_.voice;
  send(realtime_session_update(s));
  // What the caller said while we connected, in 100 ms appends.
  for (std::size_t at = 0; at < buffered_.size(); at += 800)
    send(realtime_append(std::string_view{buffered_}.substr(at, 800)));
  buffered_.clear();
  host_.event("engine_open", {{"engine", "openai"}});
  if (!buffered_dtmf_.empty()) {
    send(realtime_user_text("המתקשר הקיש על המקשים " + buffered_dtmf_));
    buffered_dtmf_.clear();
    request_response();
  }
}

void openai_engine::on_link_closed(const std::string& reason) {
  if (!active())
    return;
  link_.reset();
  fail(phase_ == phase::connecting ? "connect failed: " + reason
                                   : "connection closed: " + reason);
}

void openai_engine::on_link_message(const std::string& text) {
  if (phase_ != phase::live)
    return;
  if (!parser_.parse(text, ev_)) {
    log_safe(spdlog::level::warn, "call {}: openai event ignored: {}",
             opts_.log_name, parser_.error());
    return;
  }
  handle(ev_);
}

// -- server events ------------------------------------------------------------

void openai_engine::handle(const realtime_event& ev) {
  switch (ev.kind) {
    case realtime_kind::speech_started:
      server_speech_ = true;
      server_heard_turn_ = true;
      reply_timer_ = 0;
      if (speaking())
        interrupt("speech", true);
      return;
    case realtime_kind::speech_stopped:
      server_speech_ = false;
      server_heard_turn_ = true;
      arm_reply();
      return;
    case realtime_kind::response_created:
      awaiting_response_ = false;
      response_active_ = true;
      response_id_ = ev.response_id;
      prev_response_audio_ = response_audio_;
      response_audio_ = false;
      return;
    case realtime_kind::audio_delta:
      return on_audio(ev);
    case realtime_kind::audio_done:
      if (!dropped_items_.count(ev.item_id))
        flush_audio();
      return;
    case realtime_kind::response_done:
      response_active_ = false;
      flush_audio();
      if (ev.status == "failed")
        return fail("response failed");
      if (pending_create_ && tools_running_ == 0) {
        pending_create_ = false;
        send(realtime_response_create());
        awaiting_response_ = true;
        arm_reply();
      }
      return maybe_finish();
    case realtime_kind::agent_transcript:
      if (!ev.transcript.empty())
        host_.transcript("agent", ev.transcript);
      return;
    case realtime_kind::caller_transcript:
      if (!ev.transcript.empty())
        host_.transcript("caller", ev.transcript);
      return;
    case realtime_kind::function_call: {
      auto name = ev.name;
      if (name.empty()) {
        auto i = call_names_.find(ev.call_id);
        if (i == call_names_.end()) {
          // Beta events may lack the name: wait for output_item.done.
          unnamed_args_[ev.call_id] = ev.arguments;
          return;
        }
        name = i->second;
      }
      return on_function(ev.call_id, name, ev.arguments);
    }
    case realtime_kind::output_item:
      if (ev.item_type != "function_call" || ev.call_id.empty())
        return;
      if (!ev.name.empty())
        call_names_[ev.call_id] = ev.name;
      if (auto i = unnamed_args_.find(ev.call_id);
          i != unnamed_args_.end() && !ev.name.empty()) {
        auto args = ev.arguments.empty() ? i->second : ev.arguments;
        unnamed_args_.erase(i);
        return on_function(ev.call_id, ev.name, args);
      }
      if (ev.type == "response.output_item.done" && !ev.name.empty())
        on_function(ev.call_id, ev.name, ev.arguments); // no-op if handled
      return;
    case realtime_kind::error: {
      auto message = clip(redact(ev.error_message, opts_.api_key), 300);
      auto code = clip(redact(ev.error_code, opts_.api_key), 100);
      host_.event("engine_error",
                  {{"code", code},
                   {"type", clip(redact(ev.error_type, opts_.api_key), 100)},
                   {"message", message}});
      if (benign(ev)) {
        log_safe(spdlog::level::info, "call {}: openai: {} ({})",
                 opts_.log_name, code, message);
        return;
      }
      return fail("error event: "
                  + (code.empty()
                       ? clip(redact(ev.error_type, opts_.api_key), 100)
                       : code));
    }
    default:
      return;
  }
}

void openai_engine::on_audio(const realtime_event& ev) {
  if (dropped_items_.count(ev.item_id)
      || (!ev.response_id.empty() && dropped_responses_.count(ev.response_id)))
    return; // cut off by a barge-in
  reply_timer_ = 0;
  response_audio_ = true;
  if (ev.item_id != item_id_) {
    flush_audio();
    item_id_ = ev.item_id;
    item_sent_ = 0;
    item_played_ = 0;
  }
  item_sent_ += ev.audio.size();
  frames_ += ev.audio;
  // Whole frames at once (low latency), at most part_bytes per mark.
  auto whole = frames_.size() - frames_.size() % mulaw::frame_bytes;
  while (whole > 0) {
    auto n = std::min(whole, opts_.part_bytes);
    emit(n, false);
    whole -= n;
  }
}

void openai_engine::flush_audio() {
  if (!frames_.empty())
    emit(frames_.size(), true);
}

void openai_engine::emit(std::size_t n, bool pad) {
  auto audio = std::make_shared<std::string>(frames_.substr(0, n));
  frames_.erase(0, n);
  if (pad && audio->size() % mulaw::frame_bytes != 0)
    audio->append(mulaw::frame_bytes - audio->size() % mulaw::frame_bytes,
                  silence_byte);
  part p{"a" + std::to_string(++part_seq_), item_id_, n};
  auto mark = p.mark;
  parts_.push_back(std::move(p));
  host_.play(std::move(audio), std::move(mark));
}

bool openai_engine::on_mark(const std::string& name) {
  if (name.empty() || name[0] != 'a')
    return false;
  auto it = std::find_if(parts_.begin(), parts_.end(),
                         [&](const part& p) { return p.mark == name; });
  if (it == parts_.end())
    return true; // stale (echoed after a clear)
  ++it;
  for (auto p = parts_.begin(); p != it; ++p)
    if (p->item_id == item_id_)
      item_played_ += p->bytes;
  parts_.erase(parts_.begin(), it);
  maybe_finish();
  return true;
}

/// Barge-in: stop the model's audio where the caller heard it.
void openai_engine::interrupt(const char* why, bool clear_sink) {
  auto played_ms
    = static_cast<std::int64_t>(std::min(item_played_, item_sent_) / 8);
  if (clear_sink)
    host_.clear();
  if (response_active_)
    send(realtime_response_cancel("al_cancel_" + std::to_string(++event_seq_)));
  if (!response_id_.empty() && response_active_)
    dropped_responses_.insert(response_id_);
  if (!item_id_.empty()) {
    send(realtime_truncate("al_trunc_" + std::to_string(++event_seq_), item_id_,
                           played_ms));
    dropped_items_.insert(item_id_);
  }
  parts_.clear();
  frames_.clear();
  host_.barge_in();
  host_.event("barge_in", {{"engine", "openai"},
                           {"by", why},
                           {"item_id", item_id_},
                           {"audio_end_ms", played_ms}});
}

// -- tools --------------------------------------------------------------------

void openai_engine::on_function(const std::string& call_id,
                                const std::string& name,
                                const std::string& arguments) {
  if (call_id.empty() || !handled_calls_.insert(call_id).second)
    return;
  reply_timer_ = 0;
  host_.event("tool_call", {{"name", name}, {"call_id", call_id}});
  if (name == "end_call") {
    ending_ = true;
    send(realtime_function_output(call_id, R"({"ok":true})"));
    end_timer_ = arm(opts_.end_guard);
    return maybe_finish();
  }
  ++tools_running_;
  host_.run_tool(tool_call{call_id, name, arguments});
}

void openai_engine::on_tool_result(const std::string& call_id,
                                   std::string output) {
  if (tools_running_ > 0)
    --tools_running_;
  if (phase_ != phase::live)
    return;
  send(realtime_function_output(call_id, output));
  request_response();
}

/// Asks the model to speak (after tool outputs, DTMF), once nothing runs.
void openai_engine::request_response() {
  if (ending_)
    return;
  if (response_active_ || tools_running_ > 0) {
    pending_create_ = true;
    return;
  }
  pending_create_ = false;
  send(realtime_response_create());
  awaiting_response_ = true;
  arm_reply();
}

void openai_engine::nudge(const std::string& note) {
  if (phase_ != phase::live || ending_)
    return;
  send(realtime_user_text(note));
  request_response();
}

void openai_engine::end_after_reply() {
  if (phase_ != phase::live || ending_)
    return;
  if (!response_active_ && !pending_create_ && !awaiting_response_
      && tools_running_ == 0) {
    // Nothing asked for yet: ask, then end after it.
    send(realtime_response_create());
    awaiting_response_ = true;
    arm_reply();
  }
  ending_ = true;
  end_after_reply_ = true;
  end_timer_ = arm(opts_.end_guard);
}

void openai_engine::maybe_finish() {
  if (!ending_ || phase_ != phase::live || response_active_ || speaking()
      || (end_after_reply_ && (awaiting_response_ || pending_create_))
      || !frames_.empty())
    return;
  bool spoke = response_audio_ || prev_response_audio_;
  stop();
  host_.finished(spoke);
}

// -- the caller ---------------------------------------------------------------

void openai_engine::on_caller_audio(const std::string& mulaw) {
  if (in_turn_)
    turn_bytes_ += mulaw.size();
  if (phase_ == phase::connecting) {
    buffered_ += mulaw;
    if (buffered_.size() > opts_.max_buffered)
      buffered_.erase(0, buffered_.size() - opts_.max_buffered);
  } else if (phase_ == phase::live) {
    send(realtime_append(mulaw));
  }
}

void openai_engine::on_speech(bool started) {
  if (!active())
    return;
  if (started) {
    in_turn_ = true;
    turn_bytes_ = 0;
    server_heard_turn_ = false;
    reply_timer_ = 0;
    return;
  }
  // The server usually tells the turn's end itself (speech_stopped); if it
  // said nothing about a real turn, a reply is due all the same: a silent
  // server is a stalled one.
  in_turn_ = false;
  auto min_bytes = static_cast<std::size_t>(opts_.min_turn.count()) * 8;
  if (!server_heard_turn_ && !server_speech_ && !response_active_ && !speaking()
      && turn_bytes_ >= min_bytes)
    arm_reply();
}

void openai_engine::on_dtmf(const std::string& digit) {
  if (phase_ == phase::connecting)
    buffered_dtmf_ += digit;
  if (phase_ != phase::live)
    return;
  if (speaking())
    interrupt("dtmf", true);
  send(realtime_user_text("המתקשר הקיש על המקש " + digit));
  request_response();
}

void openai_engine::on_cleared() {
  if (phase_ == phase::live && speaking())
    interrupt("host", false);
  else
    parts_.clear();
}

void openai_engine::on_timer(std::uint64_t token) {
  if (token == 0 || !active())
    return;
  if (token == open_timer_) {
    open_timer_ = 0;
    if (phase_ == phase::connecting)
      fail("connect timeout");
  } else if (token == reply_timer_) {
    reply_timer_ = 0;
    fail("no reply audio");
  } else if (token == end_timer_) {
    end_timer_ = 0;
    if (ending_ && phase_ == phase::live) {
      stop();
      host_.finished(true);
    }
  }
}

} // namespace al
