#include "core/media_frame.hpp"

#include <limits>

#include "core/crypto.hpp"

namespace al {

namespace {

namespace od = simdjson::ondemand;

media_error map_error(simdjson::error_code e) noexcept {
  switch (e) {
    case simdjson::SUCCESS:
      return media_error::ok;
    case simdjson::INCORRECT_TYPE:
    case simdjson::NUMBER_OUT_OF_RANGE:
      return media_error::wrong_type;
    case simdjson::NO_SUCH_FIELD:
      return media_error::missing_field;
    case simdjson::CAPACITY:
      return media_error::payload_too_large;
    default:
      return media_error::invalid_json;
  }
}

/// Strict unsigned decimal: 1..20 digits, no sign, no overflow.
bool parse_u64(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty() || s.size() > 20)
    return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return false;
    auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10)
      return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

media_error read_string(od::value& v, std::string& out) {
  std::string_view sv;
  if (auto e = v.get_string().get(sv))
    return map_error(e);
  out.assign(sv.data(), sv.size());
  return media_error::ok;
}

/// A JSON number or a string of decimal digits.
media_error read_u64(od::value& v, std::uint64_t& out) {
  od::json_type t;
  if (auto e = v.type().get(t))
    return map_error(e);
  if (t == od::json_type::number)
    return map_error(v.get_uint64().get(out));
  if (t == od::json_type::string) {
    std::string_view sv;
    if (auto e = v.get_string().get(sv))
      return map_error(e);
    return parse_u64(sv, out) ? media_error::ok : media_error::wrong_type;
  }
  return media_error::wrong_type;
}

media_error read_u32(od::value& v, std::uint32_t& out) {
  std::uint64_t x = 0;
  if (auto r = read_u64(v, x); r != media_error::ok)
    return r;
  if (x > std::numeric_limits<std::uint32_t>::max())
    return media_error::wrong_type;
  out = static_cast<std::uint32_t>(x);
  return media_error::ok;
}

/// Calls fn(key, value&) for each field of the object `v`; stops at the
/// first error (simdjson's or fn's).
template <class Fn>
media_error for_each_field(od::value& v, Fn&& fn) {
  od::object obj;
  if (auto e = v.get_object().get(obj))
    return map_error(e);
  for (auto r : obj) {
    od::field f;
    if (auto e = std::move(r).get(f))
      return map_error(e);
    std::string_view key;
    if (auto e = f.unescaped_key().get(key))
      return map_error(e);
    if (auto err = fn(key, f.value()); err != media_error::ok)
      return err;
  }
  return media_error::ok;
}

media_error read_payload(od::value& v, std::string& out) {
  std::string_view text;
  if (auto e = v.get_string().get(text))
    return map_error(e);
  if (text.size() % 4 != 0)
    return media_error::bad_base64;
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=')
    pad = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  if (text.size() / 4 * 3 - pad > media_max_payload)
    return media_error::payload_too_large;
  if (!crypto::base64_decode_into(text, out))
    return media_error::bad_base64;
  return media_error::ok;
}

/// A custom parameter value: a string, or a scalar kept as its JSON text.
media_error read_param_value(od::value& v, std::string& out) {
  od::json_type t;
  if (auto e = v.type().get(t))
    return map_error(e);
  switch (t) {
    case od::json_type::string:
      return read_string(v, out);
    case od::json_type::null:
      out.clear();
      return media_error::ok;
    case od::json_type::number:
    case od::json_type::boolean: {
      auto raw = v.raw_json_token();
      while (!raw.empty()
             && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\n'
                 || raw.back() == '\r'))
        raw.remove_suffix(1);
      out.assign(raw.data(), raw.size());
      return media_error::ok;
    }
    default:
      return media_error::wrong_type;
  }
}

media_error parse_start(od::value& v, media_frame& out) {
  return for_each_field(v, [&](std::string_view key, od::value& f) {
    if (key == "streamSid") {
      // The top-level streamSid wins when both are present.
      if (!out.stream_sid.empty())
        return media_error::ok;
      return read_string(f, out.stream_sid);
    }
    if (key == "accountSid")
      return read_string(f, out.account_sid);
    if (key == "callSid")
      return read_string(f, out.call_sid);
    if (key == "tracks") {
      od::array arr;
      if (auto e = f.get_array().get(arr))
        return map_error(e);
      out.tracks.clear();
      for (auto r : arr) {
        od::value item;
        if (auto e = std::move(r).get(item))
          return map_error(e);
        std::string_view sv;
        if (auto e = item.get_string().get(sv))
          return map_error(e);
        out.tracks.emplace_back(sv);
      }
      return media_error::ok;
    }
    if (key == "customParameters") {
      out.custom_parameters.clear();
      return for_each_field(f, [&](std::string_view name, od::value& val) {
        out.custom_parameters.emplace_back(std::string(name), std::string());
        return read_param_value(val, out.custom_parameters.back().second);
      });
    }
    if (key == "mediaFormat") {
      return for_each_field(f, [&](std::string_view k, od::value& val) {
        if (k == "encoding")
          return read_string(val, out.encoding);
        if (k == "sampleRate")
          return read_u32(val, out.sample_rate);
        if (k == "channels")
          return read_u32(val, out.channels);
        return media_error::ok;
      });
    }
    return media_error::ok;
  });
}

