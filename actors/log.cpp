#include "actors/log.hpp"

#include <vector>

namespace al {

namespace {

thread_local std::vector<log_scope::field> live_fields;

void append_escaped(std::string& out, const std::string& s) {
  static constexpr char hex[] = "0123456789abcdef";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      out += "\\u00";
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
}

} // namespace

log_scope::log_scope(std::initializer_list<field> fields) noexcept
  : mark_(live_fields.size()) {
  try {
    live_fields.insert(live_fields.end(), fields.begin(), fields.end());
  } catch (...) {
  }
}

log_scope::~log_scope() {
  live_fields.resize(mark_);
}

std::string first_line(std::string_view what) {
  return std::string{what.substr(0, what.find('\n'))};
}

void log_scope::append_json(std::string& out) {
  for (std::size_t i = 0; i < live_fields.size(); ++i) {
    auto& f = live_fields[i];
    bool shadowed = false; // a later scope set the same key
    for (std::size_t j = i + 1; j < live_fields.size() && !shadowed; ++j)
      shadowed = std::string_view{live_fields[j].key} == f.key;
    if (shadowed)
      continue;
    out += ",\"";
    out += f.key;
    out += "\":";
    if (f.number && !f.value.empty()) {
      out += f.value;
    } else {
      out.push_back('"');
      append_escaped(out, f.value);
      out.push_back('"');
    }
  }
}

} // namespace al
