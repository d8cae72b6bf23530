#include "core/ogg_opus.hpp"

#include "core/mulaw.hpp"

#include <ogg/ogg.h>
#include <opus/opus.h>
#include <opus/opus_multistream.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>

// RFC 7845 (Ogg encapsulation of Opus) over libopus and libogg, at the
// input's own 8 kHz (Opus codes 8 kHz natively: nothing is resampled):
//   page 0  OpusHead (BOS), alone
//   page 1  OpusTags, alone
//   then    20 ms packets; a page goes out at 4 KiB (libogg) or after about
//           a second of audio, whichever comes first
//   last    EOS; granule = pre-skip + the input's duration (48 kHz units),
//           which trims the silence padding the last frame and the
//           encoder's look-ahead.
// Granule positions count 48 kHz samples from the first packet, pre-skip
// included: packet k (1-based) ends at k * 960.

namespace al {

namespace {

constexpr int input_rate = 8000;
constexpr int frame = 160; // 20 ms at 8 kHz
constexpr int to_48k = 48000 / input_rate;
constexpr ogg_int64_t granule_per_frame = frame * to_48k; // 960
constexpr ogg_int64_t page_every = 48000;                 // ~1 s a page
constexpr opus_int32 max_packet = 1500; // per stream; 20 ms NB is tens of bytes
constexpr const char* encoder_tag = "AgentLocator call recorder";

std::string opus_failure(const char* what, int code) {
  return std::string{what} + ": " + opus_strerror(code);
}

void put16(std::string& s, unsigned v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>((v >> 8) & 0xff));
}

void put32(std::string& s, std::uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}

/// A serial number that differs between streams (RFC 3533 wants it unique
/// within a physical stream; ours hold one logical stream, so this is only
/// hygiene for tools that concatenate files).
int new_serial(const void* self) {
  static std::atomic<std::uint64_t> counter{0};
  std::uint64_t x
    = counter.fetch_add(1, std::memory_order_relaxed)
      ^ reinterpret_cast<std::uintptr_t>(self)
      ^ static_cast<std::uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return static_cast<int>(static_cast<std::uint32_t>(x));
}

/// A Vorbis-comment field name: printable ASCII 0x20..0x7D without '='.
bool valid_tag(const std::string& tag) {
  if (tag.empty())
    return false;
  return std::all_of(tag.begin(), tag.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7d && c != '='; });
}

/// Hands libogg's pages to `emit`: every complete page, or everything
/// when `flush`. False when emit failed.
template <class Emit>
bool drain_pages(ogg_stream_state& os, bool flush, Emit&& emit) {
  ogg_page og;
  while (flush ? ogg_stream_flush(&os, &og) : ogg_stream_pageout(&os, &og))
    if (!emit(og))
      return false;
  return true;
}

/// libogg starts every stream with 28 KiB of buffers (16 KiB of body, 1024
/// lacing and granule slots) and grows them with realloc as needed. Our
/// pages hold about a second of 20 ms packets (~2 KiB at 16 kbit/s), so
/// that is mostly idle; start smaller. The fields are public (ogg.h) and
/// libogg grows them on demand (_os_body_expand/_os_lacing_expand), so the
/// only assumption is that it allocates with malloc/realloc/free -- its
/// default (os_types.h). A failed realloc leaves the original buffers.
void shrink_stream_buffers(ogg_stream_state& os) {
  constexpr long body = 4096;
  constexpr long lacing = 128;
  if (os.body_fill == 0 && os.body_storage > body) {
    if (void* p = std::realloc(os.body_data, body)) {
      os.body_data = static_cast<unsigned char*>(p);
      os.body_storage = body;
    }
  }
  if (os.lacing_fill == 0 && os.lacing_storage > lacing) {
    if (void* l = std::realloc(os.lacing_vals,
                               lacing * sizeof(*os.lacing_vals))) {
      os.lacing_vals = static_cast<int*>(l);
      // granule_vals keeps its 1024 slots if this one fails: still at
      // least `lacing`, which is all lacing_storage promises.
      if (void* g = std::realloc(os.granule_vals,
                                 lacing * sizeof(*os.granule_vals)))
        os.granule_vals = static_cast<ogg_int64_t*>(g);
      os.lacing_storage = lacing;
    }
  }
}

} // namespace

