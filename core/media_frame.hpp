#pragma once

// Inbound Twilio Media Streams messages (JSON text frames, PROTOCOLS.md §1.2)
// parsed with simdjson on-demand, in place, into a reusable struct. Meant to
// run on the I/O thread for every 20 ms frame: after warm-up, parsing a media
// frame allocates nothing (strings keep their capacity between frames).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

namespace al {

/// The `event` of an inbound message.
enum class media_event { connected, start, media, mark, dtmf, stop, unknown };

/// Outcome of parsing one frame.
enum class media_error {
  ok,
  invalid_json,      ///< not JSON, truncated, trailing garbage, bad UTF-8
  missing_field,     ///< a field this event needs is absent
  bad_base64,        ///< media.payload is not standard padded base64
  payload_too_large, ///< decoded payload > media_max_payload, or huge frame
  wrong_type,        ///< a field (or the root) has the wrong JSON type
};

/// Largest decoded media payload accepted (Twilio sends 160 bytes).
constexpr std::size_t media_max_payload = 4096;

/// Largest inbound text frame accepted by the parser.
constexpr std::size_t media_max_frame = 64 * 1024;

/// Short English name of an error ("invalid_json", ...), for logs.
std::string_view to_string(media_error e) noexcept;

/// Short name of an event ("media", ...), for logs.
std::string_view to_string(media_event e) noexcept;

/// One parsed message. Fields not carried by the event are left empty/zero.
/// Reuse one instance per connection: strings keep their capacity.
struct media_frame {
  media_event event = media_event::unknown;
  std::string stream_sid;            ///< top level (or start.streamSid)
  std::uint64_t sequence_number = 0; ///< 0 when absent (e.g. `connected`)

  // connected
  std::string protocol; ///< e.g. "Call"
  std::string version;  ///< e.g. "1.0.0"

  // start (call_sid/account_sid also filled by stop)
  std::string call_sid;
  std::string account_sid;
  std::vector<std::string> tracks;
  std::vector<std::pair<std::string, std::string>> custom_parameters;
  std::string encoding;          ///< mediaFormat.encoding
  std::uint32_t sample_rate = 0; ///< mediaFormat.sampleRate
  std::uint32_t channels = 0;    ///< mediaFormat.channels

  // media
  std::string track;           ///< "inbound"/"outbound"; may be empty
  std::uint64_t chunk = 0;     ///< 0 when absent
  std::uint64_t timestamp = 0; ///< ms since stream start; 0 when absent
  std::string payload;         ///< decoded mu-law bytes

  // mark / dtmf
  std::string mark_name;
  std::string dtmf_digit; ///< usually one of 0-9 * #
  std::string dtmf_track;

  // unknown
  std::string event_name; ///< the raw `event` when it is unknown

  /// Value of custom parameter `name`, or nullptr.
  const std::string* custom_parameter(std::string_view name) const noexcept;

  /// Empties every field, keeping string capacity.
  void reset() noexcept;
};

/// Parses frames of one connection; owns (and reuses) the simdjson parser.
/// Not thread-safe: one instance per connection or per I/O thread.
class media_frame_parser {
public:
  media_frame_parser();

  /// Parses `json` (whose buffer has >= SIMDJSON_PADDING readable bytes
  /// past its end) into `out`. Never throws; on error `out` is partially
  /// filled and must not be used. Accepts fields in any order; unknown
  /// fields are ignored; `sequenceNumber`, `chunk`, `timestamp`,
  /// `sampleRate`, `channels` may be JSON strings or numbers.
  media_error parse(simdjson::padded_string_view json, media_frame& out);

  /// Same, for a caller-owned buffer: `capacity` is the allocated size of
  /// `data` (must be >= len + SIMDJSON_PADDING, else the frame is copied
  /// into an internal padded buffer first).
  media_error parse(const char* data, std::size_t len, std::size_t capacity,
                    media_frame& out);

  /// Same, copying `text` into an internal padded buffer first (tests, or
  /// callers that cannot reserve padding).
  media_error parse_copy(std::string_view text, media_frame& out);

private:
  simdjson::ondemand::parser parser_;
  std::string scratch_; ///< padded copy for parse_copy
};

} // namespace al
