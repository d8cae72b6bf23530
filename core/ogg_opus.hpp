#pragma once

// A streaming Ogg/Opus encoder for telephone audio (8 kHz mu-law or PCM16,
// one or two channels) over libopus and libogg (RFC 7845), coded at the
// input's own 8 kHz -- nothing is resampled. Pages come out through a
// callback as they are completed (about one a second), so a long recording
// never sits whole in memory; an encoder holds ~52 KiB (mono) / ~96 KiB
// (two channels; ~85 KiB of it libopus's state), see memory_bytes().
// Tuned for speech: 20 ms frames, signal type voice, narrowband, VBR at a
// low bitrate (8 kbit/s per channel by default) and moderate complexity.
//
// Not thread-safe (one owner). No exception leaves it: failures make the
// encoder inert, ok() false and error() say why. libopus's and libogg's
// headers stay in ogg_opus.cpp.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace al {

struct ogg_opus_options {
  /// 1 or 2 (interleaved). Two channels are coded as two independent mono
  /// streams (channel mapping family 1): no joint stereo, so one side never
  /// bleeds into the other.
  int channels = 1;
  int bitrate = 0;    ///< bits/s for all channels; 0: 8000 per channel
  int complexity = 5; ///< 0..10
  /// Comment tags (e.g. {"TITLE", "..."}); an ENCODER tag naming
  /// AgentLocator is always added.
  std::vector<std::pair<std::string, std::string>> tags;
};

class ogg_opus_encoder {
public:
  /// Receives Ogg bytes (whole pages) in order; called from write_*() and
  /// finish(), never after finish() returned.
  using page_fn = std::function<void(std::string_view bytes)>;

  /// Input is 8 kHz. A bad option or an allocation failure leaves the
  /// encoder failed (see ok()).
  explicit ogg_opus_encoder(page_fn out, ogg_opus_options opts = {});
  ~ogg_opus_encoder();

  ogg_opus_encoder(const ogg_opus_encoder&) = delete;
  ogg_opus_encoder& operator=(const ogg_opus_encoder&) = delete;

  /// Interleaved PCM16, `samples_per_channel` samples of every channel.
  bool write_pcm(const std::int16_t* interleaved,
                 std::size_t samples_per_channel);

  /// Mu-law: one byte per sample of a mono encoder. With two channels,
  /// `left` and `right` must be as long as each other.
  bool write_mulaw(std::string_view left, std::string_view right = {});

  /// Ends the stream: the last pages (end-of-stream flag set, final
  /// granule position = the input's duration; the last frame is padded
  /// with silence and trimmed by that granule) go out, then the codec
  /// state is freed. With no audio written, the stream holds 20 ms of
  /// silence. Idempotent; false when the encoder failed.
  bool finish();

  bool ok() const noexcept {
    return error_.empty();
  }
  const std::string& error() const noexcept {
    return error_;
  }
  bool finished() const noexcept {
    return finished_;
  }
  int channels() const noexcept {
    return channels_;
  }
  /// Input samples per channel written so far.
  std::uint64_t samples() const noexcept {
    return samples_;
  }
  /// Ogg bytes handed to the callback so far.
  std::uint64_t bytes_out() const noexcept {
    return bytes_out_;
  }
  /// Heap held by the codec state (libopus's encoder by its get_size,
  /// libogg's stream buffers, the page scratch); 0 once finished.
  std::size_t memory_bytes() const noexcept;

private:
  struct impl; // libopus + libogg state (ogg_opus.cpp); nested: sees out_
  void fail(std::string why);

  page_fn out_;
  std::unique_ptr<impl> impl_;
  std::string error_;
  int channels_ = 1;
  bool finished_ = false;
  std::uint64_t samples_ = 0;
  std::uint64_t bytes_out_ = 0;
};

/// Encodes a whole mono mu-law buffer; empty on failure.
std::string encode_ogg_opus_mulaw(std::string_view mulaw,
                                  const ogg_opus_options& opts = {});

} // namespace al
