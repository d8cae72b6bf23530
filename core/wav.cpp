#include "core/wav.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include <ogg/ogg.h>
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
constexpr int max_channels = 8;
constexpr int min_rate = 1000;
constexpr int max_rate = 384000;

/// Frames per read from libsndfile, samples per soxr output block.
constexpr std::size_t chunk = 4096;

/// libsndfile's float scale for integer PCM is 1/32768 (SFC_SET_NORM_FLOAT),
/// so a PCM16 source comes back sample for sample.
std::int16_t to_pcm16(float x) noexcept {
  if (!(x == x)) // NaN
    return 0;
  float y = x * 32768.0f;
  if (y >= 32767.0f)
    return 32767;
  if (y <= -32768.0f)
    return -32768;
  return static_cast<std::int16_t>(std::lround(y));
}

/// Mono float samples at some rate -> 8 kHz mu-law appended to a string,
/// streamed through soxr (HQ) so that memory stays bounded by the output;
/// 8 kHz input is encoded as is.
class mulaw_sink {
public:
  mulaw_sink(double in_rate, std::string& out)
    : out_(out) {
    if (in_rate == telephone_rate)
      return;
    auto io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    auto q = soxr_quality_spec(SOXR_HQ, 0);
    soxr_error_t err = nullptr;
    soxr_ = soxr_create(in_rate, telephone_rate, 1, &err, &io, &q, nullptr);
    if (err != nullptr && soxr_ != nullptr) {
      soxr_delete(soxr_);
      soxr_ = nullptr;
    }
    failed_ = soxr_ == nullptr;
    buf_.resize(chunk);
  }

  ~mulaw_sink() {
    if (soxr_ != nullptr)
      soxr_delete(soxr_);
  }

  mulaw_sink(const mulaw_sink&) = delete;
  mulaw_sink& operator=(const mulaw_sink&) = delete;

  bool push(const float* in, std::size_t n) {
    if (failed_)
      return false;
    if (soxr_ == nullptr) {
      encode(in, n);
      return true;
    }
    // Until soxr took all the input and has no full block left to give.
    for (;;) {
      std::size_t used = 0;
      std::size_t made = 0;
      if (soxr_process(soxr_, in, n, &used, buf_.data(), buf_.size(), &made)
          != nullptr)
        return fail();
      encode(buf_.data(), made);
      in += used;
      n -= used;
      if (n == 0 && made < buf_.size())
        return true;
      if (used == 0 && made == 0)
        return fail();
    }
  }

  /// Drains the resampler's tail (its filter delay).
  bool finish() {
    if (failed_)
      return false;
    if (soxr_ == nullptr)
      return true;
    for (int i = 0; i < 1024; ++i) {
      std::size_t made = 0;
      if (soxr_process(soxr_, nullptr, 0, nullptr, buf_.data(), buf_.size(),
                       &made)
          != nullptr)
        return fail();
      encode(buf_.data(), made);
      if (made == 0)
        return true;
    }
    return fail();
  }

private:
  bool fail() {
    failed_ = true;
    return false;
  }

  void encode(const float* in, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      out_.push_back(static_cast<char>(mulaw::encode(to_pcm16(in[i]))));
  }

  std::string& out_;
  soxr_t soxr_ = nullptr;
  bool failed_ = false;
  std::vector<float> buf_;
};

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

