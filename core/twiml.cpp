#include "core/twiml.hpp"

namespace al {

namespace {

constexpr std::string_view xml_declaration
  = R"(<?xml version="1.0" encoding="UTF-8"?>)";
constexpr std::string_view replacement = "\xEF\xBF\xBD"; // U+FFFD

bool cont(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 if invalid.
std::size_t utf8_seq(std::string_view s, std::size_t i, char32_t& cp) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto n = s.size() - i;
  auto c0 = b(0);
  if (c0 < 0x80) {
    cp = c0;
    return 1;
  }
  if (c0 >= 0xC2 && c0 <= 0xDF) {
    if (n < 2 || !cont(b(1)))
      return 0;
    cp = (char32_t(c0 & 0x1F) << 6) | (b(1) & 0x3F);
    return 2;
  }
  if (c0 >= 0xE0 && c0 <= 0xEF) {
    if (n < 3 || !cont(b(1)) || !cont(b(2)))
      return 0;
    if ((c0 == 0xE0 && b(1) < 0xA0) || (c0 == 0xED && b(1) > 0x9F))
      return 0; // overlong or surrogate
    cp = (char32_t(c0 & 0x0F) << 12) | (char32_t(b(1) & 0x3F) << 6)
         | (b(2) & 0x3F);
    return 3;
  }
  if (c0 >= 0xF0 && c0 <= 0xF4) {
    if (n < 4 || !cont(b(1)) || !cont(b(2)) || !cont(b(3)))
      return 0;
    if ((c0 == 0xF0 && b(1) < 0x90) || (c0 == 0xF4 && b(1) > 0x8F))
      return 0; // overlong or above U+10FFFF
    cp = (char32_t(c0 & 0x07) << 18) | (char32_t(b(1) & 0x3F) << 12)
         | (char32_t(b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    return 4;
  }
  return 0;
}

bool xml_char(char32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF)
         || (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

// Calls emit(bytes, code_point) for each character XML 1.0 allows.
template <class Emit>
void for_each_xml_char(std::string_view s, Emit&& emit) {
  std::size_t i = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    auto len = utf8_seq(s, i, cp);
    if (len == 0) {
      emit(replacement, char32_t{0xFFFD});
      ++i;
      continue;
    }
    if (xml_char(cp))
      emit(s.substr(i, len), cp);
    i += len;
  }
}

bool name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

std::string xml_name(std::string_view name) {
  if (name.empty())
    return "_";
  std::string out{name};
  for (std::size_t i = 0; i < out.size(); ++i)
    if (i == 0 ? !name_start(out[i]) : !name_char(out[i]))
      out[i] = '_';
  return out;
}

bool blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

std::string say_record_hangup(const url_builder& urls, std::string_view prompt,
                              std::string_view voice) {
  xml_writer w;
  w.declaration().open("Response");
  auto text = xml_clean(prompt);
  if (!blank(text)) {
    w.open("Say");
    if (!voice.empty())
      w.attr("voice", voice);
    w.attr("language", "he-IL").text(text).close();
  }
  w.open("Record")
    .attr("maxLength", "120")
    .attr("playBeep", "true")
    .attr("recordingStatusCallback", urls.http("/webhook/recording_status"))
    .attr("recordingStatusCallbackMethod", "POST")
    .close();
  w.empty_element("Hangup");
  return w.take();
}

} // namespace

std::string xml_clean(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for_each_xml_char(s, [&](std::string_view bytes, char32_t) {
    out.append(bytes);
  });
  return out;
}

void xml_escape_append(std::string_view s, std::string& out, bool attribute) {
  out.reserve(out.size() + s.size());
  for_each_xml_char(s, [&](std::string_view bytes, char32_t cp) {
    switch (cp) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\r':
        out += "&#13;";
        break;
      case '\t':
        out += attribute ? "&#9;" : "\t";
        break;
      case '\n':
        out += attribute ? "&#10;" : "\n";
        break;
      default:
        out.append(bytes);
    }
  });
}

xml_writer& xml_writer::declaration() {
  if (out_.empty())
    out_ += xml_declaration;
  return *this;
}

void xml_writer::finish_start_tag() {
  if (in_start_tag_) {
    out_.push_back('>');
    in_start_tag_ = false;
  }
}

xml_writer& xml_writer::open(std::string_view name) {
  if (root_done_ || ignored_ > 0) {
    ++ignored_;
    return *this;
  }
  finish_start_tag();
  stack_.push_back(xml_name(name));
  out_.push_back('<');
  out_ += stack_.back();
  attrs_.clear();
  in_start_tag_ = true;
  return *this;
}

xml_writer& xml_writer::attr(std::string_view name, std::string_view value) {
  if (ignored_ > 0 || !in_start_tag_)
    return *this;
  auto n = xml_name(name);
  for (auto& a : attrs_)
    if (a == n)
      return *this;
  out_.push_back(' ');
  out_ += n;
  out_ += "=\"";
  xml_escape_append(value, out_, true);
  out_.push_back('"');
  attrs_.push_back(std::move(n));
  return *this;
}

xml_writer& xml_writer::text(std::string_view content) {
  if (ignored_ > 0 || stack_.empty())
    return *this;
  finish_start_tag();
  xml_escape_append(content, out_, false);
  return *this;
}

xml_writer& xml_writer::close() {
  if (ignored_ > 0) {
    --ignored_;
    return *this;
  }
  if (stack_.empty())
    return *this;
  if (in_start_tag_) {
    out_ += "/>";
    in_start_tag_ = false;
  } else {
    out_ += "</";
    out_ += stack_.back();
    out_.push_back('>');
  }
  stack_.pop_back();
  attrs_.clear();
  if (stack_.empty())
    root_done_ = true;
  return *this;
}

xml_writer& xml_writer::empty_element(std::string_view name) {
  return open(name).close();
}

std::string xml_writer::str() const {
  xml_writer copy = *this;
  return copy.take();
}

std::string xml_writer::take() {
  ignored_ = 0;
  while (!stack_.empty())
    close();
  auto out = std::move(out_);
  *this = xml_writer{};
  return out;
}

std::optional<std::string> connect_stream_twiml(
  const url_builder& urls,
  std::vector<std::pair<std::string, std::string>> parameters,
  std::string_view stream_path) {
  for (auto& [name, value] : parameters) {
    auto n = xml_clean(name).size();
    if (n == 0 || n + xml_clean(value).size() >= twiml_parameter_limit)
      return std::nullopt;
  }
  xml_writer w;
  w.declaration()
    .open("Response")
    .open("Connect")
    .attr("action", urls.http("/webhook/stream_ended"))
    .open("Stream")
    .attr("url", urls.ws(stream_path))
    .attr("statusCallback", urls.http("/webhook/stream_status"))
    .attr("statusCallbackMethod", "POST");
  for (auto& [name, value] : parameters)
    w.open("Parameter").attr("name", name).attr("value", value).close();
  return w.take();
}

std::string recording_fallback_twiml(const url_builder& urls,
                                     std::string_view hebrew_prompt,
                                     std::string_view say_voice) {
  return say_record_hangup(urls, hebrew_prompt, say_voice);
}

std::string voicemail_twiml(const url_builder& urls,
                            std::string_view hebrew_prompt,
                            std::string_view say_voice) {
  return say_record_hangup(urls, hebrew_prompt, say_voice);
}

std::string dial_twiml(const url_builder& urls,
                       const std::vector<std::string>& numbers,
                       int ring_timeout_s, std::string_view caller_id) {
  xml_writer w;
  w.declaration().open("Response").open("Dial");
  w.attr("timeout", std::to_string(ring_timeout_s))
    .attr("action", urls.http("/webhook/transfer_status"))
    .attr("method", "POST");
  if (!caller_id.empty())
    w.attr("callerId", caller_id);
  for (auto& n : numbers)
    w.open("Number").text(n).close();
  return w.take();
}

std::string hangup_twiml() {
  xml_writer w;
  w.declaration().open("Response").empty_element("Hangup");
  return w.take();
}

} // namespace al
