#pragma once

// The after-call job's wire formats (SPEC §7 "After every call", PROTOCOLS
// §10), as pure functions: the multipart/form-data upload of a caller turn
// to an OpenAI-compatible /audio/transcriptions server and its answer, the
// chat-completions request that asks for a summary in a strict JSON schema
// and the strict validation of what the model answered (hostile input), and
// the scripted summary of a call without a model.

#include "core/realtime_wire.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace al {

/// One part of a multipart/form-data body: a field, or a file when
/// `filename` is set.
struct form_part {
  std::string name;
  std::string data;
  std::string filename;     // "" = a plain field
  std::string content_type; // only for files ("" = none sent)
};

/// A multipart/form-data body and its Content-Type header value.
struct multipart_body {
  std::string content_type; // multipart/form-data; boundary=...
  std::string body;
};

/// Builds the body with `boundary` (1..70 characters of
/// [0-9A-Za-z'()+_,-./:=?]). nullopt when the boundary is invalid, occurs in a
/// part's data, or a name, filename or content type holds a quote, CR or LF.
std::optional<multipart_body>
build_multipart(const std::vector<form_part>& parts, std::string_view boundary);

/// The transcription upload: file (`wav`, filename, audio/wav), model,
/// language, response_format=json.
std::optional<multipart_body>
transcription_request(std::string_view wav, std::string_view filename,
                      std::string_view model, std::string_view language,
                      std::string_view boundary);

/// `{"text":"..."}` -> the text, trimmed and at most 4000 bytes (cut on a
/// UTF-8 boundary; "" for silence); nullopt when the body is not a JSON
/// object with a string "text".
std::optional<std::string> transcription_text(std::string_view body);

/// What the summary extracted from a call. `summary` goes to calls.summary,
/// the rest to calls.summary_fields.
struct call_summary {
  std::string summary;             // Hebrew, short, never empty
  std::optional<std::string> deal; // buy | rent
  std::optional<std::string> city;
  std::optional<double> rooms;              // 0.5 .. 50, in halves
  std::optional<std::int64_t> budget;       // whole shekels
  std::optional<std::string> callback_time; // as said ("מחר בעשר")
  std::string next_step;
  std::string sentiment = "neutral"; // positive | neutral | negative
};

/// The chat-completions body: `model`, a system prompt, the transcript
/// lines ("מתקשר: ..." / "נציג: ...", the last 12000 bytes), and
/// response_format json_schema "call_summary" (strict).
std::string summary_schema_request(std::string_view model,
                                   const std::vector<transcript_line>& lines);

/// A chat completion's choices[0].message.content, validated against the
/// schema: an object with exactly the schema's keys (no duplicates), right
/// types, enums, bounded sizes, valid UTF-8. Returns the summary or a short
/// error (safe to log and store: it never quotes the content).
std::variant<call_summary, std::string>
parse_summary_response(std::string_view response_body);

/// The same for the content alone (the JSON the model wrote).
std::variant<call_summary, std::string>
parse_summary_json(std::string_view content);

/// calls.summary_fields: {"deal","city","rooms","budget","callback_time",
/// "next_step","sentiment","source"} (`source` "ai" or "script").
boost::json::object summary_fields_json(const call_summary& s,
                                        std::string_view source);

/// What the scripted dialogue itself heard.
struct scripted_outcome {
  std::string deal;     // buy | rent | sell | ""
  std::string callback; // "spoken" | "dtmf:N" | ""
  bool caller_spoke = false;
  bool ended_normally = false;
  bool transferred = false;
  std::string status; // calls.status
};

/// A short Hebrew summary from the dialogue's own answers (no model).
call_summary scripted_summary(const scripted_outcome& o);

} // namespace al
