#include "transport/url_target.hpp"

#include <boost/url/parse.hpp>

#include <cctype>
#include <charconv>

namespace al {

std::optional<url_target> parse_url_target(std::string_view url,
                                           url_family family) {
  auto r = boost::urls::parse_uri(url);
  if (!r)
    return std::nullopt;
  auto const& u = *r;
  auto plain = family == url_family::http ? boost::urls::scheme::http
                                          : boost::urls::scheme::ws;
  auto secure = family == url_family::http ? boost::urls::scheme::https
                                           : boost::urls::scheme::wss;
  url_target t;
  if (u.scheme_id() == secure)
    t.tls = true;
  else if (u.scheme_id() != plain)
    return std::nullopt;
  if (!u.has_authority() || u.has_userinfo())
    return std::nullopt;
  switch (u.host_type()) {
    case boost::urls::host_type::name:
      t.host = u.host_address();
      break;
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
      t.host = u.host_address();
      t.ip_literal = true;
      break;
    default:
      return std::nullopt;
  }
  if (t.host.empty())
    return std::nullopt;
  std::string_view default_port = t.tls ? "443" : "80";
  t.port = std::string{default_port};
  if (u.has_port() && !u.port().empty()) {
    // port_number() wraps values above 65535, so parse the digits here.
    auto digits = u.port();
    unsigned long n = 0;
    auto [end, err] = std::from_chars(digits.data(),
                                      digits.data() + digits.size(), n);
    if (err != std::errc() || end != digits.data() + digits.size() || n == 0
        || n > 65535)
      return std::nullopt;
    t.port = std::to_string(n);
  }
  t.host_header = std::string(u.encoded_host());
  if (t.port != default_port)
    t.host_header += ":" + t.port;
  t.path = std::string(u.encoded_target());
  if (t.path.empty() || t.path.front() != '/')
    t.path.insert(0, "/");
  t.key = std::string(u.scheme()) + "://" + std::string(u.encoded_host()) + ":"
          + t.port;
  for (auto& ch : t.key)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return t;
}

} // namespace al
