#include "core/media_out.hpp"

#include "core/crypto.hpp"
#include "core/json.hpp"

namespace al {

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  const bool utf8 = valid_utf8(s);
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < 0x20) {
          out.append("\\u00");
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 0x0F]);
        } else if (c >= 0x80 && !utf8) {
          out.push_back('?');
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

void append_media_json(std::string& out, std::string_view stream_sid,
                       std::string_view mulaw) {
  out.reserve(out.size() + 64 + stream_sid.size() + (mulaw.size() + 2) / 3 * 4);
  out.append(R"({"event":"media","streamSid":)");
  append_json_string(out, stream_sid);
  out.append(R"(,"media":{"payload":")");
  crypto::base64_encode_append(mulaw, out);
  out.append("\"}}");
}

media_json_writer::media_json_writer(std::string_view stream_sid) {
  head_.append(R"({"event":"media","streamSid":)");
  append_json_string(head_, stream_sid);
  head_.append(R"(,"media":{"payload":")");
}

void media_json_writer::append(std::string& out, std::string_view mulaw) const {
  out.reserve(out.size() + head_.size() + (mulaw.size() + 2) / 3 * 4 + 3);
  out.append(head_);
  crypto::base64_encode_append(mulaw, out);
  out.append("\"}}");
}

void append_mark_json(std::string& out, std::string_view stream_sid,
                      std::string_view name) {
  out.append(R"({"event":"mark","streamSid":)");
  append_json_string(out, stream_sid);
  out.append(R"(,"mark":{"name":)");
  append_json_string(out, name);
  out.append("}}");
}

void append_clear_json(std::string& out, std::string_view stream_sid) {
  out.append(R"({"event":"clear","streamSid":)");
  append_json_string(out, stream_sid);
  out.push_back('}');
}

} // namespace al
