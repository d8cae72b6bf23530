// Uploaded greeting audio (core/wav.hpp): decode_audio_as_mulaw on any
// bytes, with a 5 s limit, either refuses them with a reason or returns
// between one 20 ms frame and 5 s of 8 kHz mu-law; it never crashes, leaks
// or reads out of bounds, whatever the header claims. libsndfile and its
// codecs are not instrumented, so the fuzzer sees only our code's coverage:
// it mostly mutates the seeds' headers (bench/fuzz/corpus/audio_decode, one
// short file per container and codec). The same bytes, less the first,
// also go through pcm16_as_mulaw as raw PCM16 at a rate the first picks.

#include "bench/fuzz/fuzz_util.hpp"
#include "core/mulaw.hpp"
#include "core/wav.hpp"

#include <cmath>
#include <iterator>
#include <string>

namespace {

using namespace al;
using al::fuzz::check;

constexpr double max_seconds = 5;
constexpr int rates[] = {8000, 16000, 22050, 24000, 44100, 48000, 1000};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto bytes = fuzz::as_view(data, size);

  std::string error;
  auto out = decode_audio_as_mulaw(bytes, max_seconds, error);
  if (out) {
    check(error.empty(), "no error on success");
    check(out->size() >= mulaw::frame_bytes, "at least one frame");
    // The resampler's rounding may add a sample or two.
    check(out->size() <= max_seconds * 8000 + 16, "at most max_seconds");
  } else {
    check(!error.empty(), "a reason on refusal");
  }

  if (size > 0) {
    int rate = rates[data[0] % std::size(rates)];
    auto pcm = bytes.substr(1);
    auto mu = pcm16_as_mulaw(pcm, rate);
    double expect = static_cast<double>(pcm.size() / 2) * 8000 / rate;
    check(std::fabs(static_cast<double>(mu.size()) - expect)
            <= 2 + expect / 100,
          "pcm16_as_mulaw: input duration kept");
  }
  return 0;
}