media_error parse_media(od::value& v, media_frame& out, bool& has_payload) {
  return for_each_field(v, [&](std::string_view key, od::value& f) {
    if (key == "payload") {
      has_payload = true;
      return read_payload(f, out.payload);
    }
    if (key == "track")
      return read_string(f, out.track);
    if (key == "chunk")
      return read_u64(f, out.chunk);
    if (key == "timestamp")
      return read_u64(f, out.timestamp);
    return media_error::ok;
  });
}

/// The root is not an object: wrong_type when it is valid JSON (an array,
/// string, number, true/false/null), invalid_json otherwise.
media_error classify_non_object(od::document& doc) {
  doc.rewind();
  od::json_type t;
  if (doc.type().get(t))
    return media_error::invalid_json;
  simdjson::error_code e = simdjson::INCORRECT_TYPE;
  switch (t) {
    case od::json_type::array: {
      std::size_t n = 0;
      e = doc.count_elements().get(n);
      break;
    }
    case od::json_type::string: {
      std::string_view sv;
      e = doc.get_string().get(sv);
      break;
    }
    case od::json_type::number: {
      double d = 0;
      e = doc.get_double().get(d);
      break;
    }
    case od::json_type::boolean: {
      bool b = false;
      e = doc.get_bool().get(b);
      break;
    }
    case od::json_type::null: {
      bool null = false;
      e = doc.is_null().get(null);
      if (!e && !null)
        e = simdjson::INCORRECT_TYPE;
      break;
    }
    default:
      break;
  }
  return e ? media_error::invalid_json : media_error::wrong_type;
}

media_event classify(std::string_view name) noexcept {
  if (name == "media")
    return media_event::media;
  if (name == "mark")
    return media_event::mark;
  if (name == "start")
    return media_event::start;
  if (name == "connected")
    return media_event::connected;
  if (name == "dtmf")
    return media_event::dtmf;
  if (name == "stop")
    return media_event::stop;
  return media_event::unknown;
}

} // namespace

std::string_view to_string(media_error e) noexcept {
  switch (e) {
    case media_error::ok:
      return "ok";
    case media_error::invalid_json:
      return "invalid_json";
    case media_error::missing_field:
      return "missing_field";
    case media_error::bad_base64:
      return "bad_base64";
    case media_error::payload_too_large:
      return "payload_too_large";
    case media_error::wrong_type:
      return "wrong_type";
  }
  return "unknown";
}

std::string_view to_string(media_event e) noexcept {
  switch (e) {
    case media_event::connected:
      return "connected";
    case media_event::start:
      return "start";
    case media_event::media:
      return "media";
    case media_event::mark:
      return "mark";
    case media_event::dtmf:
      return "dtmf";
    case media_event::stop:
      return "stop";
    case media_event::unknown:
      return "unknown";
  }
  return "unknown";
}

const std::string*
media_frame::custom_parameter(std::string_view name) const noexcept {
  for (const auto& [k, v] : custom_parameters)
    if (k == name)
      return &v;
  return nullptr;
}

void media_frame::reset() noexcept {
  event = media_event::unknown;
  stream_sid.clear();
  sequence_number = 0;
  protocol.clear();
  version.clear();
  call_sid.clear();
  account_sid.clear();
  tracks.clear();
  custom_parameters.clear();
  encoding.clear();
  sample_rate = 0;
  channels = 0;
  track.clear();
  chunk = 0;
  timestamp = 0;
  payload.clear();
  mark_name.clear();
  dtmf_digit.clear();
  dtmf_track.clear();
  event_name.clear();
}

media_frame_parser::media_frame_parser()
  : parser_(media_max_frame) {}