// A nested class: it sees the encoder's private members (out_, fail, ...).
struct ogg_opus_encoder::impl {
  OpusMSEncoder* enc = nullptr;
  ogg_stream_state os{};
  bool os_ready = false;
  int channels = 1;
  int lookahead = 0; // encoder delay, 8 kHz samples
  std::string head;  // OpusHead packet
  std::string tags;  // OpusTags packet (freed once sent)
  bool headers_out = false;
  std::int16_t pcm[frame * 2] = {}; // the frame being filled (interleaved)
  int fill = 0;                     // samples per channel in pcm
  ogg_int64_t packets = 0;          // audio packets coded
  ogg_int64_t page_start = 0;       // granule at the last page boundary
  std::string page;                 // one page, header + body, for the callback

  ~impl() {
    if (enc)
      opus_multistream_encoder_destroy(enc);
    if (os_ready)
      ogg_stream_clear(&os);
  }

  /// One page to the callback, as one contiguous byte string.
  static bool emit(ogg_opus_encoder& e, const ogg_page& og) {
    auto& st = *e.impl_;
    try {
      st.page.assign(reinterpret_cast<const char*>(og.header),
                     static_cast<std::size_t>(og.header_len));
      st.page.append(reinterpret_cast<const char*>(og.body),
                     static_cast<std::size_t>(og.body_len));
      if (e.out_)
        e.out_(std::string_view{st.page});
    } catch (...) {
      e.fail("ogg_opus: page output failed");
      return false;
    }
    e.bytes_out_ += st.page.size();
    st.page_start = ogg_page_granulepos(&og);
    return true;
  }

  static bool pages(ogg_opus_encoder& e, bool flush) {
    return drain_pages(e.impl_->os, flush,
                       [&e](const ogg_page& og) { return emit(e, og); });
  }

  /// OpusHead and OpusTags, each on its own page, before the first audio.
  static bool headers(ogg_opus_encoder& e) {
    auto& st = *e.impl_;
    if (st.headers_out)
      return true;
    st.headers_out = true;
    for (int i = 0; i < 2; ++i) {
      auto& body = i == 0 ? st.head : st.tags;
      ogg_packet op{};
      op.packet = reinterpret_cast<unsigned char*>(body.data());
      op.bytes = static_cast<long>(body.size());
      op.b_o_s = i == 0;
      op.packetno = i;
      if (ogg_stream_packetin(&st.os, &op) != 0) {
        e.fail("ogg_opus: out of memory");
        return false;
      }
      if (!pages(e, true))
        return false;
    }
    st.tags = std::string{}; // not needed again
    st.page_start = 0;
    return true;
  }

  /// Codes the full frame in st.pcm. `last`: the stream's final packet,
  /// whose granule is `final_granule`.
  static bool encode(ogg_opus_encoder& e, bool last,
                     ogg_int64_t final_granule) {
    auto& st = *e.impl_;
    unsigned char packet[2 * max_packet];
    opus_int32 n = opus_multistream_encode(st.enc, st.pcm, frame, packet,
                                           max_packet * st.channels);
    if (n < 0) {
      e.fail(opus_failure("ogg_opus: encoding failed", n));
      return false;
    }
    ++st.packets;
    ogg_packet op{};
    op.packet = packet;
    op.bytes = n;
    op.e_o_s = last;
    op.granulepos = last ? final_granule : st.packets * granule_per_frame;
    op.packetno = st.packets + 1;
    if (ogg_stream_packetin(&st.os, &op) != 0) {
      e.fail("ogg_opus: out of memory");
      return false;
    }
    st.fill = 0;
    // A page at 4 KiB (libogg's choice), or when a second has gathered.
    return pages(e, last || op.granulepos - st.page_start >= page_every);
  }

