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
#include <string_view>

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

// -- reading (on a store job: any instance serves any object) ----------------

/// A complete object of a business's call.
struct audio_object {
  std::int64_t id = 0;
  std::string content_type;
  std::uint64_t total_bytes = 0;
  int duration_ms = 0;
};

/// The complete object (`kind`, `seq`) of call `call_sid` of `business`.
std::optional<audio_object>
find_call_audio(db_tx& tx, std::int64_t business, const std::string& call_sid,
                std::string_view kind, std::int64_t seq);

/// What GET /api/crm/calls/{sid}/recording plays: the whole-call recording
/// ("call") when complete, else the downloaded Twilio one ("recording").
/// get_call's `recording_url` is set by the same condition.
std::optional<audio_object> find_call_recording(db_tx& tx,
                                                std::int64_t business,
                                                const std::string& call_sid);

/// Bytes [first, last] (inclusive, last < total_bytes) of `object`, reading
/// only the chunks that hold them; nullopt when stored chunks are missing
/// or of the wrong size (logged). An empty object reads as "" for (0, 0)
/// only when total_bytes is 0.
std::optional<std::string>
read_audio_bytes(db_tx& tx, const audio_object& object, std::uint64_t first,
                 std::uint64_t last);

// -- in a caller's transaction ------------------------------------------------

/// Stores a whole object for call `call_sid` of `business` in `tx` (the
/// import of old files), unless one with the same (call_sid, kind, seq)
/// exists. Returns true when it stored one.
bool insert_audio(db_tx& tx, std::int64_t business, const std::string& call_sid,
                  std::string_view kind, int seq,
                  const std::string& content_type, std::string_view bytes,
                  int duration_ms);

} // namespace al
