#pragma once

// WAV files for call audio: caller segments are written as 8 kHz mono
// mu-law WAV (libsndfile), and a business's uploaded greeting (any format
// libsndfile reads) is converted to 8 kHz mono mu-law (libsoxr resampling).

#include <optional>
#include <string>
#include <string_view>

namespace al {

/// Writes `mulaw_bytes` (8 kHz mono G.711 mu-law) as a WAV file
/// (SF_FORMAT_WAV | SF_FORMAT_ULAW) at `path`, byte-exact. Writes to
/// `path + ".tmp"` then renames, so readers never see a partial file.
/// Returns false on any I/O error (no partial file is left behind).
bool write_mulaw_wav(const std::string& path, std::string_view mulaw_bytes);

/// Reads any audio file libsndfile opens (WAV PCM/float/mu-law/A-law, ...)
/// and returns it as 8 kHz mono mu-law: channels are averaged, other rates
/// resampled with soxr (HQ). An 8 kHz mono mu-law WAV is returned
/// byte-exact. The result is not padded (see pad_to_frames in tts.hpp).
/// Returns nullopt when the file cannot be opened or read, or is longer
/// than `max_seconds`.
std::optional<std::string> read_wav_as_mulaw(const std::string& path,
                                             double max_seconds = 600);

/// `mulaw` (8 kHz mono G.711 mu-law) as the bytes of a 16-bit PCM WAV file
/// (44-byte header, little-endian), which every browser plays; mu-law WAV
/// is not. Used by the dashboard's greeting preview.
std::string mulaw_to_pcm_wav(std::string_view mulaw);

} // namespace al