  /// Feeds `n` samples per channel; sample(i, ch) gives each one.
  template <class Sample>
  static bool feed(ogg_opus_encoder& e, std::size_t n, Sample&& sample) {
    if (!e.ok() || e.finished_ || !e.impl_ || !e.impl_->enc)
      return false;
    if (n == 0)
      return true;
    if (!headers(e))
      return false;
    auto& st = *e.impl_;
    int ch = st.channels;
    std::size_t i = 0;
    while (i < n) {
      auto k = std::min<std::size_t>(n - i,
                                     static_cast<std::size_t>(frame - st.fill));
      std::int16_t* to = st.pcm + st.fill * ch;
      for (std::size_t j = 0; j < k; ++j)
        for (int c = 0; c < ch; ++c)
          *to++ = sample(i + j, c);
      st.fill += static_cast<int>(k);
      i += k;
      e.samples_ += k;
      if (st.fill == frame && !encode(e, false, 0))
        return false;
    }
    return true;
  }

  /// Pads the last frame with silence and codes until the look-ahead is
  /// out too; the EOS page's granule trims the padding.
  static bool finish(ogg_opus_encoder& e) {
    auto& st = *e.impl_;
    if (!headers(e))
      return false;
    // An empty recording is 20 ms of silence: a zero-length stream is
    // legal but players treat it unevenly. (samples() stays 0.)
    std::uint64_t samples = e.samples_ > 0 ? e.samples_ : frame;
    auto total = static_cast<ogg_int64_t>(samples) + st.lookahead;
    ogg_int64_t final_granule = total * to_48k;
    for (;;) {
      std::fill(st.pcm + st.fill * st.channels, st.pcm + frame * st.channels,
                std::int16_t{0});
      st.fill = frame;
      bool last = (st.packets + 1) * frame >= total;
      if (!encode(e, last, final_granule))
        return false;
      if (last)
        return true;
    }
  }

  std::size_t memory() const {
    std::size_t n = sizeof(impl) + head.capacity() + tags.capacity()
                    + page.capacity();
    if (enc)
      n += static_cast<std::size_t>(
        opus_multistream_encoder_get_size(channels == 2 ? 2 : 1, 0));
    if (os_ready)
      n += static_cast<std::size_t>(os.body_storage)
           + static_cast<std::size_t>(os.lacing_storage)
               * (sizeof(*os.lacing_vals) + sizeof(*os.granule_vals));
    return n;
  }
};

ogg_opus_encoder::ogg_opus_encoder(page_fn out, ogg_opus_options opts)
  : out_(std::move(out))
  , channels_(opts.channels) {
  if (channels_ != 1 && channels_ != 2) {
    fail("ogg_opus: channels must be 1 or 2");
    return;
  }
  try {
    impl_ = std::make_unique<impl>();
  } catch (const std::exception&) {
    fail("ogg_opus: out of memory");
    return;
  }
  auto& st = *impl_;
  st.channels = channels_;
  // One mono stream per channel, never coupled: a joint-stereo coder at a
  // speech bitrate folds the sides together, and a call's two parties
  // must stay apart. (With one channel this is a plain Opus stream.)
  static const unsigned char mapping[2] = {0, 1};
  int err = OPUS_OK;
  st.enc = opus_multistream_encoder_create(
    input_rate, channels_, channels_, 0, mapping, OPUS_APPLICATION_VOIP, &err);
  if (!st.enc || err != OPUS_OK) {
    st.enc = nullptr;
    fail(opus_failure("ogg_opus: cannot create the encoder", err));
    return;
  }
  int bitrate = opts.bitrate > 0 ? opts.bitrate : 8000 * channels_;
  int complexity = std::clamp(opts.complexity, 0, 10);
  // Speech from an 8 kHz line: SILK, narrowband (nothing above 4 kHz
  // exists), VBR, a bitrate far under mu-law's 64 kbit/s per channel.
  for (int rc :
       {opus_multistream_encoder_ctl(st.enc,
                                     OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)),
        opus_multistream_encoder_ctl(st.enc, OPUS_SET_BITRATE(bitrate)),
        opus_multistream_encoder_ctl(st.enc, OPUS_SET_COMPLEXITY(complexity)),
        opus_multistream_encoder_ctl(st.enc, OPUS_SET_VBR(1)),
        opus_multistream_encoder_ctl(
          st.enc, OPUS_SET_MAX_BANDWIDTH(OPUS_BANDWIDTH_NARROWBAND))})
    if (rc != OPUS_OK) {
      fail(opus_failure("ogg_opus: encoder setting refused", rc));
      return;
    }
  opus_int32 lookahead = 0;
  err = opus_multistream_encoder_ctl(st.enc, OPUS_GET_LOOKAHEAD(&lookahead));
  if (err != OPUS_OK) {
    fail(opus_failure("ogg_opus: no look-ahead", err));
    return;
  }
  if (lookahead < 0 || lookahead * to_48k > 0xffff) {
    fail("ogg_opus: look-ahead out of range");
    return;
  }
  st.lookahead = static_cast<int>(lookahead);
  if (ogg_stream_init(&st.os, new_serial(this)) != 0) {
    fail("ogg_opus: out of memory");
    return;
  }
  st.os_ready = true;
  shrink_stream_buffers(st.os);
  try {
    // OpusHead (RFC 7845 5.1). Mono: mapping family 0. Two channels:
    // family 1 with 2 streams, 0 coupled, table [0, 1] (5.1.1.2 allows any
    // stream/coupled split; browsers play it).
    auto& h = st.head;
    h = "OpusHead";
    h.push_back(1); // version
    h.push_back(static_cast<char>(channels_));
    put16(h, static_cast<unsigned>(st.lookahead * to_48k)); // pre-skip
    put32(h, input_rate);
    put16(h, 0); // output gain
    if (channels_ == 1) {
      h.push_back(0);
    } else {
      h.push_back(1); // family
      h.push_back(2); // streams
      h.push_back(0); // coupled
      h.push_back(0); // left  -> stream 0
      h.push_back(1); // right -> stream 1
    }
    // OpusTags (5.2): vendor, then TAG=value comments.
    auto& t = st.tags;
    const char* vendor = opus_get_version_string();
    t = "OpusTags";
    put32(t, static_cast<std::uint32_t>(std::strlen(vendor)));
    t += vendor;
    std::vector<std::string> comments;
    comments.push_back(std::string{"ENCODER="} + encoder_tag);
    for (auto& [tag, value] : opts.tags)
      if (valid_tag(tag))
        comments.push_back(tag + "=" + value);
    put32(t, static_cast<std::uint32_t>(comments.size()));
    for (auto& c : comments) {
      put32(t, static_cast<std::uint32_t>(c.size()));
      t += c;
    }
  } catch (const std::exception&) {
    fail("ogg_opus: out of memory");
    return;
  }
}

