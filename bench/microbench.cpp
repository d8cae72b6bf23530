// al-microbench: Google Benchmark micro-benchmarks of the media path's pure
// functions (core/), the per-frame and per-webhook work of the service.
//
//   al-microbench [--benchmark_filter=...] [--benchmark_format=json]

#include "core/call_token.hpp"
#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/media_frame.hpp"
#include "core/media_out.hpp"
#include "core/mulaw.hpp"
#include "core/ogg_opus.hpp"
#include "core/twilio_signature.hpp"
#include "core/twiml.hpp"
#include "core/url_builder.hpp"
#include "core/vad.hpp"

#include <benchmark/benchmark.h>

// Beast's UTF-8 checker, header-only here (al_transport compiles the rest
// of Beast): the check every inbound text frame gets in Beast 1.81.
#undef BOOST_BEAST_SEPARATE_COMPILATION
#include <boost/beast/websocket/detail/utf8_checker.hpp>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <new>
#include <string>
#include <vector>

// -- allocation counter ------------------------------------------------------
// Every operator new of the process is counted, so that a benchmark can
// report allocations per iteration (allocs_counter below). Not inlined:
// GCC would otherwise pair malloc with delete-expressions and warn.

namespace {
std::atomic<std::uint64_t> g_allocs{0};
} // namespace

[[gnu::noinline]] void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1))
    return p;
  throw std::bad_alloc{};
}
[[gnu::noinline]] void* operator new[](std::size_t n) {
  return operator new(n);
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

using namespace al;

std::string tone_frame() {
  std::string f;
  for (int i = 0; i < 160; ++i)
    f.push_back(static_cast<char>(
      mulaw::encode(static_cast<std::int16_t>(8000 * std::sin(i * 0.3454)))));
  return f;
}

/// A Twilio inbound media message exactly as Twilio sends it.
std::string media_message() {
  return R"({"event":"media","sequenceNumber":"1234","media":{"track":"inbound",)"
         R"("chunk":"1233","timestamp":"24660","payload":")"
         + crypto::base64_encode(tone_frame())
         + R"("},"streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0"})";
}

std::string start_message() {
  return R"({"event":"start","sequenceNumber":"1","start":{"accountSid":"AC123",)"
         R"("streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0","callSid":)"
         R"("CA1234567890abcdef1234567890abcdef","tracks":["inbound"],)"
         R"("mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,)"
         R"("channels":1},"customParameters":{"call_token":)"
         R"("abcdefghijklmnopqrstuvwxyz012345","business_id":"1"}},)"
         R"("streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0"})";
}

// Parse in place in a padded buffer (what the session does with Beast's
// buffer when it reserves the padding).
void BM_media_frame_parse(benchmark::State& state) {
  auto msg = media_message();
  std::string buf = msg;
  buf.reserve(msg.size() + simdjson::SIMDJSON_PADDING);
  media_frame_parser parser;
  media_frame frame;
  for (auto _ : state) {
    auto err = parser.parse(buf.data(), buf.size(), buf.capacity(), frame);
    benchmark::DoNotOptimize(err);
    benchmark::DoNotOptimize(frame.payload.data());
  }
  state.SetBytesProcessed(state.iterations() * msg.size());
}
BENCHMARK(BM_media_frame_parse);

// parse_copy: what transport/media_session.cpp does today (copies the
// frame into the parser's padded scratch buffer first).
void BM_media_frame_parse_copy(benchmark::State& state) {
  auto msg = media_message();
  media_frame_parser parser;
  media_frame frame;
  for (auto _ : state) {
    auto err = parser.parse_copy(msg, frame);
    benchmark::DoNotOptimize(err);
  }
  state.SetBytesProcessed(state.iterations() * msg.size());
}
BENCHMARK(BM_media_frame_parse_copy);

void BM_start_frame_parse(benchmark::State& state) {
  auto msg = start_message();
  media_frame_parser parser;
  media_frame frame;
  for (auto _ : state) {
    auto err = parser.parse_copy(msg, frame);
    benchmark::DoNotOptimize(err);
  }
}
BENCHMARK(BM_start_frame_parse);

