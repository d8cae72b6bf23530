#pragma once

// Helpers shared by the libFuzzer targets of bench/fuzz/ (built by
// bench/fuzz.sh with clang, never by the main CMake build): splitting an
// input into fields, a fatal check that libFuzzer reports as a crash, and a
// tiny strict XML 1.0 checker for what core/twiml.hpp writes.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace al::fuzz {

/// Aborts (a crash for libFuzzer, with the input saved) when `ok` is false.
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz check failed: %s\n", what);
    std::abort();
  }
}

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// `s` split at every `sep` (n separators give n + 1 parts).
inline std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t from = 0;
  for (;;) {
    auto at = s.find(sep, from);
    if (at == std::string_view::npos) {
      out.push_back(s.substr(from));
      return out;
    }
    out.push_back(s.substr(from, at - from));
    from = at + 1;
  }
}

/// The first `n - 1` lines of `s` and then the rest (which may hold '\n').
inline std::vector<std::string_view> fields(std::string_view s, std::size_t n) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < n) {
    auto at = s.find('\n');
    if (at == std::string_view::npos)
      break;
    out.push_back(s.substr(0, at));
    s.remove_prefix(at + 1);
  }
  out.push_back(s);
  while (out.size() < n)
    out.emplace_back();
  return out;
}

// -- a strict XML checker ----------------------------------------------------

/// One parsed element; attribute values are decoded (references resolved,
/// literal tab/LF/CR normalised to spaces, as an XML parser would).
struct xml_element {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attrs;
  std::vector<xml_element> children;
  std::string text; // decoded character data, all of it concatenated
};

/// Parses a complete document: an optional `<?xml ...?>` declaration and one
/// root element, nothing else but whitespace. Refuses anything ill-formed:
/// invalid UTF-8, characters outside XML 1.0's Char, a raw '<' or a bare '&'
/// in text or attribute values, unknown entities, mismatched or unclosed
/// tags, duplicate attributes, "]]>" in text. Names are restricted to what
/// xml_writer emits ([A-Za-z_][A-Za-z0-9_.-]*).
class xml_checker {
public:
  bool parse(std::string_view doc, xml_element& root) {
    s_ = doc;
    i_ = 0;
    error_.clear();
    if (!valid_chars())
      return false;
    if (s_.substr(0, 5) == "<?xml") {
      auto end = s_.find("?>");
      if (end == std::string_view::npos)
        return fail("unterminated declaration");
      i_ = end + 2;
    }
    skip_ws();
    if (!element(root, 0))
      return false;
    skip_ws();
    if (i_ != s_.size())
      return fail("content after the root element");
    return true;
  }

  const std::string& error() const noexcept {
    return error_;
  }

private:
  static constexpr int max_depth = 256;

  bool fail(const char* why) {
    error_ = why;
    error_ += " at offset " + std::to_string(i_);
    return false;
  }