ogg_opus_encoder::~ogg_opus_encoder() = default;

void ogg_opus_encoder::fail(std::string why) {
  if (error_.empty())
    error_ = std::move(why);
}

bool ogg_opus_encoder::write_pcm(const std::int16_t* interleaved,
                                 std::size_t samples_per_channel) {
  auto ch = static_cast<std::size_t>(channels_);
  return impl::feed(*this, samples_per_channel,
                    [interleaved, ch](std::size_t i, int c) {
                      return interleaved[i * ch + static_cast<std::size_t>(c)];
                    });
}

bool ogg_opus_encoder::write_mulaw(std::string_view left,
                                   std::string_view right) {
  if (!ok() || finished_)
    return false;
  if (channels_ == 1)
    return impl::feed(*this, left.size(), [left](std::size_t i, int) {
      return mulaw::decode(static_cast<std::uint8_t>(left[i]));
    });
  if (left.size() != right.size()) {
    fail("ogg_opus: the two channels differ in length");
    return false;
  }
  return impl::feed(*this, left.size(), [left, right](std::size_t i, int c) {
    return mulaw::decode(
      static_cast<std::uint8_t>(c == 0 ? left[i] : right[i]));
  });
}

bool ogg_opus_encoder::finish() {
  if (finished_)
    return ok();
  bool good = ok() && impl_ && impl_->enc && impl::finish(*this);
  finished_ = true;
  // The encoder's state (libopus + libogg buffers) is not needed any more.
  impl_.reset();
  return good && ok();
}

std::size_t ogg_opus_encoder::memory_bytes() const noexcept {
  return impl_ ? impl_->memory() : 0;
}

std::string encode_ogg_opus_mulaw(std::string_view mulaw,
                                  const ogg_opus_options& opts) {
  std::string out;
  auto o = opts;
  o.channels = 1;
  ogg_opus_encoder enc{[&out](std::string_view page) { out.append(page); },
                       std::move(o)};
  if (!enc.write_mulaw(mulaw) || !enc.finish())
    return {};
  return out;
}

} // namespace al
