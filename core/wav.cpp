#include "core/wav.hpp"

#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include <sndfile.h>
#include <soxr.h>

#include "core/mulaw.hpp"

namespace al {

namespace {

struct sf_closer {
  void operator()(SNDFILE* f) const noexcept {
    sf_close(f);
  }
};
using sf_ptr = std::unique_ptr<SNDFILE, sf_closer>;

constexpr int telephone_rate = 8000;

std::int16_t to_pcm16(float x) noexcept {
  if (!(x == x)) // NaN
    return 0;
  if (x > 1.0f)
    x = 1.0f;
  if (x < -1.0f)
    x = -1.0f;
  return static_cast<std::int16_t>(std::lround(x * 32767.0f));
}

} // namespace

bool write_mulaw_wav(const std::string& path, std::string_view mulaw_bytes) {
  auto tmp = path + ".tmp";
  SF_INFO info{};
  info.samplerate = telephone_rate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_ULAW;
  bool ok = false;
  {
    sf_ptr f(sf_open(tmp.c_str(), SFM_WRITE, &info));
    if (!f)
      return false;
    auto n = static_cast<sf_count_t>(mulaw_bytes.size());
    ok = n == 0 || sf_write_raw(f.get(), mulaw_bytes.data(), n) == n;
    // sf_close (in sf_ptr) patches the header sizes; check it explicitly.
    if (ok)
      ok = sf_close(f.release()) == 0;
  }
  if (ok && std::rename(tmp.c_str(), path.c_str()) == 0)
    return true;
  std::remove(tmp.c_str());
  return false;
}

std::optional<std::string> read_wav_as_mulaw(const std::string& path,
                                             double max_seconds) {
  SF_INFO info{};
  sf_ptr f(sf_open(path.c_str(), SFM_READ, &info));
  if (!f)
    return std::nullopt;
  if (info.channels < 1 || info.channels > 64 || info.samplerate < 1000
      || info.samplerate > 768000 || info.frames < 0)
    return std::nullopt;
  if (static_cast<double>(info.frames) > max_seconds * info.samplerate)
    return std::nullopt;
  auto frames = static_cast<std::size_t>(info.frames);

  // Already what Twilio plays: copy the bytes as they are.
  if (info.format == (SF_FORMAT_WAV | SF_FORMAT_ULAW)
      && info.samplerate == telephone_rate && info.channels == 1) {
    std::string out(frames, '\0');
    auto got = sf_read_raw(f.get(), out.data(),
                           static_cast<sf_count_t>(frames));
    if (got < 0)
      return std::nullopt;
    out.resize(static_cast<std::size_t>(got));
    return out;
  }

  auto ch = static_cast<std::size_t>(info.channels);
  std::vector<float> inter(frames * ch);
  auto got = sf_readf_float(f.get(), inter.data(),
                            static_cast<sf_count_t>(frames));
  if (got < 0)
    return std::nullopt;
  frames = static_cast<std::size_t>(got);

  std::vector<float> mono(frames);
  for (std::size_t i = 0; i < frames; ++i) {
    float sum = 0;
    for (std::size_t c = 0; c < ch; ++c)
      sum += inter[i * ch + c];
    mono[i] = sum / static_cast<float>(ch);
  }
  inter = {};

  if (info.samplerate != telephone_rate && !mono.empty()) {
    std::vector<float> res(
      static_cast<std::size_t>(static_cast<double>(frames) * telephone_rate
                               / info.samplerate)
      + 16);
    auto io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    auto q = soxr_quality_spec(SOXR_HQ, 0);
    std::size_t done = 0;
    if (soxr_oneshot(info.samplerate, telephone_rate, 1, mono.data(),
                     mono.size(), nullptr, res.data(), res.size(), &done, &io,
                     &q, nullptr)
        != nullptr)
      return std::nullopt;
    res.resize(done);
    mono.swap(res);
  }

  std::string out(mono.size(), '\0');
  for (std::size_t i = 0; i < mono.size(); ++i)
    out[i] = static_cast<char>(mulaw::encode(to_pcm16(mono[i])));
  return out;
}

std::string mulaw_to_pcm_wav(std::string_view mulaw) {
  std::vector<std::int16_t> pcm;
  pcm.reserve(mulaw.size());
  mulaw::decode(mulaw, pcm);
  auto data_bytes = static_cast<std::uint32_t>(pcm.size() * 2);
  std::string out;
  out.reserve(44 + data_bytes);
  auto u32 = [&out](std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
      out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  auto u16 = [&out](std::uint16_t v) {
    out.push_back(static_cast<char>(v & 0xff));
    out.push_back(static_cast<char>(v >> 8));
  };
  constexpr std::uint32_t rate = 8000;
  out += "RIFF";
  u32(36 + data_bytes);
  out += "WAVEfmt ";
  u32(16);       // fmt chunk size
  u16(1);        // PCM
  u16(1);        // mono
  u32(rate);     // samples per second
  u32(rate * 2); // bytes per second
  u16(2);        // block align
  u16(16);       // bits per sample
  out += "data";
  u32(data_bytes);
  for (auto s : pcm)
    u16(static_cast<std::uint16_t>(s));
  return out;
}

} // namespace al
