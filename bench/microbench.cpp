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

#include <cmath>
#include <string>
#include <vector>

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
  state.counters["encoder_bytes"] = static_cast<double>(
    ogg_opus_encoder{nullptr, o}.memory_bytes());
}
BENCHMARK(BM_ogg_opus_encode_1s_2ch)->Arg(3)->Arg(5)->Unit(benchmark::kMillisecond);

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