/// The decoder behind read_wav_as_mulaw and decode_audio_as_mulaw: reads
/// the opened file in chunks (never trusting the declared length for an
/// allocation), mixes to mono and feeds mulaw_sink.
std::optional<std::string> decode_sndfile(SNDFILE* f, const SF_INFO& info,
                                          double max_seconds,
                                          std::string& error) {
  if (info.channels < 1) {
    error = "audio has no channels";
    return std::nullopt;
  }
  if (info.channels > max_channels) {
    error = "too many channels (at most " + std::to_string(max_channels) + ")";
    return std::nullopt;
  }
  if (info.samplerate < min_rate || info.samplerate > max_rate) {
    error = "unsupported sample rate " + std::to_string(info.samplerate)
            + " Hz";
    return std::nullopt;
  }
  // NaN or <= 0: nothing is short enough.
  double max_frames = max_seconds > 0 ? max_seconds * info.samplerate : 0.0;
  auto too_long = [&] {
    error = "audio longer than " + seconds_text(max_seconds) + " seconds";
    return std::nullopt;
  };
  // libsndfile says SF_COUNT_MAX when it cannot tell (e.g. a damaged Ogg).
  bool declared = info.frames >= 0 && info.frames != SF_COUNT_MAX;
  if (declared && static_cast<double>(info.frames) > max_frames)
    return too_long();

  std::string out;
  sf_count_t total = 0;
  if ((info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_ULAW
      && info.samplerate == telephone_rate && info.channels == 1) {
    // Already what Twilio plays: copy the bytes as they are.
    char buf[chunk];
    for (;;) {
      auto got = sf_read_raw(f, buf, static_cast<sf_count_t>(sizeof buf));
      if (got <= 0)
        break;
      total += got;
      if (static_cast<double>(total) > max_frames)
        return too_long();
      out.append(buf, static_cast<std::size_t>(got));
    }
  } else {
    auto ch = static_cast<std::size_t>(info.channels);
    std::vector<float> inter(chunk * ch);
    std::vector<float> mono(chunk);
    mulaw_sink sink(info.samplerate, out);
    for (;;) {
      auto got = sf_readf_float(f, inter.data(),
                                static_cast<sf_count_t>(chunk));
      if (got <= 0)
        break;
      total += got;
      if (static_cast<double>(total) > max_frames)
        return too_long();
      auto n = static_cast<std::size_t>(got);
      for (std::size_t i = 0; i < n; ++i) {
        float sum = 0;
        for (std::size_t c = 0; c < ch; ++c)
          sum += inter[i * ch + c];
        mono[i] = sum / static_cast<float>(ch);
      }
      if (!sink.push(mono.data(), n)) {
        error = "audio could not be resampled";
        return std::nullopt;
      }
    }
    if (!sink.finish()) {
      error = "audio could not be resampled";
      return std::nullopt;
    }
  }
  // Fewer frames than the header promised: a cut-off upload. (For MP3 the
  // count is mpg123's estimate, so a small shortfall is no evidence.)
  sf_count_t slack = (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG
                       ? info.frames / 10
                       : 0;
  if (sf_error(f) != SF_ERR_NO_ERROR
      || (declared && total < info.frames - slack)) {
    error = "audio file is truncated or corrupt";
    return std::nullopt;
  }
  return out;
}

// -- libsndfile virtual I/O over a read-only buffer ---------------------------

struct memory_file {
  std::string_view bytes;
  sf_count_t pos = 0;

  sf_count_t size() const noexcept {
    return static_cast<sf_count_t>(bytes.size());
  }
};

memory_file& as_memory(void* user) noexcept {
  return *static_cast<memory_file*>(user);
}

sf_count_t memory_length(void* user) {
  return as_memory(user).size();
}

sf_count_t memory_seek(sf_count_t offset, int whence, void* user) {
  auto& m = as_memory(user);
  sf_count_t base = 0;
  switch (whence) {
    case SEEK_SET:
      base = 0;
      break;
    case SEEK_CUR:
      base = m.pos;
      break;
    case SEEK_END:
      base = m.size();
      break;
    default:
      return -1;
  }
  // Past the end is allowed (reads there return nothing); before the start
  // or beyond sf_count_t is not.
  if (offset > 0 && base > std::numeric_limits<sf_count_t>::max() - offset)
    return -1;
  if (base + offset < 0)
    return -1;
  m.pos = base + offset;
  return m.pos;
}

sf_count_t memory_read(void* ptr, sf_count_t count, void* user) {
  auto& m = as_memory(user);
  if (count <= 0 || m.pos >= m.size())
    return 0;
  auto n = std::min(count, m.size() - m.pos);
  std::memcpy(ptr, m.bytes.data() + m.pos, static_cast<std::size_t>(n));
  m.pos += n;
  return n;
}

sf_count_t memory_write(const void*, sf_count_t, void*) {
  return 0;
}

sf_count_t memory_tell(void* user) {
  return as_memory(user).pos;
}

// -- Ogg/Vorbis screening -----------------------------------------------------

/// True for an Ogg/Vorbis stream that libsndfile 1.2 cannot open without
/// leaking: its ogg_vorbis_open returns before registering the codec's
/// close hook when the identification header has a version other than 0
/// (or is too short to hold one), or when the stream ends or has a hole
/// before the comment and setup headers; libvorbis's codec setup (~6 KB)
/// then stays allocated. This follows libsndfile's own steps with the same
/// libogg calls: the first page must have the beginning-of-stream flag and
/// a body starting "\x01vorbis" (its classification), then two more
/// packets of that stream. Anything else is left to libsndfile.
bool vorbis_headers_broken(std::string_view bytes) {
  if (bytes.substr(0, 4) != "OggS") // libsndfile's test for Ogg
    return false;
  struct ogg_state {
    ogg_sync_state sync;
    ogg_stream_state stream;
    bool have_stream = false;
    ogg_state() {
      ogg_sync_init(&sync);
    }
    ~ogg_state() {
      if (have_stream)
        ogg_stream_clear(&stream);
      ogg_sync_clear(&sync);
    }
    ogg_state(const ogg_state&) = delete;
    ogg_state& operator=(const ogg_state&) = delete;
  } st;
  std::size_t fed = 0;
  ogg_page page;
  auto next_page = [&] {
    for (;;) {
      int r = ogg_sync_pageout(&st.sync, &page);
      if (r == 1)
        return true;
      if (r < 0) // skipped bytes that were not a page
        continue;
      if (fed >= bytes.size())
        return false;
      auto n = std::min(chunk, bytes.size() - fed);
      char* buf = ogg_sync_buffer(&st.sync, static_cast<long>(n));
      if (buf == nullptr)
        return false;
      std::memcpy(buf, bytes.data() + fed, n);
      ogg_sync_wrote(&st.sync, static_cast<long>(n));
      fed += n;
    }
  };
  if (!next_page() || !ogg_page_bos(&page) || page.body_len < 7
      || std::memcmp(page.body, "\x01vorbis", 7) != 0)
    return false;
  ogg_stream_init(&st.stream, ogg_page_serialno(&page));
  st.have_stream = true;
  ogg_packet packet;
  if (ogg_stream_pagein(&st.stream, &page) != 0
      || ogg_stream_packetout(&st.stream, &packet) != 1)
    return false; // libsndfile fails before the Vorbis code
  // Type, "vorbis", then a 32-bit version that must be 0.
  if (packet.bytes < 11 || packet.packet[7] != 0 || packet.packet[8] != 0
      || packet.packet[9] != 0 || packet.packet[10] != 0)
    return true;
  for (int more = 0; more < 2;) {
    int r = ogg_stream_packetout(&st.stream, &packet);
    if (r < 0) // a hole
      return true;
    if (r == 1) {
      ++more;
      continue;
    }
    if (!next_page())
      return true;
    ogg_stream_pagein(&st.stream, &page); // other streams' pages: refused
  }
  return false;
}

const char* unreadable = "not an audio file we can read (WAV, FLAC, Ogg "
                         "Vorbis/Opus, MP3, AIFF, ...)";

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
  std::string error;
  return decode_sndfile(f.get(), info, max_seconds, error);
}

std::optional<std::string> decode_audio_as_mulaw(std::string_view bytes,
                                                 double max_seconds,
                                                 std::string& error) {
  if (bytes.empty()) {
    error = "empty audio";
    return std::nullopt;
  }
  if (vorbis_headers_broken(bytes)) {
    error = unreadable;
    return std::nullopt;
  }
  memory_file file{bytes};
  SF_VIRTUAL_IO io{memory_length, memory_seek, memory_read, memory_write,
                   memory_tell};
  SF_INFO info{};
  sf_ptr f(sf_open_virtual(&io, SFM_READ, &info, &file));
  if (!f) {
    error = unreadable;
    return std::nullopt;
  }
  auto out = decode_sndfile(f.get(), info, max_seconds, error);
  if (out && out->size() < mulaw::frame_bytes) {
    error = out->empty() ? "empty audio" : "audio shorter than 20 ms";
    return std::nullopt;
  }
  return out;
}

std::string pcm16_as_mulaw(std::string_view pcm_s16le, int sample_rate) {
  std::string out;
  if (sample_rate < min_rate || sample_rate > max_rate)
    return out;
  auto n = pcm_s16le.size() / 2; // an odd trailing byte is ignored
  out.reserve(static_cast<std::size_t>(static_cast<double>(n) * telephone_rate
                                       / sample_rate)
              + 64);
  auto* p = reinterpret_cast<const unsigned char*>(pcm_s16le.data());
  auto sample = [p](std::size_t i) {
    return static_cast<std::int16_t>(
      static_cast<std::uint16_t>(p[2 * i] | (p[2 * i + 1] << 8)));
  };
  if (sample_rate == telephone_rate) {
    for (std::size_t i = 0; i < n; ++i)
      out.push_back(static_cast<char>(mulaw::encode(sample(i))));
    return out;
  }
  mulaw_sink sink(sample_rate, out);
  std::vector<float> buf(chunk);
  for (std::size_t i = 0; i < n;) {
    auto m = std::min(chunk, n - i);
    for (std::size_t k = 0; k < m; ++k)
      buf[k] = static_cast<float>(sample(i + k)) / 32768.0f;
    if (!sink.push(buf.data(), m))
      return {};
    i += m;
  }
  if (!sink.finish())
    return {};
  return out;
}

namespace {
/// Appends the low `bytes` bytes of `v`, little-endian (RIFF's order).
void put_le(std::string& out, std::uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
} // namespace

std::string mulaw_to_pcm_wav(std::string_view mulaw) {
  std::vector<std::int16_t> pcm;
  pcm.reserve(mulaw.size());
  mulaw::decode(mulaw, pcm);
  auto data_bytes = static_cast<std::uint32_t>(pcm.size() * 2);
  std::string out;
  out.reserve(44 + data_bytes);
  auto u32 = [&out](std::uint32_t v) { put_le(out, v, 4); };
  auto u16 = [&out](std::uint16_t v) { put_le(out, v, 2); };
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

std::string mulaw_wav(std::string_view mulaw) {
  auto n = static_cast<std::uint32_t>(mulaw.size());
  bool pad = n % 2 != 0; // chunks are word-aligned
  std::string out;
  out.reserve(58 + n + (pad ? 1 : 0));
  auto u32 = [&out](std::uint32_t v) { put_le(out, v, 4); };
  auto u16 = [&out](std::uint16_t v) { put_le(out, v, 2); };
  constexpr std::uint32_t rate = 8000;
  out += "RIFF";
  u32(4 + 26 + 12 + 8 + n + (pad ? 1 : 0));
  out += "WAVEfmt ";
  u32(18);   // fmt chunk size (with cbSize)
  u16(7);    // WAVE_FORMAT_MULAW
  u16(1);    // mono
  u32(rate); // samples per second
  u32(rate); // bytes per second
  u16(1);    // block align
  u16(8);    // bits per sample
  u16(0);    // cbSize
  out += "fact";
  u32(4);
  u32(n); // samples
  out += "data";
  u32(n);
  out.append(mulaw.data(), mulaw.size());
  if (pad)
    out.push_back('\0');
  return out;
}

} // namespace al
