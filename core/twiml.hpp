#pragma once

// TwiML documents (PROTOCOLS §2, SPEC §2 "Twilio voice") written with a tiny
// XML writer that never emits ill-formed XML, whatever text it is given.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/url_builder.hpp"

namespace al {

/// Streaming XML writer. Text and attribute values are escaped (& < > " '),
/// characters not allowed in XML 1.0 (C0 controls other than tab/LF/CR,
/// U+FFFE/U+FFFF) are dropped and invalid UTF-8 becomes U+FFFD. Misuse never
/// yields bad XML: invalid name characters become '_', an attribute after
/// content or a repeated attribute name is ignored, text outside the root
/// element and a second root element are ignored, close() with nothing open
/// does nothing, and str()/take() close whatever is still open.
class xml_writer {
public:
  /// Writes `<?xml version="1.0" encoding="UTF-8"?>`; only before the root.
  xml_writer& declaration();

  /// Starts element `name`; attributes may follow until content is added.
  xml_writer& open(std::string_view name);

  /// Adds attribute `name="value"` to the element just opened.
  xml_writer& attr(std::string_view name, std::string_view value);

  /// Adds character data to the current element.
  xml_writer& text(std::string_view content);

  /// Closes the innermost open element (`/>` when it has no content).
  xml_writer& close();

  /// Writes `<name/>` (open + close).
  xml_writer& empty_element(std::string_view name);

  /// The document so far with every open element closed.
  std::string str() const;

  /// Like str(), leaving the writer empty.
  std::string take();

private:
  void finish_start_tag();

  std::string out_;
  std::vector<std::string> stack_;
  std::vector<std::string> attrs_; // names in the open start tag
  int ignored_ = 0; // depth of elements opened after the root closed
  bool in_start_tag_ = false;
  bool root_done_ = false;
};

/// `s` with only the characters allowed in XML 1.0 (invalid UTF-8 becomes
/// U+FFFD), not escaped: what an XML parser would read back.
std::string xml_clean(std::string_view s);

/// Appends `s` to `out` keeping only characters allowed in XML 1.0 (invalid
/// UTF-8 becomes U+FFFD) and escaping & < > " ' (and tab/LF/CR when
/// `attribute` is set, so they survive attribute normalisation).
void xml_escape_append(std::string_view s, std::string& out, bool attribute);

/// Twilio's limit for one <Parameter>: name + value under 500 characters.
/// Measured in UTF-8 bytes (a conservative reading).
inline constexpr std::size_t twiml_parameter_limit = 500;

/// The incoming-call answer: <Connect action="{base}/webhook/stream_ended">
/// <Stream url="{ws base}/ws/twilio-media" statusCallback=
/// "{base}/webhook/stream_status" statusCallbackMethod="POST"> with one
/// <Parameter name value/> per entry, in order. nullopt when a parameter has
/// an empty name or name + value reaches twiml_parameter_limit bytes (after
/// xml_clean, i.e. as Twilio reads them).
/// `stream_path` is the WebSocket path: a business on its own Twilio
/// account gets /ws/twilio-media/{business id}, so the upgrade's signature
/// can be checked with that account's token.
std::optional<std::string> connect_stream_twiml(
  const url_builder& urls,
  std::vector<std::pair<std::string, std::string>> parameters,
  std::string_view stream_path = "/ws/twilio-media");

/// The media stream died early: <Say language="he-IL">prompt</Say>, then
/// <Record maxLength="120" playBeep="true" recordingStatusCallback=
/// "{base}/webhook/recording_status" recordingStatusCallbackMethod="POST"/>
/// and <Hangup/>. The <Say> is left out when the prompt is empty. <Record>
/// has no action, so Twilio posts the finished recording to the URL that
/// served this document.
/// `say_voice` (SAY_VOICE, e.g. Google.he-IL-Standard-A) becomes the
/// <Say voice>; empty: Twilio's default voice for he-IL.
std::string recording_fallback_twiml(const url_builder& urls,
                                     std::string_view hebrew_prompt,
                                     std::string_view say_voice = {});

/// Over capacity (MAX_LIVE_CALLS): the same Say + Record + Hangup shape with
/// the voicemail prompt.
std::string voicemail_twiml(const url_builder& urls,
                            std::string_view hebrew_prompt,
                            std::string_view say_voice = {});

/// Transfer to a person: <Dial timeout="{ring_timeout_s}" action=
/// "{base}/webhook/transfer_status" method="POST" callerId="{caller_id}">
/// with one <Number> per entry (they ring at once; the first to answer
/// wins). callerId is left out when empty.
std::string dial_twiml(const url_builder& urls,
                       const std::vector<std::string>& numbers,
                       int ring_timeout_s, std::string_view caller_id);

/// <Response><Hangup/></Response>, with the XML declaration.
std::string hangup_twiml();

} // namespace al
