#include "actors/call_recorder.hpp"

#include "actors/audio_store.hpp"
#include "actors/log.hpp"
#include "core/mulaw.hpp"
#include "core/ogg_opus.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <exception>

namespace al {

namespace {

constexpr std::uint64_t rate = 8000;

} // namespace

struct call_recorder::impl {
  struct queued {
    audio_ptr audio;
    std::size_t offset = 0;
  };

  recording_chunk_sink sink;
  call_recorder_options opts;
  std::unique_ptr<ogg_opus_encoder> enc;
  std::string pending; // Ogg bytes not handed out yet (< one chunk + a page)
  int chunk_no = 0;
  std::deque<queued> agent;
  std::size_t agent_bytes = 0;
  std::string agent_frame; // the agent side of the current caller audio
  std::uint64_t samples = 0;
  std::uint64_t max_samples = 0;
  bool finished = false;
  std::string error;

  void fail(std::string why) {
    if (error.empty())
      error = std::move(why);
  }

  void hand(std::string bytes, bool last) {
    int ms = last ? static_cast<int>(samples * 1000 / rate) : 0;
    try {
      sink(chunk_no++, std::move(bytes), last, ms);
    } catch (const std::exception& e) {
      fail(std::string{"recording sink failed: "} + e.what());
    } catch (...) {
      fail("recording sink failed");
    }
  }

  /// Encoder output: whole chunks go out as soon as there is more than one
  /// chunk pending, so the last chunk is never empty.
  void on_page(std::string_view bytes) {
    pending.append(bytes);
    while (pending.size() > opts.chunk_bytes) {
      std::string chunk = pending.substr(0, opts.chunk_bytes);
      pending.erase(0, opts.chunk_bytes);
      hand(std::move(chunk), false);
    }
  }

  /// The agent side of the next `n` timeline samples.
  void take_agent(std::size_t n) {
    agent_frame.clear();
    while (agent_frame.size() < n && !agent.empty()) {
      auto& q = agent.front();
      auto k = std::min(n - agent_frame.size(), q.audio->size() - q.offset);
      agent_frame.append(*q.audio, q.offset, k);
      q.offset += k;
      agent_bytes -= k;
      if (q.offset >= q.audio->size())
        agent.pop_front();
    }
    agent_frame.resize(n, static_cast<char>(mulaw::silence));
  }

  void finish() {
    if (finished)
      return;
    finished = true;
    if (enc) {
      if (!enc->finish())
        fail("recording encoder: " + enc->error());
      enc.reset(); // its ~96 KiB of encoder state
    }
    agent.clear();
    agent_bytes = 0;
    agent_frame = std::string{};
    // Whatever was encoded is kept, even after an encoder failure (a cut
    // Ogg stream still plays up to its last whole page).
    if (chunk_no > 0 || !pending.empty())
      hand(std::move(pending), true);
    pending = std::string{};
  }
};

call_recorder::call_recorder(recording_chunk_sink sink,
                             call_recorder_options opts)
  : impl_(std::make_unique<impl>()) {
  auto& st = *impl_;
  st.sink = std::move(sink);
  st.opts = std::move(opts);
  if (st.opts.chunk_bytes == 0)
    st.opts.chunk_bytes = 256 * 1024;
  st.max_samples = static_cast<std::uint64_t>(st.opts.max_duration.count())
                   * rate;
  ogg_opus_options o;
  o.channels = 2;
  o.bitrate = st.opts.bitrate;
  o.complexity = st.opts.complexity;
  if (!st.opts.title.empty())
    o.tags.emplace_back("TITLE", st.opts.title);
  o.tags.emplace_back("DESCRIPTION", "left: caller, right: agent");
  auto* self = impl_.get();
  st.enc = std::make_unique<ogg_opus_encoder>(
    [self](std::string_view bytes) { self->on_page(bytes); }, std::move(o));
  if (!st.enc->ok()) {
    st.fail("recording encoder: " + st.enc->error());
    st.enc.reset();
    st.finished = true; // nothing to record into
  }
}

call_recorder::~call_recorder() = default;

void call_recorder::caller_audio(std::string_view mulaw) {
  auto& st = *impl_;
  if (st.finished || mulaw.empty())
    return;
  auto room = st.max_samples - st.samples;
  auto n
    = static_cast<std::size_t>(std::min<std::uint64_t>(mulaw.size(), room));
  try {
    st.take_agent(n);
  } catch (const std::exception&) {
    st.fail("recording: out of memory");
    return st.finish();
  }
  if (!st.enc->write_mulaw(mulaw.substr(0, n), st.agent_frame)) {
    st.fail("recording encoder: " + st.enc->error());
    return st.finish();
  }
  st.samples += n;
  if (st.samples >= st.max_samples)
    st.finish(); // the cap: what was recorded is kept
}

void call_recorder::agent_audio(audio_ptr mulaw) {
  auto& st = *impl_;
  if (st.finished || !mulaw || mulaw->empty())
    return;
  st.agent_bytes += mulaw->size();
  st.agent.push_back(impl::queued{std::move(mulaw), 0});
}

void call_recorder::clear_agent() {
  auto& st = *impl_;
  st.agent.clear();
  st.agent_bytes = 0;
}

void call_recorder::finish() {
  impl_->finish();
}

bool call_recorder::finished() const noexcept {
  return impl_->finished;
}

std::uint64_t call_recorder::samples() const noexcept {
  return impl_->samples;
}

std::size_t call_recorder::agent_queued() const noexcept {
  return impl_->agent_bytes;
}

std::size_t call_recorder::pending_bytes() const noexcept {
  return impl_->pending.size();
}

int call_recorder::chunks() const noexcept {
  return impl_->chunk_no;
}

std::string call_recorder::error() const {
  return impl_->error;
}

recording_chunk_sink store_recording_sink(const store& db,
                                          std::string call_sid) {
  return [db, sid = std::move(call_sid),
          warned = false](int chunk_no, std::string bytes, bool last,
                          int duration_ms) mutable {
    bool queued = append_audio_chunk(db, sid, std::string{audio_kind_call()}, 0,
                                     "audio/ogg", chunk_no, std::move(bytes),
                                     last, duration_ms);
    if (!queued && !warned) {
      warned = true;
      log_safe(spdlog::level::warn,
               "call {}: recording chunk {} not queued for storage", sid,
               chunk_no);
    }
  };
}

} // namespace al
