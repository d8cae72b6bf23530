#pragma once

// Logging for request paths and actors: never throws (a failing sink or a
// bad format string is swallowed), and carries structured fields for
// LOG_FORMAT=json. Include in .cpp files that log (it pulls in spdlog).
//
//   log_safe(spdlog::level::warn, "call {}: end not stored: {}", sid, err);
//   log_scope fields{{"request_id", id}, {"status", "200", true}};
//
// While a log_scope lives, every line logged on its thread gets its fields
// as JSON members (`"call_sid":"CA..","business_id":7`); text lines carry
// only their message. Scopes nest; an inner field with the same key wins.

#include <spdlog/spdlog.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace al {

class log_scope {
public:
  struct field {
    const char* key;
    std::string value;
    bool number = false; // written without quotes
  };

  explicit log_scope(std::initializer_list<field> fields) noexcept;
  ~log_scope();

  log_scope(const log_scope&) = delete;
  log_scope& operator=(const log_scope&) = delete;

  /// `,"key":value` for every field of this thread's live scopes, JSON
  /// escaped (for the JSON formatter in app/app.cpp).
  static void append_json(std::string& out);

private:
  std::size_t mark_;
};

template <class... Ts>
void log_safe(spdlog::level::level_enum lvl, const char* fmt,
              Ts&&... xs) noexcept {
  try {
    spdlog::log(lvl, fmt, std::forward<Ts>(xs)...);
  } catch (...) {
  }
}

/// A finished message (no formatting), never throwing.
inline void log_noexcept(spdlog::level::level_enum lvl,
                         const std::string& msg) noexcept {
  log_safe(lvl, "{}", msg);
}

/// The first line of an error text (libpqxx errors run over several).
std::string first_line(std::string_view what);

/// log_safe with a call's sid and business as fields.
template <class... Ts>
void log_call(const std::string& call_sid, std::int64_t business,
              spdlog::level::level_enum lvl, const char* fmt,
              Ts&&... xs) noexcept {
  try {
    log_scope s{{"call_sid", call_sid},
                {"business_id", std::to_string(business), true}};
    spdlog::log(lvl, fmt, std::forward<Ts>(xs)...);
  } catch (...) {
  }
}

} // namespace al
