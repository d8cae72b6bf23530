#pragma once

// A small RFC 4180 CSV reader and writer for the CRM's import and export
// (listings, leads). Pure: text in, records out, or rows in, text out.
//
// Reading accepts what spreadsheets actually write:
//  - UTF-8 with or without a BOM (EF BB BF, stripped); a UTF-16 file (FF FE
//    or FE FF) or any invalid UTF-8 is an error naming its line, and so is a
//    NUL byte (no database text can hold one);
//  - CRLF, LF or a lone CR as line ends (mixed too);
//  - quoted fields holding the delimiter, doubled quotes ("") and line ends;
//    spaces (only) may follow a closing quote; anything else there is an
//    error. A quote inside a field that did not start with one is kept as
//    a letter (Hebrew abbreviations such as ממ"ד or מ"ר are typed so);
//  - the delimiter: ',' unless the header line (the first non-blank line)
//    has no ',' outside quotes but has ';' or a tab, as Excel writes in
//    locales whose decimal separator is a comma (the more frequent of the two
//    wins, ';' on a tie). An Excel "sep=X" first line names the delimiter
//    itself and is skipped.
//  - blank lines are skipped, and so are rows of unquoted empty fields only
//    (",,,," is how Excel writes an empty row).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace al {

/// One record; `line` is the 1-based physical line where it starts (line
/// ends inside quoted fields count, so later records keep their real line).
struct csv_record {
  std::size_t line = 0;
  std::vector<std::string> fields;

  friend bool operator==(const csv_record& a, const csv_record& b) {
    return a.line == b.line && a.fields == b.fields;
  }
};

struct csv_error {
  std::size_t line = 0;
  std::string message; // English, without the line ("unterminated ...")
};

constexpr std::size_t csv_default_max_records = 100000;
constexpr std::size_t csv_default_max_field_bytes = 64 * 1024;

/// Parses `text` into `out` (cleared first; the header is out[0]). On error
/// returns it, and `out` holds the records read before it. More than
/// `max_records` records (the header included) or a field of more than
/// `max_field_bytes` bytes is an error.
std::optional<csv_error>
parse_csv(std::string_view text, std::vector<csv_record>& out,
          std::size_t max_records = csv_default_max_records,
          std::size_t max_field_bytes = csv_default_max_field_bytes);

/// Appends one row, comma-separated and ended by CRLF. A field is quoted
/// when it holds ',', ';', a tab, '"', CR or LF, has a leading or trailing
/// space, starts with a BOM or with "sep=" (so that reading the output gives
/// the same fields back, whatever delimiter a reader guesses); a row whose
/// fields are all empty gets its first field written as "" (else a reader
/// would skip it as an empty row). Fields are first passed through the
/// formula guard below.
void csv_append_row(std::string& out, const std::vector<std::string>& fields);

/// Spreadsheet formula injection (OWASP "CSV injection"): a cell starting
/// with '=', '+', '-', '@', a tab or a CR may be run as a formula by Excel
/// or LibreOffice, so the writer prefixes it with a "'" (shown as text,
/// hidden in the cell). Exempt are plain numbers and phone numbers, which a
/// spreadsheet reads as values: an optional '+' or '-', then digits, then
/// optionally '.' and digits ("-5", "+972501234567", "-3.5"). True when
/// `field` gets the prefix.
bool csv_needs_formula_guard(std::string_view field) noexcept;

/// `cell` without the "'" the guard put there: "'=1+1" → "=1+1", while
/// "'5", "'abc" and "'" stay as they are. An importer reading our own export
/// gets the original text back (Excel writes a cell typed as '=x as =x, so
/// such an apostrophe is hardly ever the user's).
std::string_view csv_strip_formula_guard(std::string_view cell) noexcept;

/// The UTF-8 byte order mark; exports start with it so that Excel reads
/// Hebrew as UTF-8.
std::string csv_bom();

} // namespace al
