#pragma once

// (method, path pattern) -> handler. Patterns are literal segments or `{name}`
// placeholders ("/api/crm/leads/{id}"); a trailing-slash variant is a route of
// its own and must be registered explicitly. 404 and 405 (with Allow) are
// decided here, in one place.

#include "transport/http_types.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace al {

class router {
public:
  struct route {
    http::verb method;
    std::string pattern;
    handler fn;
  };

  struct match_result {
    const route* hit = nullptr;      // the route, when found
    std::vector<std::string> params; // captured {x} segments
    std::string allow;               // methods for 405, empty when 404
  };

  /// Registers a route. Returns false (and keeps the first handler) when the
  /// same method + pattern is already registered; the attempt is listed in
  /// rejected(), so that start-up can refuse a doubly registered route.
  bool add(http::verb method, std::string pattern, handler fn);

  /// "METHOD /pattern" of every add() that was refused as a duplicate.
  const std::vector<std::string>& rejected() const noexcept {
    return rejected_;
  }

  /// Finds the handler for `method` and a decoded `path`.
  match_result match(http::verb method, std::string_view path) const;

  /// Every registered route, in registration order (for docs and tests).
  const std::vector<route>& routes() const noexcept {
    return routes_;
  }

private:
  static bool match_pattern(std::string_view pattern, std::string_view path,
                            std::vector<std::string>* params);

  std::vector<route> routes_;
  std::vector<std::string> rejected_;
};

} // namespace al