media_error media_frame_parser::parse(simdjson::padded_string_view json,
                                      media_frame& out) {
  out.reset();
  if (json.size() > media_max_frame)
    return media_error::payload_too_large;
  if (json.empty())
    return media_error::invalid_json;

  od::document doc;
  if (auto e = parser_.iterate(json).get(doc))
    return e == simdjson::CAPACITY ? media_error::payload_too_large
                                   : media_error::invalid_json;
  od::object root;
  if (auto e = doc.get_object().get(root))
    return e == simdjson::INCORRECT_TYPE ? classify_non_object(doc)
                                         : media_error::invalid_json;

  bool has_event = false;
  bool has_start = false; // a `start` object was parsed
  bool has_payload = false;
  for (auto r : root) {
    od::field f;
    if (auto e = std::move(r).get(f))
      return map_error(e);
    std::string_view key;
    if (auto e = f.unescaped_key().get(key))
      return map_error(e);
    od::value& v = f.value();
    media_error err = media_error::ok;
    // Sub-objects of another event than the one already seen are skipped.
    auto wants = [&](media_event ev) { return !has_event || out.event == ev; };
    if (key == "event") {
      std::string_view name;
      if (auto e = v.get_string().get(name))
        return map_error(e);
      has_event = true;
      out.event = classify(name);
      if (out.event == media_event::unknown)
        out.event_name.assign(name.data(), name.size());
    } else if (key == "streamSid") {
      err = read_string(v, out.stream_sid);
    } else if (key == "sequenceNumber") {
      err = read_u64(v, out.sequence_number);
    } else if (key == "media" && wants(media_event::media)) {
      err = parse_media(v, out, has_payload);
    } else if (key == "start" && wants(media_event::start)) {
      err = parse_start(v, out);
      has_start = true;
    } else if (key == "mark" && wants(media_event::mark)) {
      err = for_each_field(v, [&](std::string_view k, od::value& x) {
        return k == "name" ? read_string(x, out.mark_name) : media_error::ok;
      });
    } else if (key == "dtmf" && wants(media_event::dtmf)) {
      err = for_each_field(v, [&](std::string_view k, od::value& x) {
        if (k == "digit")
          return read_string(x, out.dtmf_digit);
        if (k == "track")
          return read_string(x, out.dtmf_track);
        return media_error::ok;
      });
    } else if (key == "stop" && wants(media_event::stop)) {
      err = for_each_field(v, [&](std::string_view k, od::value& x) {
        if (k == "callSid")
          return read_string(x, out.call_sid);
        if (k == "accountSid")
          return read_string(x, out.account_sid);
        return media_error::ok;
      });
    } else if (key == "protocol" && wants(media_event::connected)) {
      err = read_string(v, out.protocol);
    } else if (key == "version" && wants(media_event::connected)) {
      err = read_string(v, out.version);
    }
    if (err != media_error::ok)
      return err;
  }
  // Anything after the root object (`{...} x`, `{...}{...}`) is invalid.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS)
    return media_error::invalid_json;

  if (!has_event)
    return media_error::missing_field;
  switch (out.event) {
    case media_event::connected:
    case media_event::unknown:
      return media_error::ok;
    case media_event::start:
      if (!has_start || out.stream_sid.empty() || out.call_sid.empty())
        return media_error::missing_field;
      return media_error::ok;
    case media_event::media:
      if (!has_payload || out.stream_sid.empty())
        return media_error::missing_field;
      return media_error::ok;
    case media_event::mark:
      if (out.stream_sid.empty() || out.mark_name.empty())
        return media_error::missing_field;
      return media_error::ok;
    case media_event::dtmf:
      if (out.stream_sid.empty() || out.dtmf_digit.empty())
        return media_error::missing_field;
      return media_error::ok;
    case media_event::stop:
      if (out.stream_sid.empty())
        return media_error::missing_field;
      return media_error::ok;
  }
  return media_error::ok;
}

media_error media_frame_parser::parse(const char* data, std::size_t len,
                                      std::size_t capacity, media_frame& out) {
  if (data == nullptr || capacity < len
      || capacity - len < simdjson::SIMDJSON_PADDING)
    return parse_copy(std::string_view(data ? data : "", data ? len : 0), out);
  return parse(simdjson::padded_string_view(data, len, capacity), out);
}

media_error media_frame_parser::parse_copy(std::string_view text,
                                           media_frame& out) {
  if (text.size() > media_max_frame) {
    out.reset();
    return media_error::payload_too_large;
  }
  scratch_.assign(text.data(), text.size());
  scratch_.resize(text.size() + simdjson::SIMDJSON_PADDING, '\0');
  return parse(simdjson::padded_string_view(scratch_.data(), text.size(),
                                            scratch_.size()),
               out);
}

} // namespace al
