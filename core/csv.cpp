#include "core/csv.hpp"

namespace al {

namespace {

constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";

/// Offset of the first byte that is not part of valid UTF-8 (overlong forms,
/// surrogates and code points above U+10FFFF are invalid) or is a NUL, or
/// npos. `nul` tells which of the two it is.
std::size_t first_bad_byte(std::string_view s, bool& nul) noexcept {
  std::size_t i = 0;
  const auto n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == 0) {
        nul = true;
        return i;
      }
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF; // allowed range of the 2nd byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0)
        lo = 0xA0; // overlong
      else if (c == 0xED)
        hi = 0x9F; // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0)
        lo = 0x90; // overlong
      else if (c == 0xF4)
        hi = 0x8F; // above U+10FFFF
    } else {
      nul = false;
      return i;
    }
    if (i + len > n) {
      nul = false;
      return i;
    }
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (cc < lo || cc > hi) : (cc & 0xC0) != 0x80) {
        nul = false;
        return i;
      }
    }
    i += len;
  }
  return std::string_view::npos;
}

/// 1-based physical line of `offset` (CRLF, LF and lone CR each end one).
std::size_t line_of(std::string_view s, std::size_t offset) noexcept {
  std::size_t line = 1;
  for (std::size_t i = 0; i < offset && i < s.size(); ++i) {
    if (s[i] == '\n') {
      ++line;
    } else if (s[i] == '\r') {
      ++line;
      if (i + 1 < offset && s[i + 1] == '\n')
        ++i;
    }
  }
  return line;
}

bool is_line_end(char c) noexcept {
  return c == '\r' || c == '\n';
}

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool starts_with_sep(std::string_view s) noexcept {
  return s.size() >= 4 && lower(s[0]) == 's' && lower(s[1]) == 'e'
         && lower(s[2]) == 'p' && s[3] == '=';
}

bool allowed_delimiter(char c) noexcept {
  return c == ',' || c == ';' || c == '\t' || c == '|';
}

class csv_reader {
public:
  csv_reader(std::string_view text, std::size_t max_records,
             std::size_t max_field_bytes)
    : text_(text)
    , max_records_(max_records)
    , max_field_(max_field_bytes) {}

  std::optional<csv_error> run(std::vector<csv_record>& out) {
    bool nul = false;
    bad_at_ = first_bad_byte(text_, nul);
    bad_message_ = nul ? "NUL byte in the file (save it as \"CSV UTF-8\")"
                       : "invalid UTF-8 (save the file as \"CSV UTF-8\")";
    detect_delimiter();
    set_stops();
    while (pos_ < text_.size()) {
      if (line_end())
        continue; // a blank line
      auto start = pos_;
      csv_record rec;
      rec.line = line_;
      bool any_quoted = false, any_text = false;
      for (;;) {
        std::string field;
        bool quoted = pos_ < text_.size() && text_[pos_] == '"';
        if (auto err = quoted ? quoted_field(field) : plain_field(field))
          return err;
        any_quoted |= quoted;
        any_text |= !field.empty();
        rec.fields.push_back(std::move(field));
        if (pos_ < text_.size() && text_[pos_] == delim_) {
          ++pos_;
          continue;
        }
        break; // a line end or the end of the text
      }
      line_end();
      if (bad_at_ < pos_)
        return encoding_error(); // in this record
      if (!any_quoted && !any_text)
        continue; // ",,,": an empty spreadsheet row
      if (out.size() >= max_records_)
        return fail(start, rec.line,
                    "more than " + std::to_string(max_records_) + " records");
      out.push_back(std::move(rec));
    }
    if (bad_at_ != std::string_view::npos)
      return encoding_error();
    return std::nullopt;
  }

private:
  csv_error encoding_error() const {
    return {line_of(text_, bad_at_), bad_message_};
  }

  /// An error found at `pos`, unless bad bytes come earlier (or there).
  csv_error fail(std::size_t pos, std::size_t line, std::string msg) const {
    if (bad_at_ <= pos)
      return encoding_error();
    return {line, std::move(msg)};
  }

  /// Consumes CR, LF or CRLF at pos_.
  bool line_end() noexcept {
    if (pos_ >= text_.size() || !is_line_end(text_[pos_]))
      return false;
    if (text_[pos_++] == '\r' && pos_ < text_.size() && text_[pos_] == '\n')
      ++pos_;
    ++line_;
    return true;
  }

  // Blank lines, then an Excel "sep=X" line or the header line's
  // separators. Leaves pos_ on the header (past a sep= line).
  void detect_delimiter() {
    while (line_end()) {
    }
    auto rest = text_.substr(pos_);
    auto eol = rest.find_first_of("\r\n");
    auto first = rest.substr(0, eol);
    if (first.size() == 5 && starts_with_sep(first)
        && allowed_delimiter(first[4])) {
      delim_ = first[4];
      pos_ += first.size();
      line_end();
      return;
    }
    std::size_t commas = 0, semis = 0, tabs = 0;
    bool in_quotes = false;
    for (char c : rest) {
      if (c == '"')
        in_quotes = !in_quotes; // "" toggles twice: still right
      else if (in_quotes)
        continue;
      else if (is_line_end(c))
        break;
      else if (c == ',')
        ++commas;
      else if (c == ';')
        ++semis;
      else if (c == '\t')
        ++tabs;
    }
    if (commas == 0 && (semis > 0 || tabs > 0))
      delim_ = semis >= tabs ? ';' : '\t';
  }