void BM_base64_encode_frame(benchmark::State& state) {
  auto f = tone_frame();
  std::string out;
  out.reserve(256);
  for (auto _ : state) {
    out.clear();
    crypto::base64_encode_append(f, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * f.size());
}
BENCHMARK(BM_base64_encode_frame);

void BM_base64_decode_frame(benchmark::State& state) {
  auto text = crypto::base64_encode(tone_frame());
  std::string out;
  for (auto _ : state) {
    bool ok = crypto::base64_decode_into(text, out);
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(state.iterations() * text.size());
}
BENCHMARK(BM_base64_decode_frame);

void BM_mulaw_energy_frame(benchmark::State& state) {
  auto f = tone_frame();
  for (auto _ : state)
    benchmark::DoNotOptimize(mulaw::mean_abs(f));
  state.SetBytesProcessed(state.iterations() * f.size());
}
BENCHMARK(BM_mulaw_energy_frame);

void BM_vad_feed_frame(benchmark::State& state) {
  auto f = tone_frame();
  energy_vad vad;
  for (auto _ : state)
    benchmark::DoNotOptimize(vad.feed(f));
}
BENCHMARK(BM_vad_feed_frame);

/// One second of a voiced, syllabic mu-law signal (a buzz at `f0` with
/// harmonics, 200 ms on / 80 ms off): speech-like enough for Opus' SILK.
std::string voiced_second(double f0) {
  std::vector<std::int16_t> pcm(8000);
  double phase = 0;
  for (std::size_t i = 0; i < pcm.size(); ++i) {
    double t = static_cast<double>(i) / 8000;
    double syl = std::fmod(t, 0.28);
    double env = syl < 0.2 ? std::sin(M_PI * syl / 0.2) : 0.0;
    phase += 2 * M_PI * (f0 + 30 * std::sin(2 * M_PI * t)) / 8000;
    double v = 0;
    for (int h = 1; h <= 10; ++h)
      v += std::sin(h * phase) / h;
    pcm[i] = static_cast<std::int16_t>(env * v * 6000);
  }
  return mulaw::encode(pcm.data(), pcm.size());
}

// A call recording's encoder (core/ogg_opus): 1 s of two-channel audio
// (caller + agent, two mono Opus streams at 8 kHz) fed in 20 ms frames, as
// actors/call_recorder does. Arg: complexity. Time per iteration = CPU per
// second of call.
void BM_ogg_opus_encode_1s_2ch(benchmark::State& state) {
  auto left = voiced_second(170);
  auto right = voiced_second(120);
  ogg_opus_options o;
  o.channels = 2;
  o.bitrate = 16000;
  o.complexity = static_cast<int>(state.range(0));
  std::uint64_t bytes = 0;
  ogg_opus_encoder enc{[&bytes](std::string_view b) { bytes += b.size(); }, o};
  for (auto _ : state)
    for (std::size_t i = 0; i < left.size(); i += 160)
      enc.write_mulaw(std::string_view{left}.substr(i, 160),
                      std::string_view{right}.substr(i, 160));
  enc.finish();
  state.counters["ogg_bytes_per_s"] = benchmark::Counter(
    static_cast<double>(bytes) / static_cast<double>(state.iterations()));
  state.counters["encoder_bytes"]
    = static_cast<double>(ogg_opus_encoder{nullptr, o}.memory_bytes());
}
BENCHMARK(BM_ogg_opus_encode_1s_2ch)
  ->Arg(3)
  ->Arg(5)
  ->Unit(benchmark::kMillisecond);

// The outbound frame as media_session::send_frame builds it (fresh string
// with reserve, as today) ...
void BM_media_out_json_fresh(benchmark::State& state) {
  auto f = tone_frame();
  for (auto _ : state) {
    std::string out;
    out.reserve(300);
    append_media_json(out, "MZ18ad3ab5a668481ce02b83e7395059f0", f);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_media_out_json_fresh);

// ... and into a reused buffer (no allocation).
void BM_media_out_json_reused(benchmark::State& state) {
  auto f = tone_frame();
  std::string out;
  out.reserve(512);
  for (auto _ : state) {
    out.clear();
    append_media_json(out, "MZ18ad3ab5a668481ce02b83e7395059f0", f);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_media_out_json_reused);

// -- the whole per-frame path, before and after issue 22 ---------------------
// What transport/media_session does with every 20 ms frame, minus the
// sockets: inbound, parse a Twilio "media" frame, decode its payload, feed
// the VAD and add the audio to the 100 ms batch handed to the call actor
// (here: moved out and dropped, as the actor would); outbound, build one
// "media" frame and queue it. Counters: allocations per frame (the global
// operator new above), which must be ~0 after, except the batch hand-off
// (one new batch string per 5 frames; CAF's message, not built here, is
// another).

/// Old base64 (per-character push_back), kept to compare in one run.
namespace legacy {

constexpr char alphabet[]
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<signed char, 256> make_rev() {
  std::array<signed char, 256> r{};
  for (auto& x : r)
    x = -1;
  for (int i = 0; i < 64; ++i)
    r[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
  return r;
}
constexpr auto reverse = make_rev();

void base64_encode_append(std::string_view in, std::string& out) {
  auto n = in.size();
  out.reserve(out.size() + (n + 2) / 3 * 4);
  auto p = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    unsigned v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  if (auto rest = n - i; rest > 0) {
    unsigned v = p[i] << 16;
    if (rest == 2)
      v |= p[i + 1] << 8;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? alphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
}

bool base64_decode_into(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 != 0)
    return false;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      auto c = static_cast<unsigned char>(text[i + k]);
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0 || reverse[c] < 0)
        return false;
      v[k] = reverse[c];
    }
    unsigned triple = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>((triple >> 16) & 0xFF));
    if (pad < 2)
      out.push_back(static_cast<char>((triple >> 8) & 0xFF));
    if (pad < 1)
      out.push_back(static_cast<char>(triple & 0xFF));
  }
  return true;
}

} // namespace legacy

void BM_base64_encode_frame_legacy(benchmark::State& state) {
  auto f = tone_frame();
  std::string out;
  out.reserve(256);
  for (auto _ : state) {
    out.clear();
    legacy::base64_encode_append(f, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * f.size());
}
BENCHMARK(BM_base64_encode_frame_legacy);

void BM_base64_decode_frame_legacy(benchmark::State& state) {
  auto text = crypto::base64_encode(tone_frame());
  std::string out;
  for (auto _ : state) {
    bool ok = legacy::base64_decode_into(text, out);
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(state.iterations() * text.size());
}
BENCHMARK(BM_base64_decode_frame_legacy);

/// Allocations per iteration since `start`, as a benchmark counter.
void allocs_counter(benchmark::State& state, std::uint64_t start) {
  auto n = g_allocs.load(std::memory_order_relaxed) - start;
  state.counters["allocs_per_frame"] = benchmark::Counter(
    static_cast<double>(n) / static_cast<double>(state.iterations()));
}

/// media_session::on_media's work after the parse (all_audio: every frame
/// is batched, the costlier case).
struct batcher {
  energy_vad vad;
  std::string batch;
  int count = 0;
  batcher() {
    batch.reserve(5 * mulaw::frame_bytes);
  }
  void feed(const std::string& payload) {
    benchmark::DoNotOptimize(vad.feed(payload));
    batch += payload;
    if (++count >= 5) {
      std::string sent = std::move(batch); // to the actor, which frees it
      benchmark::DoNotOptimize(sent.data());
      batch = std::string{};
      batch.reserve(5 * mulaw::frame_bytes);
      count = 0;
    }
  }
};

// Before: each frame copied into the parser's padded scratch buffer.
void BM_frame_in_before(benchmark::State& state) {
  auto msg = media_message();
  media_frame_parser parser;
  media_frame frame;
  batcher b;
  auto start = g_allocs.load();
  for (auto _ : state) {
    if (parser.parse_copy(msg, frame) != media_error::ok)
      state.SkipWithError("parse failed");
    b.feed(frame.payload);
  }
  allocs_counter(state, start);
}
BENCHMARK(BM_frame_in_before);

// After: parsed in place in the read buffer, which keeps the padding.
void BM_frame_in_after(benchmark::State& state) {
  auto msg = media_message();
  std::string buf = msg;
  buf.reserve(msg.size() + simdjson::SIMDJSON_PADDING);
  media_frame_parser parser;
  media_frame frame;
  batcher b;
  auto start = g_allocs.load();
  for (auto _ : state) {
    if (parser.parse(buf.data(), buf.size(), buf.capacity(), frame)
        != media_error::ok)
      state.SkipWithError("parse failed");
    b.feed(frame.payload);
  }
  allocs_counter(state, start);
}
BENCHMARK(BM_frame_in_after);

// Before: a fresh string per frame, queued in a std::deque<std::string>
// (websocket_session's old queue), popped when "written".
void BM_frame_out_before(benchmark::State& state) {
  auto f = tone_frame();
  std::string sid = "MZ18ad3ab5a668481ce02b83e7395059f0";
  std::deque<std::string> queue;
  auto start = g_allocs.load();
  for (auto _ : state) {
    std::string out;
    out.reserve(300);
    append_media_json(out, sid, f);
    queue.push_back(std::move(out));
    benchmark::DoNotOptimize(queue.front().data());
    queue.pop_front();
  }
  allocs_counter(state, start);
}
BENCHMARK(BM_frame_out_before);

// After: the stream's JSON head rendered once; the frame built in a
// recycled buffer (websocket_session's ring slot).
void BM_frame_out_after(benchmark::State& state) {
  auto f = tone_frame();
  media_json_writer writer{"MZ18ad3ab5a668481ce02b83e7395059f0"};
  std::string slot;
  auto start = g_allocs.load();
  for (auto _ : state) {
    slot.clear();
    writer.append(slot, f);
    benchmark::DoNotOptimize(slot.data());
  }
  allocs_counter(state, start);
}
BENCHMARK(BM_frame_out_after);

// Beast 1.81 checks every inbound text frame for UTF-8 (no option turns
// it off): the cost of that check on one media frame.
void BM_beast_utf8_check_frame(benchmark::State& state) {
  auto msg = media_message();
  for (auto _ : state) {
    boost::beast::websocket::detail::utf8_checker c;
    bool ok = c.write(reinterpret_cast<const std::uint8_t*>(msg.data()),
                      msg.size())
              && c.finish();
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(state.iterations() * msg.size());
}
BENCHMARK(BM_beast_utf8_check_frame);

form_params incoming_form() {
  return form_params{{{"AccountSid", "AC0123456789abcdef0123456789abcdef"},
                      {"ApiVersion", "2010-04-01"},
                      {"CallSid", "CA0123456789abcdef0123456789abcdef"},
                      {"CallStatus", "ringing"},
                      {"Called", "+97231234567"},
                      {"Caller", "+972501234567"},
                      {"Direction", "inbound"},
                      {"From", "+972501234567"},
                      {"FromCountry", "IL"},
                      {"To", "+97231234567"},
                      {"ToCountry", "IL"}}};
}

void BM_signature_validate(benchmark::State& state) {
  auto form = incoming_form();
  std::string url = "https://al.example.test/webhook/incoming_call";
  auto sig = twilio_signature("auth-token-0123456789", url, form);
  for (auto _ : state) {
    bool ok = verify_twilio_signature("auth-token-0123456789", url, form, sig);
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_signature_validate);

void BM_form_parse_incoming(benchmark::State& state) {
  auto body = encode_form(incoming_form().items());
  for (auto _ : state) {
    auto f = parse_form(body);
    benchmark::DoNotOptimize(f);
  }
}
BENCHMARK(BM_form_parse_incoming);

void BM_call_token_verify(benchmark::State& state) {
  auto token = issue_call_token("signing-key", "CA0123456789abcdef");
  for (auto _ : state)
    benchmark::DoNotOptimize(
      verify_call_token("signing-key", "CA0123456789abcdef", token));
}
BENCHMARK(BM_call_token_verify);

void BM_twiml_connect_stream(benchmark::State& state) {
  url_builder urls("https://al.example.test");
  auto token = issue_call_token("signing-key", "CA0123456789abcdef");
  for (auto _ : state) {
    auto doc = connect_stream_twiml(urls, {{"call_token", token},
                                           {"business_id", "1"}});
    benchmark::DoNotOptimize(doc);
  }
}
BENCHMARK(BM_twiml_connect_stream);

} // namespace

BENCHMARK_MAIN();
