#include "core/tts.hpp"

#include <cstdlib>
#include <mutex>

#include <espeak-ng/speak_lib.h>
#include <soxr.h>

#include "core/mulaw.hpp"

namespace al {

namespace {

std::mutex espeak_mutex;
int espeak_rate = 0; ///< sample rate after init; < 0: init failed

struct synth_sink {
  std::vector<short> pcm;
  std::size_t max_samples = 0;
};

int on_synth(short* wav, int n, espeak_EVENT* events) {
  if (wav == nullptr || n <= 0 || events == nullptr)
    return 0;
  auto* sink = static_cast<synth_sink*>(events[0].user_data);
  if (sink == nullptr)
    return 0;
  sink->pcm.insert(sink->pcm.end(), wav, wav + n);
  return sink->pcm.size() > sink->max_samples ? 1 : 0; // 1 = abort
}

/// Initialises espeak-ng once; must hold espeak_mutex.
bool ensure_espeak() {
  if (espeak_rate == 0) {
    // DONT_EXIT: report a missing espeak-ng-data instead of exit().
    int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nullptr,
                                 espeakINITIALIZE_DONT_EXIT);
    espeak_rate = rate > 0 ? rate : -1;
    if (espeak_rate > 0)
      espeak_SetSynthCallback(on_synth);
  }
  return espeak_rate > 0;
}

/// Cuts `s` to at most `max_chars` code points, preferring a space in the
/// last 200 bytes; never splits a UTF-8 sequence.
std::string_view cap_text(std::string_view s, std::size_t max_chars) {
  std::size_t chars = 0;
  std::size_t i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (chars == max_chars)
        break;
      ++chars;
    }
  }
  if (i == s.size())
    return s;
  auto space = s.rfind(' ', i);
  if (space != std::string_view::npos && i - space < 200)
    i = space;
  return s.substr(0, i);
}

bool blank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
      return false;
  return true;
}

} // namespace

std::vector<short> resample_pcm16(const short* in, std::size_t n,
                                  double in_rate, double out_rate) {
  std::vector<short> out;
  if (n == 0 || in_rate <= 0 || out_rate <= 0)
    return out;
  if (in_rate == out_rate)
    return std::vector<short>(in, in + n);
  out.resize(static_cast<std::size_t>(n * out_rate / in_rate) + 16);
  auto io = soxr_io_spec(SOXR_INT16_I, SOXR_INT16_I);
  auto q = soxr_quality_spec(SOXR_HQ, 0);
  std::size_t done = 0;
  soxr_error_t err = soxr_oneshot(in_rate, out_rate, 1, in, n, nullptr,
                                  out.data(), out.size(), &done, &io, &q,
                                  nullptr);
  if (err != nullptr) {
    out.clear();
    return out;
  }
  out.resize(done);
  return out;
}

void pad_to_frames(std::string& mulaw) {
  auto rest = mulaw.size() % mulaw::frame_bytes;
  if (rest != 0)
    mulaw.append(mulaw::frame_bytes - rest, static_cast<char>(mulaw::silence));
}

std::vector<std::string_view> split_frames(std::string_view mulaw) {
  std::vector<std::string_view> frames;
  frames.reserve((mulaw.size() + mulaw::frame_bytes - 1) / mulaw::frame_bytes);
  for (std::size_t i = 0; i < mulaw.size(); i += mulaw::frame_bytes)
    frames.push_back(mulaw.substr(i, mulaw::frame_bytes));
  return frames;
}

std::optional<std::string> synthesize_mulaw(std::string_view utf8_text,
                                            const tts_options& opts) {
  auto text = std::string(cap_text(utf8_text, opts.max_chars));
  if (blank(text))
    return std::nullopt;

  synth_sink sink;
  int rate = 0;
  {
    std::lock_guard<std::mutex> lock(espeak_mutex);
    if (!ensure_espeak())
      return std::nullopt;
    rate = espeak_rate;
    if (espeak_SetVoiceByName(opts.voice.c_str()) != EE_OK)
      return std::nullopt;
    espeak_SetParameter(espeakRATE, opts.rate, 0);
    espeak_SetParameter(espeakPITCH, opts.pitch, 0);
    espeak_SetParameter(espeakVOLUME, opts.volume, 0);
    // Bound the output (60 s + 0.5 s per byte: far beyond real speech).
    sink.max_samples = static_cast<std::size_t>(rate) * (60 + text.size() / 2);
    sink.pcm.reserve(static_cast<std::size_t>(rate) * 4);
    auto err = espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0,
                            espeakCHARS_UTF8, nullptr, &sink);
    if (err != EE_OK)
      return std::nullopt;
  }

  auto pcm = resample_pcm16(sink.pcm.data(), sink.pcm.size(), rate, 8000);
  std::size_t start = 0;
  if (opts.trim_leading_silence) {
    // Keep ~10 ms before the first sample above ~ -50 dBFS.
    while (start < pcm.size() && std::abs(int{pcm[start]}) < 100)
      ++start;
    if (start == pcm.size())
      return std::nullopt; // nothing audible
    start = start > 80 ? start - 80 : 0;
  }
  if (pcm.empty())
    return std::nullopt;
  auto out = mulaw::encode(pcm.data() + start, pcm.size() - start);
  pad_to_frames(out);
  return out;
}

} // namespace al
