#include "core/form.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/parse_query.hpp>
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

std::optional<form_params> parse_form(std::string_view text) {
  std::vector<form_params::value_type> items;
  if (text.empty())
    return form_params{};
  auto parsed = boost::urls::parse_query(text);
  if (!parsed)
    return std::nullopt;
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;
  for (auto param : *parsed) {
    if (param.key.empty() && !param.has_value)
      continue; // "a=1&&b=2"
    items.emplace_back(param.key.decode(opts),
                       param.has_value ? param.value.decode(opts)
                                       : std::string{});
  }
  return form_params{std::move(items)};
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
