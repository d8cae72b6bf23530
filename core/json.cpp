#include "core/json.hpp"

#include <boost/json/serialize.hpp>

namespace al {

json_doc::json_doc()
  : parser_(json_max_bytes) {}

bool json_doc::parse(std::string_view text) {
  if (text.empty()) {
    error_ = "empty JSON body";
    return false;
  }
  if (text.size() > json_max_bytes) {
    error_ = "JSON body too large";
    return false;
  }
  // Sized to this document, with our depth limit (deep nesting -> 400).
  if (parser_.allocate(text.size(), json_max_depth) != simdjson::SUCCESS) {
    error_ = "out of memory parsing JSON";
    return false;
  }
  auto r = parser_.parse(text.data(), text.size(), true);
  if (r.error()) {
    error_ = std::string{"invalid JSON: "} + simdjson::error_message(r.error());
    return false;
  }
  root_ = r.value_unsafe();
  return true;
}

std::optional<simdjson::dom::object> json_doc::object() const {
  simdjson::dom::object obj;
  if (root_.get(obj) != simdjson::SUCCESS)
    return std::nullopt;
  return obj;
}

namespace {

template <class T, class Fn>
field<T> read(simdjson::dom::object obj, std::string_view key, Fn&& convert) {
  field<T> out;
  simdjson::dom::element el;
  if (obj.at_key(key).get(el) != simdjson::SUCCESS)
    return out;
  if (el.is_null()) {
    out.state = field_state::null;
    return out;
  }
  out.state = convert(el, out.value) ? field_state::ok
                                     : field_state::wrong_type;
  return out;
}

} // namespace

field<std::string_view> get_string(simdjson::dom::object obj,
                                   std::string_view key) {
  return read<std::string_view>(obj, key, [](auto el, std::string_view& v) {
    return el.get(v) == simdjson::SUCCESS;
  });
}

field<std::int64_t> get_int(simdjson::dom::object obj, std::string_view key) {
  return read<std::int64_t>(obj, key, [](auto el, std::int64_t& v) {
    return el.get(v) == simdjson::SUCCESS;
  });
}

field<bool> get_bool(simdjson::dom::object obj, std::string_view key) {
  return read<bool>(obj, key, [](auto el, bool& v) {
    return el.get(v) == simdjson::SUCCESS;
  });
}

field<simdjson::dom::object> get_object(simdjson::dom::object obj,
                                        std::string_view key) {
  return read<simdjson::dom::object>(obj, key,
                                     [](auto el, simdjson::dom::object& v) {
                                       return el.get(v) == simdjson::SUCCESS;
                                     });
}

field<simdjson::dom::array> get_array(simdjson::dom::object obj,
                                      std::string_view key) {
  return read<simdjson::dom::array>(obj, key,
                                    [](auto el, simdjson::dom::array& v) {
                                      return el.get(v) == simdjson::SUCCESS;
                                    });
}

std::string json_error(std::string_view msg) {
  boost::json::object o;
  o["success"] = false;
  o["error"] = msg;
  return boost::json::serialize(o);
}

std::string to_json(const boost::json::value& v) {
  return boost::json::serialize(v);
}

bool valid_utf8(std::string_view s) noexcept {
  return simdjson::validate_utf8(s.data(), s.size());
}

} // namespace al
