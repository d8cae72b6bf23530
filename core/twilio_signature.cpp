#include "core/twilio_signature.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "core/crypto.hpp"

namespace al {

namespace {

// Position of the authority within an absolute URL ("scheme://authority...").
struct authority_span {
  std::size_t begin = 0; // first char after "://"
  std::size_t end = 0;   // first of "/?#" after begin, or size
  std::string scheme;    // lowercase
};

bool parse_authority(std::string_view url, authority_span& out) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0)
    return false;
  for (std::size_t i = 0; i < sep; ++i) {
    auto c = static_cast<unsigned char>(url[i]);
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.')
      return false;
  }
  out.scheme.clear();
  for (std::size_t i = 0; i < sep; ++i)
    out.scheme.push_back(
      static_cast<char>(std::tolower(static_cast<unsigned char>(url[i]))));
  out.begin = sep + 3;
  out.end = url.find_first_of("/?#", out.begin);
  if (out.end == std::string_view::npos)
    out.end = url.size();
  return true;
}

// Within the authority, the offset of the ':' that starts the port, or npos.
// Skips userinfo and IPv6 brackets.
std::size_t port_colon(std::string_view authority) {
  auto at = authority.rfind('@');
  std::size_t host_begin = at == std::string_view::npos ? 0 : at + 1;
  auto bracket = authority.rfind(']');
  std::size_t search_from = host_begin;
  if (bracket != std::string_view::npos && bracket >= host_begin)
    search_from = bracket + 1;
  auto colon = authority.find(':', search_from);
  if (colon == std::string_view::npos)
    return colon;
  for (auto i = colon + 1; i < authority.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(authority[i])))
      return std::string_view::npos;
  return colon;
}

std::string signature_of(std::string_view auth_token, std::string_view url,
                         const std::vector<form_params::value_type>& items) {
  std::vector<const form_params::value_type*> sorted;
  sorted.reserve(items.size());
  std::size_t total = url.size();
  for (auto& item : items) {
    sorted.push_back(&item);
    total += item.first.size() + item.second.size();
  }
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) {
    return *a < *b; // by name, then value; byte order == code point order
  });
  std::string data;
  data.reserve(total);
  data.append(url);
  for (auto* item : sorted) {
    data += item->first;
    data += item->second;
  }
  return crypto::base64_encode(crypto::hmac_sha1(auth_token, data));
}

bool verify_url(std::string_view auth_token, std::string_view url,
                const std::vector<form_params::value_type>& items,
                std::string_view header) {
  auto without = signature_of(auth_token, url_without_port(url), items);
  auto with = signature_of(auth_token, url_with_default_port(url), items);
  // Both comparisons always run, so timing does not reveal which matched.
  bool a = crypto::constant_time_equal(without, header);
  bool b = crypto::constant_time_equal(with, header);
  return a | b;
}

} // namespace

std::string twilio_signature(std::string_view auth_token, std::string_view url,
                             const form_params& params) {
  return signature_of(auth_token, url, params.items());
}

std::string url_without_port(std::string_view url) {
  authority_span span;
  if (!parse_authority(url, span))
    return std::string{url};
  auto authority = url.substr(span.begin, span.end - span.begin);
  auto colon = port_colon(authority);
  if (colon == std::string_view::npos)
    return std::string{url};
  std::string out{url.substr(0, span.begin + colon)};
  out.append(url.substr(span.end));
  return out;
}

std::string url_with_default_port(std::string_view url) {
  authority_span span;
  if (!parse_authority(url, span))
    return std::string{url};
  auto authority = url.substr(span.begin, span.end - span.begin);
  auto colon = port_colon(authority);
  if (colon != std::string_view::npos && colon + 1 < authority.size())
    return std::string{url}; // has a port
  auto host_end = colon == std::string_view::npos ? span.end
                                                  : span.begin + colon;
  bool secure = span.scheme == "https" || span.scheme == "wss";
  std::string out{url.substr(0, host_end)};
  out += secure ? ":443" : ":80";
  out.append(url.substr(span.end));
  return out;
}

bool verify_twilio_signature(std::string_view auth_token, std::string_view url,
                             const form_params& params,
                             std::string_view header) {
  if (auth_token.empty() || header.empty())
    return false;
  return verify_url(auth_token, url, params.items(), header);
}

bool verify_twilio_signature_json(std::string_view auth_token,
                                  std::string_view url_with_query,
                                  std::string_view raw_body,
                                  std::string_view header) {
  if (auth_token.empty() || header.empty())
    return false;
  auto q = url_with_query.find('?');
  if (q == std::string_view::npos)
    return false;
  auto query = url_with_query.substr(q + 1);
  query = query.substr(0, query.find('#'));
  auto parsed = parse_form(query);
  if (!parsed)
    return false;
  auto expected = parsed->get("bodySHA256");
  if (!expected)
    return false;
  auto actual = crypto::to_hex(crypto::sha256(raw_body));
  bool body_ok = crypto::constant_time_equal(actual, *expected);
  bool sig_ok = verify_url(auth_token, url_with_query, {}, header);
  return body_ok & sig_ok;
}

} // namespace al
