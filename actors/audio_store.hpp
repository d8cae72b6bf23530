#pragma once

// Call audio kept in PostgreSQL (schemas/0017_audio.sql), so that any
// instance serves any recording: one `call_audio` row per object (a caller
// turn, a downloaded Twilio recording, the whole two-sided call) and its
// bytes in fixed-size `call_audio_chunks` rows. Writes go through the
// store's ordered write queue (off the media path, retried across outages,
// idempotent by (call_sid, kind, seq, chunk_no)).

#include "actors/store.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace al {

/// Bytes per chunk row (a range request reads only the chunks it needs).
inline constexpr std::size_t audio_chunk_bytes = 256 * 1024;

/// What an audio object is. Stored as text in call_audio.kind.
///   "segment"   a caller turn (WAV, seq = the turn number)
///   "recording" a recording downloaded from Twilio (voicemail/fallback)
///   "call"      the whole two-sided call (Ogg/Opus, seq 0), record_calls on
std::string_view audio_kind_segment();
std::string_view audio_kind_recording();
std::string_view audio_kind_call();

/// Queues one whole object (split into chunks). Returns false when the
/// write queue refused it (full or shut down).
bool save_audio(const store& db, std::string call_sid, std::string kind,
                int seq, std::string content_type, std::string bytes,
                int duration_ms);

/// Streaming writers (the whole-call recording): queues chunk `chunk_no`
/// (0, 1, ...; every chunk but the last exactly audio_chunk_bytes long) of
/// the object; `last` marks the object complete with its duration. An
/// object is served only once complete.
bool append_audio_chunk(const store& db, const std::string& call_sid,
                        const std::string& kind, int seq,
                        const std::string& content_type, int chunk_no,
                        std::string bytes, bool last, int duration_ms);

} // namespace al
