// WhatsApp media (core/wa_media.hpp and the media parts of
// core/whatsapp_wire.hpp): Meta webhooks with media messages, Twilio
// webhook forms with MediaUrlN/MediaContentTypeN, Meta's media lookup
// answer, a redirect's Location, file names, content types and the opt-out
// words. Properties: at most wa_max_media_items attachments, each with a
// non-empty source; a kept file name has no quote, slash, backslash or
// control character; a disposition is one header line; a redirect target
// is an http(s) URL; an accepted media_url is one too; nothing crashes.

#include "bench/fuzz/fuzz_util.hpp"
#include "core/form.hpp"
#include "core/json.hpp"
#include "core/wa_media.hpp"
#include "core/whatsapp_wire.hpp"

#include <variant>

namespace {

using namespace al;
using al::fuzz::check;

void attachments_ok(const wa_inbound& in) {
  check(in.attachments.size() <= wa_max_media_items, "at most 10 items");
  for (auto& a : in.attachments) {
    check(!a.source_ref.empty(), "an item has a source");
    check(valid_utf8(a.source_ref), "source is UTF-8");
    check(a.filename.find_first_of("\"/\\\r\n") == std::string::npos,
          "safe file name");
    check(a.content_type.size() <= 128, "content type length");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size > 64 * 1024)
    return 0;
  auto text = fuzz::as_view(data, size);
  // The whole input as a Meta webhook and as a Twilio form.
  if (auto hook = parse_meta_webhook(text);
      std::holds_alternative<meta_webhook>(hook))
    for (auto& in : std::get<meta_webhook>(hook).messages)
      attachments_ok(in);
  if (auto form = parse_form(text)) {
    auto in = parse_twilio_inbound(*form);
    if (auto* ok = std::get_if<wa_inbound>(&in))
      attachments_ok(*ok);
  }
  (void)parse_meta_media_lookup(text);
  (void)wa_is_opt_out(text);
  (void)wa_media_type_allowed(text);
  auto name = wa_media_filename(text);
  check(name.size() <= 200, "name length");
  check(name.find_first_of("\"/\\\r\n") == std::string::npos, "name chars");
  check(valid_utf8(name), "name is UTF-8");
  auto disp = wa_media_disposition(text, 3);
  check(disp.find_first_of("\r\n") == std::string::npos, "one header line");
  // Two fields: a base URL and a Location.
  auto f = fuzz::fields(text, 2);
  if (auto next = wa_media_redirect(f[0], f[1])) {
    check(next->rfind("http://", 0) == 0 || next->rfind("https://", 0) == 0,
          "redirect to http(s)");
    check(next->find_first_of("\r\n") == std::string::npos, "no CRLF");
  }
  (void)wa_same_origin(f[0], f[1]);
  if (wa_media_url_error(f[0]).empty()) {
    std::string scheme{f[0].substr(0, 5)};
    for (auto& c : scheme)
      c = static_cast<char>(c | 0x20);
    check(scheme.rfind("http", 0) == 0 && f[0].size() <= 2048,
          "accepted media_url");
  }
  return 0;
}
