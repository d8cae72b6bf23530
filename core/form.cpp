#include "core/form.hpp"

#include "core/json.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace al {

std::optional<std::string_view> form_params::get(std::string_view key) const {
  for (auto& [k, v] : items_)
    if (k == key)
      return std::string_view{v};
  return std::nullopt;
}

std::string form_params::value_or(std::string_view key,
                                  std::string_view fallback) const {
  auto v = get(key);
  return std::string{v ? *v : fallback};
}

bool form_params::contains(std::string_view key) const {
  return get(key).has_value();
}

namespace {

// RFC 3986 query characters (unreserved, sub-delims, ':', '@', '/', '?'):
// the grammar Boost.URL's query_rule accepts, '%' handled by the caller.
bool query_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
      || (c >= '0' && c <= '9'))
    return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
    case ':':
    case '@':
    case '/':
    case '?':
      return true;
    default:
      return false;
  }
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// One key or value of an already validated text: '+' is a space, %XX a byte.
std::string form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      out.push_back(
        static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

} // namespace

// Not boost::urls::parse_query: in Boost 1.81 it rebuilds its view from
// s.data() alone (a strlen), reading past the end of any string_view that
// is not NUL-terminated (found by bench/fuzz.sh, fuzz_form).
std::optional<form_params> parse_form(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      if (i + 2 >= text.size() || hex_value(text[i + 1]) < 0
          || hex_value(text[i + 2]) < 0)
        return std::nullopt;
      i += 2;
    } else if (!query_char(text[i])) {
      return std::nullopt;
    }
  }
  std::vector<form_params::value_type> items;
  std::size_t from = 0;
  while (from <= text.size() && !text.empty()) {
    auto amp = text.find('&', from);
    if (amp == std::string_view::npos)
      amp = text.size();
    auto param = text.substr(from, amp - from);
    from = amp + 1;
    if (param.empty())
      continue; // "a=1&&b=2"
    auto eq = param.find('=');
    items.emplace_back(form_decode(param.substr(0, eq)),
                       eq == std::string_view::npos
                         ? std::string{}
                         : form_decode(param.substr(eq + 1)));
  }
  return form_params{std::move(items)};
}

bool text_form(const form_params& form) noexcept {
  for (auto& [k, v] : form.items())
    for (const std::string* s : {&k, &v})
      if (s->find('\0') != std::string::npos || !valid_utf8(*s))
        return false;
  return true;
}

std::string encode_form(const std::vector<form_params::value_type>& items) {
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;
  std::string out;
  for (auto& [k, v] : items) {
    if (!out.empty())
      out.push_back('&');
    out += boost::urls::encode(k, boost::urls::unreserved_chars, opts);
    out.push_back('=');
    out += boost::urls::encode(v, boost::urls::unreserved_chars, opts);
  }
  return out;
}

} // namespace al
