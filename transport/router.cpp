#include "transport/router.hpp"

#include <algorithm>

namespace al {

bool router::add(http::verb method, std::string pattern, handler fn) {
  auto same = [&](const route& r) {
    return r.method == method && r.pattern == pattern;
  };
  if (std::any_of(routes_.begin(), routes_.end(), same)) {
    rejected_.push_back(std::string{http::to_string(method)} + " " + pattern);
    return false;
  }
  routes_.push_back(route{method, std::move(pattern), std::move(fn)});
  return true;
}

bool router::match_pattern(std::string_view pattern, std::string_view path,
                           std::vector<std::string>* params) {
  std::size_t pi = 0;
  std::size_t si = 0;
  while (pi < pattern.size() && si < path.size()) {
    if (pattern[pi] == '{') {
      auto close = pattern.find('}', pi);
      if (close == std::string_view::npos)
        return false; // malformed pattern "{x": never matches
      auto seg_end = path.find('/', si);
      if (seg_end == std::string_view::npos)
        seg_end = path.size();
      if (seg_end == si)
        return false; // empty segment never matches a placeholder
      if (params)
        params->emplace_back(path.substr(si, seg_end - si));
      pi = close + 1;
      si = seg_end;
      continue;
    }
    if (pattern[pi] != path[si])
      return false;
    ++pi;
    ++si;
  }
  return pi == pattern.size() && si == path.size();
}

router::match_result router::match(http::verb method,
                                   std::string_view path) const {
  match_result out;
  std::vector<http::verb> allowed; // by verb: "LOCK" is inside "UNLOCK"
  for (auto& r : routes_) {
    if (!match_pattern(r.pattern, path, nullptr))
      continue;
    if (r.method == method) {
      out.hit = &r;
      out.params.clear();
      match_pattern(r.pattern, path, &out.params);
      out.allow.clear();
      return out;
    }
    if (std::find(allowed.begin(), allowed.end(), r.method) != allowed.end())
      continue;
    allowed.push_back(r.method);
    out.allow += (out.allow.empty() ? "" : ", ")
                 + std::string{http::to_string(r.method)};
  }
  return out;
}

} // namespace al
