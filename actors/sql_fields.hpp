#pragma once

// Reading nullable columns of a pqxx result, shared by the files that run
// SQL (actors/*_rows.cpp, crm_queries.cpp, businesses.cpp, event_feed.cpp).
// Include only in .cpp files (it pulls in libpqxx and Boost.JSON's value).

#include <boost/json/value.hpp>
#include <pqxx/pqxx> // <pqxx/field> alone does not compile in 6.4

#include <cstdint>
#include <optional>
#include <string>

namespace al {

/// A text column, "" when NULL.
inline std::string text_or_empty(const pqxx::field& f) {
  return f.is_null() ? std::string{} : std::string{f.c_str()};
}

/// A text column, nullopt when NULL.
inline std::optional<std::string> opt_text(const pqxx::field& f) {
  if (f.is_null())
    return std::nullopt;
  return std::string{f.c_str()};
}

/// A text column as JSON: a string, or null.
inline boost::json::value text_or_null(const pqxx::field& f) {
  if (f.is_null())
    return nullptr;
  return boost::json::string{f.c_str()};
}

/// An integer column as JSON: a number, or null.
inline boost::json::value int_or_null(const pqxx::field& f) {
  if (f.is_null())
    return nullptr;
  return f.as<std::int64_t>();
}

} // namespace al
