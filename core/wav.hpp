#pragma once

// WAV files for call audio: caller segments are written as 8 kHz mono
// mu-law WAV (libsndfile), and a business's uploaded greeting (any format
// libsndfile reads, from a file or from memory) or a rendered TTS greeting
// (raw PCM16) is converted to 8 kHz mono mu-law (libsoxr resampling).

#include <optional>
#include <string>
#include <string_view>

namespace al {

/// Writes `mulaw_bytes` (8 kHz mono G.711 mu-law) as a WAV file
/// (SF_FORMAT_WAV | SF_FORMAT_ULAW) at `path`, byte-exact. Writes to
/// `path + ".tmp"` then renames, so readers never see a partial file.
/// Returns false on any I/O error (no partial file is left behind).
bool write_mulaw_wav(const std::string& path, std::string_view mulaw_bytes);

/// Reads an audio file by path and converts it exactly like
/// decode_audio_as_mulaw (same formats, conversion and limits), except that
/// an empty or very short file is not an error (an empty file gives an
/// empty string). Meant for local files this service wrote; uploads go
/// through decode_audio_as_mulaw, which also screens Ogg/Vorbis headers.
/// Returns nullopt when the file cannot be opened or read, is truncated, or
/// is longer than `max_seconds`.
std::optional<std::string> read_wav_as_mulaw(const std::string& path,
                                             double max_seconds = 600);

/// Decodes an audio file held in memory (an upload) to 8 kHz mono mu-law,
/// through libsndfile's virtual I/O: WAV (PCM 8/16/24/32, float, mu-law,
/// A-law), FLAC, Ogg/Vorbis, Ogg/Opus, MP3 (when libsndfile was built with
/// MPEG support), AIFF, AU, CAF, ... Channels are averaged, other rates
/// resampled with soxr (HQ); an 8 kHz mono mu-law file is returned
/// byte-exact. The result is not padded (see pad_to_frames in tts.hpp).
///
/// Returns nullopt and sets `error` to a short English reason, fit for a
/// 4xx response, when the bytes are not audio libsndfile can read, are
/// truncated or corrupt, have no or more than 8 channels, a sample rate
/// outside 1 kHz..384 kHz, more than `max_seconds` of audio, or less than
/// 20 ms (one 160-byte frame) of it. Safe on hostile input: memory is
/// bounded by the output (at most `max_seconds` x 8000 bytes) plus fixed
/// buffers, whatever the header claims. `error` is left alone on success.
/// CPU-bound (decoding and resampling up to `max_seconds` of audio at up to
/// 384 kHz x 8 channels): call it off the I/O threads. Thread-safe. libmpg123
/// prints notes about damaged MP3 data to stderr; nothing else is printed.
std::optional<std::string> decode_audio_as_mulaw(std::string_view bytes,
                                                 double max_seconds,
                                                 std::string& error);

/// Raw signed 16-bit little-endian mono PCM at `sample_rate` (the OpenAI
/// /audio/speech endpoint's `response_format: "pcm"` is 24000 Hz) as 8 kHz
/// mu-law, resampled with soxr (HQ); 8000 Hz input is encoded as is. An odd
/// trailing byte is ignored. Returns an empty string for empty input or a
/// sample rate outside 1 kHz..384 kHz. Not padded (see pad_to_frames).
std::string pcm16_as_mulaw(std::string_view pcm_s16le, int sample_rate);

/// `mulaw` (8 kHz mono G.711 mu-law) as the bytes of a 16-bit PCM WAV file
/// (44-byte header, little-endian), which every browser plays; mu-law WAV
/// is not. Used by the dashboard's greeting preview.
std::string mulaw_to_pcm_wav(std::string_view mulaw);

/// `mulaw` (8 kHz mono G.711 mu-law) as the bytes of a mu-law WAV file
/// (WAVE_FORMAT_MULAW: fmt, fact and data chunks), the bytes kept as they
/// are: what write_mulaw_wav writes, in memory (caller turns stored in the
/// database).
std::string mulaw_wav(std::string_view mulaw);

} // namespace al
