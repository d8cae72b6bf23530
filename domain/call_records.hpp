#pragma once

// Use cases of the CRM's view of calls (/api/crm/calls): the list, one
// call with its events, and its stored audio (a caller turn, or the
// recording). Input is parsed and authorised by transport; each use case
// runs in one transaction and answers once through `done`. Audio is read
// from PostgreSQL (any instance serves any call's audio), only the chunks
// a range needs, and the transaction ends with the reads.

#include "actors/domain.hpp"
#include "core/crm_input.hpp"
#include "core/http_range.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace al::domain::call_records {

/// {"items":[...],"page","per_page","total"} of the calls `f` selects.
void list(const store& db, scope s, call_filter f, reply_fn done);

/// The call with its ordered events, transcript lines, audio segment links
/// and recording link, or 404.
void get(const store& db, scope s, std::string sid, reply_fn done);

/// Stored audio, judged against one byte range.
struct audio_result {
  /// not_found "No such business" (scope.verify) or "No such audio" (no
  /// complete object, or its stored chunks do not add up); unavailable or
  /// internal when the database failed.
  domain_status status;
  /// whole: `body` is the object; partial: `body` is `range`, at most four
  /// chunks of it (RFC 9110 lets a server send less than asked);
  /// unsatisfiable: the range lies past the end (nothing read).
  range_request::kind what = range_request::kind::whole;
  byte_range range;
  std::uint64_t total_bytes = 0;
  std::string content_type;
  std::string body;
};

using audio_fn = std::function<void(audio_result)>;

/// Caller turn `seq` of call `sid`. `range`: the Range header's value, empty
/// for the whole object.
void segment_audio(const store& db, scope s, std::string sid, std::int64_t seq,
                   std::string range, audio_fn done);

/// The recording of call `sid` (the whole two-sided call when complete,
/// else the one downloaded from Twilio).
void recording_audio(const store& db, scope s, std::string sid,
                     std::string range, audio_fn done);

} // namespace al::domain::call_records
