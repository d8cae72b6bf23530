#pragma once

// JSON request bodies: parsed with simdjson (DOM), read through typed getters
// that tell "missing" from "wrong type", so handlers answer precise 400s.
// Responses are written with Boost.JSON (see json_error / to_string).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <simdjson.h>

namespace al {

/// Largest nesting depth accepted in request bodies.
constexpr std::size_t json_max_depth = 64;

/// Largest JSON document accepted (the HTTP body limit is the same).
constexpr std::size_t json_max_bytes = 1024 * 1024;

/// A parsed JSON document that owns its parser.
class json_doc {
public:
  json_doc();

  /// Parses `text`; on failure returns false and sets `error()`.
  bool parse(std::string_view text);

  /// Root element; valid only after a successful parse.
  simdjson::dom::element root() const {
    return root_;
  }

  /// Root as object; nullopt when the root is not an object.
  std::optional<simdjson::dom::object> object() const;

  const std::string& error() const noexcept {
    return error_;
  }

private:
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
  std::string error_;
};

/// Result of reading one field.
enum class field_state { missing, null, wrong_type, ok };

template <class T>
struct field {
  field_state state = field_state::missing;
  T value{};
  bool ok() const noexcept {
    return state == field_state::ok;
  }
  /// Present with a non-null value (right or wrong type).
  bool present() const noexcept {
    return state == field_state::ok || state == field_state::wrong_type;
  }
};

field<std::string_view> get_string(simdjson::dom::object obj,
                                   std::string_view key);
field<std::int64_t> get_int(simdjson::dom::object obj, std::string_view key);
field<bool> get_bool(simdjson::dom::object obj, std::string_view key);
field<simdjson::dom::object> get_object(simdjson::dom::object obj,
                                        std::string_view key);
field<simdjson::dom::array> get_array(simdjson::dom::object obj,
                                      std::string_view key);

/// `{"success":false,"error":msg}` serialised.
std::string json_error(std::string_view msg);

/// Serialises a Boost.JSON value.
std::string to_json(const boost::json::value& v);

/// True when `s` is valid UTF-8 (JSON strings we store must be).
bool valid_utf8(std::string_view s) noexcept;

} // namespace al
