#pragma once

// Absolute URLs for TwiML and signature checks, built from PUBLIC_BASE_URL
// (SPEC §1): exactly one '/' between the base and a path, never "//" after
// the scheme, trailing slashes on the base tolerated.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace al {

class url_builder {
public:
  using query_pairs = std::vector<std::pair<std::string, std::string>>;

  /// Parses an absolute http(s) base URL, e.g. "https://host.example",
  /// "http://127.0.0.1:5000" or "https://h/prefix/". Throws
  /// std::invalid_argument when it is not http(s), has no host, or carries
  /// userinfo, a query or a fragment (config validates it at start-up).
  explicit url_builder(std::string_view public_base_url);

  /// Like the constructor, but nullopt instead of throwing.
  static std::optional<url_builder> parse(std::string_view public_base_url);

  /// "scheme://host[:port][/prefix]" with no trailing '/'.
  const std::string& base() const noexcept {
    return base_;
  }

  /// host[:port], no scheme, no prefix, no slash.
  const std::string& host() const noexcept {
    return host_;
  }

  /// True for an https base (wss for WebSockets).
  bool secure() const noexcept {
    return secure_;
  }

  /// base + path; `path` may start with any number of '/' (or none) and may
  /// carry an already encoded "?query"/"#fragment", copied verbatim. Runs of
  /// '/' in the path part are collapsed. An empty path gives base + "/".
  std::string http(std::string_view path) const;

  /// Same as http(), with scheme wss (https base) or ws (http base).
  std::string ws(std::string_view path) const;

  /// http(path) plus "?k=v&..." (or "&..." when `path` already has a query),
  /// keys and values percent-encoded (everything but RFC 3986 unreserved
  /// characters, space as %20).
  std::string with_query(std::string_view path, const query_pairs& pairs) const;

private:
  url_builder() = default;
  static bool init(url_builder& out, std::string_view base);
  std::string build(std::string_view scheme, std::string_view path) const;

  bool secure_ = false;
  std::string host_;   // host[:port]
  std::string prefix_; // "" or "/a/b", no trailing '/'
  std::string base_;
};

} // namespace al
