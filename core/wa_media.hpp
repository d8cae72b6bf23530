#pragma once

// WhatsApp media and the opt-out word, as pure functions (no I/O): what an
// inbound message's attachments are (Twilio MediaUrlN/MediaContentTypeN,
// Meta media ids), which content types the service keeps and how it serves
// them, Meta's media lookup answer, the redirects a media download follows,
// the outbound media_url a send may carry, and the words that put a number
// on the do-not-contact list (SPEC §7, issue "WhatsApp that talks").

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace al {

/// One attachment of an inbound message, as the webhook described it.
struct wa_media_item {
  std::string source_ref;   // Twilio: the MediaUrl; Meta: the media id
  std::string content_type; // as declared ("" when not given); advisory
  std::string filename;     // Meta documents only; sanitised
};

/// Most attachments kept per message (Twilio sends at most 10).
constexpr std::size_t wa_max_media_items = 10;

/// Default WA_MEDIA_MAX_BYTES: the largest attachment kept (16 MiB).
constexpr std::int64_t wa_media_default_max_bytes = 16 * 1024 * 1024;

/// "Image/JPEG; charset=x" -> "image/jpeg": the media type alone, lower
/// case, without parameters or surrounding blanks.
std::string wa_media_base_type(std::string_view content_type);

/// True when the base type of `content_type` is one the service stores:
/// image/jpeg, image/png, image/webp, audio/ogg, audio/mpeg, audio/amr,
/// audio/aac, audio/mp4, video/mp4, application/pdf and the common office
/// documents (Word, Excel, PowerPoint, old and new formats).
bool wa_media_type_allowed(std::string_view content_type);

/// True for image/* and audio/* (shown in the page); everything else is
/// served as an attachment (downloaded, never rendered by the browser).
bool wa_media_inline(std::string_view content_type);

/// True for audio/* (a voice note: transcribed when STT is configured).
bool wa_media_is_audio(std::string_view content_type);

/// A file name safe to store and show: the last path component, without
/// control characters, quotes or backslashes, at most 200 bytes (cut on a
/// UTF-8 boundary); invalid UTF-8 is dropped. May be "".
std::string wa_media_filename(std::string_view name);

/// The Content-Disposition of a served attachment: `attachment;
/// filename="<ASCII fallback>"` plus `filename*=UTF-8''<percent-encoded>`
/// when the name is not plain ASCII. Without a name: "media-<idx>".
std::string wa_media_disposition(std::string_view filename, int idx);

/// A file name for the transcription upload, by audio type ("voice.ogg",
/// "voice.mp3", ...).
std::string wa_media_audio_filename(std::string_view content_type);

/// What GET {META_API_BASE}/{media-id} answers:
/// {"url","mime_type","sha256","file_size","id","messaging_product"}.
struct meta_media_info {
  std::string url;
  std::string mime_type;
  std::int64_t file_size = -1; // -1 when not given
};

/// nullopt unless the body is a JSON object with a string "url" that is an
/// absolute http(s) URL of at most 4096 bytes.
std::optional<meta_media_info> parse_meta_media_lookup(std::string_view body);

/// Where a redirect's Location leads from `from` (an absolute http(s) URL):
/// an absolute http(s) URL, or a path ("/x", resolved against `from`'s
/// origin). nullopt for anything else (another scheme, "//host", relative
/// paths, control characters, over 4096 bytes).
std::optional<std::string> wa_media_redirect(std::string_view from,
                                             std::string_view location);

/// True when two absolute URLs have the same scheme, host and port (the
/// default port spelled or not): credentials go only to their own origin.
bool wa_same_origin(std::string_view a, std::string_view b);

/// Why an URL may not be fetched or sent as media ("" when fine): an
/// absolute https URL of at most 2048 bytes, without user info; http only
/// for a loopback host (tests, a local proxy). `what` names the field in
/// the message ("media_url").
std::string wa_media_url_error(std::string_view url,
                               std::string_view what = "media_url");

/// True when the URL's path ends in ".pdf" (any case): Meta then gets a
/// document message instead of an image.
bool wa_media_url_is_document(std::string_view url);

/// True when a message's text asks to stop messages: after trimming blanks,
/// direction marks and trailing punctuation, and folding ASCII case, it is
/// exactly one of הסר, הסרה, STOP, UNSUBSCRIBE.
bool wa_is_opt_out(std::string_view body);

} // namespace al
