// Twilio request signatures (core/twilio_signature.hpp) with a fuzzed auth
// token, URL, header and form body. Input lines: token, URL, header, then
// the form body (the rest). Properties: a signature we compute for the URL
// with or without its port always verifies; removing the port is
// idempotent; the JSON variant holds only with the right body hash. The URL
// line is also the target of a WebSocket upgrade (url_builder::ws/http).

#include "bench/fuzz/fuzz_util.hpp"
#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/twilio_signature.hpp"
#include "core/url_builder.hpp"

namespace {

using namespace al;
using al::fuzz::check;

const url_builder& urls() {
  static const url_builder u{"https://al.example.test"};
  return u;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size > 64 * 1024)
    return 0;
  auto f = fuzz::fields(fuzz::as_view(data, size), 4);
  auto token = f[0], url = f[1], header = f[2], body = f[3];
  auto params = parse_form(body);
  if (!params)
    params = form_params{};

  // Whatever the header, no crash; an empty token or header never passes.
  bool given = verify_twilio_signature(token, url, *params, header);
  if (token.empty() || header.empty())
    check(!given, "empty token or header never verifies");

  auto without = url_without_port(url);
  auto with = url_with_default_port(url);
  check(url_without_port(without) == without, "url_without_port idempotent");
  // (url_with_default_port is not idempotent for a malformed port such as
  // "host:x" -> "host:x:80"; harmless, such a URL never verifies.)
  check(without.size() <= url.size(), "removing a port never grows");

  if (!token.empty()) {
    auto sig_without = twilio_signature(token, without, *params);
    auto sig_with = twilio_signature(token, with, *params);
    check(verify_twilio_signature(token, url, *params, sig_without),
          "signature of the URL without port verifies");
    check(verify_twilio_signature(token, url, *params, sig_with),
          "signature of the URL with default port verifies");
    check(given == (header == sig_without || header == sig_with),
          "verification is exactly the two comparisons");

    // JSON-body webhooks: the right hash in the query is required.
    auto hash = crypto::to_hex(crypto::sha256(body));
    auto signed_url = std::string{url.substr(0, url.find_first_of("?#"))}
                      + "?bodySHA256=" + hash;
    auto sig = twilio_signature(token, url_without_port(signed_url), {});
    check(verify_twilio_signature_json(token, signed_url, body, sig),
          "a correct bodySHA256 signature verifies");
    auto other = std::string{body} + "x";
    check(!verify_twilio_signature_json(token, signed_url, other, sig),
          "a changed body fails");
  }
  (void)verify_twilio_signature_json(token, url, body, header);

  // The upgrade target as the server rebuilds it.
  auto ws = urls().ws(url);
  auto http = urls().http(url);
  check(ws.rfind("wss://al.example.test/", 0) == 0, "ws() keeps the base");
  check(http.rfind("https://al.example.test/", 0) == 0,
        "http() keeps the base");
  return 0;
}
