#include "core/url_builder.hpp"

#include <stdexcept>

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/scheme.hpp>

namespace al {

namespace {

// Appends `path` to `out` with a leading '/' and runs of '/' collapsed.
void append_path(std::string& out, std::string_view path) {
  out.push_back('/');
  bool slash = true;
  for (char c : path) {
    if (c == '/') {
      if (slash)
        continue;
      slash = true;
    } else {
      slash = false;
    }
    out.push_back(c);
  }
}

std::string_view trim(std::string_view s) {
  auto ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos)
    return {};
  auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

} // namespace

bool url_builder::init(url_builder& out, std::string_view base) {
  auto parsed = boost::urls::parse_absolute_uri(trim(base));
  if (!parsed)
    return false;
  auto& u = *parsed;
  auto id = u.scheme_id();
  if (id != boost::urls::scheme::http && id != boost::urls::scheme::https)
    return false;
  if (!u.has_authority() || u.encoded_host().empty() || u.has_userinfo()
      || u.has_query() || u.has_fragment())
    return false;
  if (u.has_port() && u.port().empty())
    return false; // "http://h:/"
  out.secure_ = id == boost::urls::scheme::https;
  out.host_ = std::string{u.encoded_host_and_port()};
  out.prefix_.clear();
  std::string_view path = u.encoded_path();
  if (!path.empty()) {
    append_path(out.prefix_, path);
    while (!out.prefix_.empty() && out.prefix_.back() == '/')
      out.prefix_.pop_back();
  }
  out.base_ = (out.secure_ ? "https://" : "http://") + out.host_ + out.prefix_;
  return true;
}

url_builder::url_builder(std::string_view public_base_url) {
  if (!init(*this, public_base_url))
    throw std::invalid_argument("invalid base URL: "
                                + std::string{public_base_url});
}

std::optional<url_builder>
url_builder::parse(std::string_view public_base_url) {
  url_builder b;
  if (!init(b, public_base_url))
    return std::nullopt;
  return b;
}

std::string url_builder::build(std::string_view scheme,
                               std::string_view path) const {
  auto split = path.find_first_of("?#");
  auto path_part = path.substr(0, split);
  std::string out;
  out.reserve(scheme.size() + 3 + host_.size() + prefix_.size() + path.size()
              + 1);
  out.append(scheme);
  out.append("://");
  out.append(host_);
  out.append(prefix_);
  append_path(out, path_part);
  if (split != std::string_view::npos)
    out.append(path.substr(split));
  return out;
}

std::string url_builder::http(std::string_view path) const {
  return build(secure_ ? "https" : "http", path);
}

std::string url_builder::ws(std::string_view path) const {
  return build(secure_ ? "wss" : "ws", path);
}

std::string url_builder::with_query(std::string_view path,
                                    const query_pairs& pairs) const {
  auto out = http(path);
  if (pairs.empty())
    return out;
  // Keep any fragment last.
  std::string fragment;
  if (auto hash = out.find('#'); hash != std::string::npos) {
    fragment = out.substr(hash);
    out.resize(hash);
  }
  bool has_query = out.find('?') != std::string::npos;
  bool first = true;
  for (auto& [k, v] : pairs) {
    if (first && !has_query)
      out.push_back('?');
    else if (out.back() != '?' && out.back() != '&')
      out.push_back('&');
    first = false;
    out += boost::urls::encode(k, boost::urls::unreserved_chars);
    out.push_back('=');
    out += boost::urls::encode(v, boost::urls::unreserved_chars);
  }
  out += fragment;
  return out;
}

} // namespace al