  void set_stops() {
    plain_stops_[0] = delim_;
  }

  std::optional<csv_error> too_long(std::size_t line) const {
    return fail(pos_, line,
                "a field longer than " + std::to_string(max_field_) + " bytes");
  }

  std::optional<csv_error> quoted_field(std::string& field) {
    auto start_line = line_;
    ++pos_; // the opening quote
    for (;;) {
      auto at = text_.find_first_of("\"\r\n", pos_);
      if (at == std::string_view::npos) {
        return fail(text_.size(), start_line,
                    "unterminated quoted field (its quote opens on line "
                      + std::to_string(start_line) + ")");
      }
      field.append(text_.substr(pos_, at - pos_));
      pos_ = at;
      char c = text_[pos_];
      if (c == '"') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
          field.push_back('"');
          pos_ += 2;
        } else {
          ++pos_;
          break;
        }
      } else {
        // A line end inside the field: kept as written, counted.
        field.push_back(c);
        auto before = pos_;
        line_end();
        if (pos_ - before == 2)
          field.push_back('\n');
      }
      if (field.size() > max_field_)
        return too_long(start_line);
    }
    if (field.size() > max_field_)
      return too_long(start_line);
    while (pos_ < text_.size() && text_[pos_] == ' ')
      ++pos_;
    if (pos_ < text_.size() && text_[pos_] != delim_
        && !is_line_end(text_[pos_]))
      return fail(pos_, line_,
                  "unexpected text after a closing quote (a quote inside a"
                  " quoted field must be doubled)");
    return std::nullopt;
  }

  std::optional<csv_error> plain_field(std::string& field) {
    auto at = text_.find_first_of(
      std::string_view{plain_stops_, sizeof plain_stops_}, pos_);
    if (at == std::string_view::npos)
      at = text_.size();
    if (at - pos_ > max_field_)
      return too_long(line_);
    // A quote inside a field that did not start with one is a letter:
    // Hebrew abbreviations (ממ"ד, מ"ר, ת"א) are written that way by hand.
    field.assign(text_.substr(pos_, at - pos_));
    pos_ = at;
    return std::nullopt;
  }

  std::string_view text_;
  std::size_t max_records_;
  std::size_t max_field_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  char delim_ = ',';
  char plain_stops_[3] = {',', '\r', '\n'};
  std::size_t bad_at_ = std::string_view::npos;
  std::string bad_message_;
};

bool plain_number(std::string_view s) noexcept {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-'))
    ++i;
  auto digits = [&] {
    auto from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
      ++i;
    return i > from;
  };
  if (!digits())
    return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits())
      return false;
  }
  return i == s.size();
}

bool needs_quotes(std::string_view v) noexcept {
  if (v.empty())
    return false;
  return v.find_first_of(",;\t\"\r\n") != std::string_view::npos
         || v.front() == ' ' || v.back() == ' '
         || v.substr(0, utf8_bom.size()) == utf8_bom || starts_with_sep(v);
}

} // namespace

std::optional<csv_error>
parse_csv(std::string_view text, std::vector<csv_record>& out,
          std::size_t max_records, std::size_t max_field_bytes) {
  out.clear();
  if (text.size() >= 2
      && ((text[0] == '\xFF' && text[1] == '\xFE')
          || (text[0] == '\xFE' && text[1] == '\xFF')))
    return csv_error{1, "the file is UTF-16: save it as \"CSV UTF-8\""};
  if (text.substr(0, utf8_bom.size()) == utf8_bom)
    text.remove_prefix(utf8_bom.size());
  return csv_reader{text, max_records, max_field_bytes}.run(out);
}

bool csv_needs_formula_guard(std::string_view field) noexcept {
  if (field.empty())
    return false;
  switch (field[0]) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
      return !plain_number(field);
    default:
      return false;
  }
}

std::string_view csv_strip_formula_guard(std::string_view cell) noexcept {
  if (cell.size() > 1 && cell[0] == '\''
      && csv_needs_formula_guard(cell.substr(1)))
    cell.remove_prefix(1);
  return cell;
}

void csv_append_row(std::string& out, const std::vector<std::string>& fields) {
  bool all_empty = true;
  for (auto& f : fields)
    all_empty = all_empty && f.empty();
  std::string guarded;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    std::string_view v = fields[i];
    if (csv_needs_formula_guard(v)) {
      guarded.assign(1, '\'');
      guarded.append(v);
      v = guarded;
    }
    if ((all_empty && i == 0) || needs_quotes(v)) {
      out.push_back('"');
      for (char c : v) {
        if (c == '"')
          out.push_back('"');
        out.push_back(c);
      }
      out.push_back('"');
    } else {
      out.append(v);
    }
  }
  out.append("\r\n");
}

std::string csv_bom() {
  return std::string{utf8_bom};
}

} // namespace al