  static bool is_char(std::uint32_t cp) {
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF)
           || (cp >= 0xE000 && cp <= 0xFFFD)
           || (cp >= 0x10000 && cp <= 0x10FFFF);
  }

  bool valid_chars() {
    std::size_t k = 0;
    while (k < s_.size()) {
      auto c = static_cast<unsigned char>(s_[k]);
      std::uint32_t cp = 0;
      std::size_t len = 0;
      if (c < 0x80) {
        cp = c;
        len = 1;
      } else if (c >= 0xC2 && c <= 0xDF) {
        cp = c & 0x1F;
        len = 2;
      } else if (c >= 0xE0 && c <= 0xEF) {
        cp = c & 0x0F;
        len = 3;
      } else if (c >= 0xF0 && c <= 0xF4) {
        cp = c & 0x07;
        len = 4;
      } else {
        i_ = k;
        return fail("invalid UTF-8 lead byte");
      }
      if (k + len > s_.size()) {
        i_ = k;
        return fail("truncated UTF-8 sequence");
      }
      for (std::size_t j = 1; j < len; ++j) {
        auto cc = static_cast<unsigned char>(s_[k + j]);
        if ((cc & 0xC0) != 0x80) {
          i_ = k;
          return fail("invalid UTF-8 continuation");
        }
        cp = (cp << 6) | (cc & 0x3F);
      }
      bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
      if (overlong || (cp >= 0xD800 && cp <= 0xDFFF) || !is_char(cp)) {
        i_ = k;
        return fail("character not allowed in XML");
      }
      k += len;
    }
    return true;
  }

  void skip_ws() {
    while (
      i_ < s_.size()
      && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }

  static bool name_start(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
  }
  static bool name_char(char c) {
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
  }

  bool name(std::string& out) {
    if (i_ >= s_.size() || !name_start(s_[i_]))
      return fail("bad name");
    auto from = i_;
    while (i_ < s_.size() && name_char(s_[i_]))
      ++i_;
    out.assign(s_.substr(from, i_ - from));
    return true;
  }

  static void append_utf8(std::uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // At '&': a predefined entity or a character reference.
  bool reference(std::string& out) {
    auto end = s_.find(';', i_);
    if (end == std::string_view::npos || end - i_ > 12)
      return fail("unterminated reference");
    auto ref = s_.substr(i_ + 1, end - i_ - 1);
    i_ = end + 1;
    if (ref == "amp")
      out += '&';
    else if (ref == "lt")
      out += '<';
    else if (ref == "gt")
      out += '>';
    else if (ref == "quot")
      out += '"';
    else if (ref == "apos")
      out += '\'';
    else if (ref.size() >= 2 && ref[0] == '#') {
      bool hex = ref[1] == 'x';
      auto digits = ref.substr(hex ? 2 : 1);
      if (digits.empty())
        return fail("empty character reference");
      std::uint32_t cp = 0;
      for (char c : digits) {
        int d = -1;
        if (c >= '0' && c <= '9')
          d = c - '0';
        else if (hex && c >= 'a' && c <= 'f')
          d = c - 'a' + 10;
        else if (hex && c >= 'A' && c <= 'F')
          d = c - 'A' + 10;
        if (d < 0)
          return fail("bad character reference");
        cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(d);
        if (cp > 0x10FFFF)
          return fail("character reference out of range");
      }
      if (!is_char(cp))
        return fail("character reference to a non-XML character");
      append_utf8(cp, out);
    } else {
      return fail("unknown entity");
    }
    return true;
  }

  bool attr_value(std::string& out) {
    if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\''))
      return fail("attribute value not quoted");
    char q = s_[i_++];
    for (;;) {
      if (i_ >= s_.size())
        return fail("unterminated attribute value");
      char c = s_[i_];
      if (c == q) {
        ++i_;
        return true;
      }
      if (c == '<')
        return fail("raw '<' in an attribute value");
      if (c == '&') {
        if (!reference(out))
          return false;
        continue;
      }
      out += (c == '\t' || c == '\n' || c == '\r') ? ' ' : c;
      ++i_;
    }
  }

  bool element(xml_element& el, int depth) {
    if (depth > max_depth)
      return fail("too deep");
    if (i_ >= s_.size() || s_[i_] != '<')
      return fail("expected '<'");
    ++i_;
    if (!name(el.name))
      return false;
    for (;;) {
      auto before = i_;
      skip_ws();
      if (i_ >= s_.size())
        return fail("unterminated start tag");
      if (s_.substr(i_, 2) == "/>") {
        i_ += 2;
        return true;
      }
      if (s_[i_] == '>') {
        ++i_;
        break;
      }
      if (i_ == before)
        return fail("no space before an attribute");
      std::string n, v;
      if (!name(n))
        return false;
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != '=')
        return fail("expected '='");
      ++i_;
      skip_ws();
      if (!attr_value(v))
        return false;
      for (auto& [k, _] : el.attrs)
        if (k == n)
          return fail("duplicate attribute");
      el.attrs.emplace_back(std::move(n), std::move(v));
    }
    // Content until the matching end tag.
    for (;;) {
      if (i_ >= s_.size())
        return fail("unclosed element");
      char c = s_[i_];
      if (c == '<') {
        if (s_.substr(i_, 2) == "</") {
          i_ += 2;
          std::string end;
          if (!name(end))
            return false;
          if (end != el.name)
            return fail("mismatched end tag");
          skip_ws();
          if (i_ >= s_.size() || s_[i_] != '>')
            return fail("unterminated end tag");
          ++i_;
          return true;
        }
        el.children.emplace_back();
        if (!element(el.children.back(), depth + 1))
          return false;
        continue;
      }
      if (c == '&') {
        if (!reference(el.text))
          return false;
        continue;
      }
      if (s_.substr(i_, 3) == "]]>")
        return fail("']]>' in character data");
      el.text += c;
      ++i_;
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::string error_;
};

/// Aborts with the checker's message when `doc` is not well-formed.
inline xml_element require_xml(std::string_view doc) {
  xml_checker c;
  xml_element root;
  if (!c.parse(doc, root)) {
    std::fprintf(stderr, "ill-formed XML (%s):\n%.*s\n", c.error().c_str(),
                 static_cast<int>(doc.size() > 4000 ? 4000 : doc.size()),
                 doc.data());
    std::abort();
  }
  return root;
}

} // namespace al::fuzz
