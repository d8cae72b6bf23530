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
#include "core/twilio_signature.hpp"
#include "core/twiml.hpp"
#include "core/url_builder.hpp"
#include "core/vad.hpp"

#include <benchmark/benchmark.h>

#include <cmath>
#include <string>

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
