#include "core/csv_import.hpp"

#include "core/json.hpp"

#include <algorithm>
#include <initializer_list>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace al {

namespace {

// -- text helpers ------------------------------------------------------------

/// Leading/trailing white space, NBSP and the invisible direction marks
/// Hebrew spreadsheets put around numbers (LRM, RLM, U+202A..E, U+2066..9).
std::string_view trim_cell(std::string_view s) {
  auto strip_front = [&]() {
    if (s.empty())
      return false;
    char c = s.front();
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      s.remove_prefix(1);
      return true;
    }
    for (std::string_view m :
         {"\xC2\xA0", "\xE2\x80\x8E", "\xE2\x80\x8F", "\xE2\x80\xAA",
          "\xE2\x80\xAB", "\xE2\x80\xAC", "\xE2\x80\xAD", "\xE2\x80\xAE",
          "\xE2\x81\xA6", "\xE2\x81\xA7", "\xE2\x81\xA8", "\xE2\x81\xA9"})
      if (s.substr(0, m.size()) == m) {
        s.remove_prefix(m.size());
        return true;
      }
    return false;
  };
  auto strip_back = [&]() {
    if (s.empty())
      return false;
    char c = s.back();
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      s.remove_suffix(1);
      return true;
    }
    for (std::string_view m :
         {"\xC2\xA0", "\xE2\x80\x8E", "\xE2\x80\x8F", "\xE2\x80\xAA",
          "\xE2\x80\xAB", "\xE2\x80\xAC", "\xE2\x80\xAD", "\xE2\x80\xAE",
          "\xE2\x81\xA6", "\xE2\x81\xA7", "\xE2\x81\xA8", "\xE2\x81\xA9"})
      if (s.size() >= m.size() && s.substr(s.size() - m.size()) == m) {
        s.remove_suffix(m.size());
        return true;
      }
    return false;
  };
  while (strip_front()) {
  }
  while (strip_back()) {
  }
  return s;
}

std::string ascii_lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

/// Text as compared with the tables: trimmed, ASCII lower case, Hebrew
/// gershayim ״ and typographic double quotes as '"', geresh ׳ and ’ as "'";
/// for a `word` also '_', '-' and tabs as spaces and runs of spaces as one
/// (numbers keep their '-').
std::string fold(std::string_view s, bool word) {
  s = trim_cell(s);
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    auto next = s.substr(i);
    if (next.substr(0, 2) == "\xD7\xB4" || next.substr(0, 3) == "\xE2\x80\x9C"
        || next.substr(0, 3) == "\xE2\x80\x9D") {
      out.push_back('"');
      i += next[0] == '\xD7' ? 1 : 2;
      continue;
    }
    if (next.substr(0, 2) == "\xD7\xB3"
        || next.substr(0, 3) == "\xE2\x80\x99") {
      out.push_back('\'');
      i += next[0] == '\xD7' ? 1 : 2;
      continue;
    }
    if (word && (c == '_' || c == '-' || c == '\t'))
      c = ' ';
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    if (word && c == ' ' && (out.empty() || out.back() == ' '))
      continue;
    out.push_back(c);
  }
  while (word && !out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}

std::string norm(std::string_view s) {
  return fold(s, true);
}

/// Pairs of (alias, canonical value), the aliases normalised once.
class aliases {
public:
  aliases() = default;
  aliases(std::initializer_list<std::pair<std::string_view, std::string_view>>
            entries) {
    for (auto [alias, canonical] : entries)
      add(alias, canonical);
  }

  void add(std::string_view alias, std::string_view canonical) {
    entries_.emplace_back(norm(alias), canonical);
  }

  /// The canonical value of `word`, or nullopt.
  std::optional<std::string_view> find(std::string_view word) const {
    auto key = norm(word);
    for (auto& [alias, canonical] : entries_)
      if (alias == key)
        return canonical;
    return std::nullopt;
  }

private:
  std::vector<std::pair<std::string, std::string_view>> entries_;
};

bool is_list_sep(char c) noexcept {
  return c == ';' || c == '|' || c == ',' || c == '\r' || c == '\n';
}

/// "a; b|c,d" → a, b, c, d (trimmed, empty items dropped).
std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  std::size_t from = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i < s.size() && !is_list_sep(s[i]))
      continue;
    auto item = trim_cell(s.substr(from, i - from));
    if (!item.empty())
      out.emplace_back(item);
    from = i + 1;
  }
  return out;
}

bool starts_with_http(std::string_view s) {
  auto n = norm(s.substr(0, 8));
  return n.rfind("http://", 0) == 0 || n.rfind("https://", 0) == 0;
}

/// URLs separated by ';', '|', ',' or white space; a separator counts only
/// when what follows it starts a new http(s) URL.
std::vector<std::string> split_urls(std::string_view s) {
  auto sep = [](char c) { return is_list_sep(c) || c == ' ' || c == '\t'; };
  std::vector<std::string> out;
  auto push = [&](std::string_view piece) {
    piece = trim_cell(piece);
    while (!piece.empty() && sep(piece.back()))
      piece.remove_suffix(1);
    if (!piece.empty())
      out.emplace_back(piece);
  };
  std::size_t from = 0, i = 0;
  while (i < s.size()) {
    if (!sep(s[i])) {
      ++i;
      continue;
    }
    auto j = i;
    while (j < s.size() && sep(s[j]))
      ++j;
    if (j == s.size() || starts_with_http(s.substr(j))) {
      push(s.substr(from, i - from));
      from = j;
    }
    i = j;
  }
  push(s.substr(from));
  return out;
}

/// `s` (already through fold(), so lower case with '"' for ״) without any
/// of `affixes` (written the same way) before or after.
std::string_view
strip_affixes(std::string_view s,
              std::initializer_list<std::string_view> affixes) {
  for (bool changed = true; changed;) {
    changed = false;
    for (auto a : affixes) {
      if (s.size() > a.size() && s.substr(0, a.size()) == a) {
        s = trim_cell(s.substr(a.size()));
        changed = true;
      }
      if (s.size() > a.size() && s.substr(s.size() - a.size()) == a) {
        s = trim_cell(s.substr(0, s.size() - a.size()));
        changed = true;
      }
    }
  }
  return s;
}

/// "2,450,000", "-1", "2450000.00" → integer; thousands commas must group
/// by three.
std::optional<std::int64_t> grouped_integer(std::string_view s) {
  bool negative = !s.empty() && s[0] == '-';
  if (negative)
    s.remove_prefix(1);
  if (auto dot = s.find('.'); dot != std::string_view::npos) {
    auto tail = s.substr(dot + 1);
    if (tail.empty() || tail.find_first_not_of('0') != std::string_view::npos)
      return std::nullopt;
    s = s.substr(0, dot);
  }
  std::string digits;
  if (s.find(',') != std::string_view::npos) {
    std::size_t from = 0;
    for (bool first = true;; first = false) {
      auto at = s.find(',', from);
      auto group = s.substr(from,
                            at == std::string_view::npos ? s.npos : at - from);
      if (first ? (group.empty() || group.size() > 3) : group.size() != 3)
        return std::nullopt;
      digits.append(group);
      if (at == std::string_view::npos)
        break;
      from = at + 1;
    }
  } else {
    digits.assign(s);
  }
  auto n = parse_decimal(digits, 0, 999999999999999999);
  if (!n)
    return std::nullopt;
  return negative ? -*n : *n;
}

std::optional<std::int64_t> money(std::string_view cell) {
  auto s = fold(cell, false);
  return grouped_integer(strip_affixes(s, {"\xE2\x82\xAA", "ש\"ח", "שח",
                                           "שקלים", "שקל", "nis", "ils"}));
}

std::optional<std::int64_t> square_metres(std::string_view cell) {
  auto s = fold(cell, false);
  return grouped_integer(
    strip_affixes(s, {"מ\"ר", "מר", "מטר", "sqm", "m2", "m\xC2\xB2", "מ'"}));
}

std::optional<std::int64_t> floor_number(std::string_view cell) {
  auto s = fold(cell, false);
  auto v = strip_affixes(s, {"קומה", "floor"});
  if (v == "קרקע" || v == "ground")
    return 0;
  return grouped_integer(v);
}

std::optional<double> rooms_number(std::string_view cell) {
  auto s = fold(cell, false);
  return parse_decimal_number(
    strip_affixes(s, {"חדרים", "חדר", "חד'", "rooms", "room"}));
}

/// Israeli numbers whose leading 0 Excel dropped.
std::string excel_phone(std::string_view cell) {
  if (cell.empty() || cell.find_first_not_of("0123456789") != cell.npos)
    return std::string{cell};
  char c = cell[0];
  if ((cell.size() == 9 && (c == '5' || c == '7'))
      || (cell.size() == 8
          && (c == '2' || c == '3' || c == '4' || c == '8' || c == '9')))
    return "0" + std::string{cell};
  return std::string{cell};
}

// -- the tables ---------------------------------------------------------------

const aliases& listing_columns() {
  static const aliases t{
    {"title", "title"},
    {"כותרת", "title"},
    {"deal", "deal"},
    {"עסקה", "deal"},
    {"סוג עסקה", "deal"},
    {"property_type", "property_type"},
    {"סוג נכס", "property_type"},
    {"city", "city"},
    {"עיר", "city"},
    {"neighborhood", "neighborhood"},
    {"שכונה", "neighborhood"},
    {"street", "street"},
    {"רחוב", "street"},
    {"כתובת", "street"},
    {"address", "street"},
    {"rooms", "rooms"},
    {"חדרים", "rooms"},
    {"מספר חדרים", "rooms"},
    {"floor", "floor"},
    {"קומה", "floor"},
    {"size_sqm", "size_sqm"},
    {"מ\"ר", "size_sqm"},
    {"גודל", "size_sqm"},
    {"שטח", "size_sqm"},
    {"size", "size_sqm"},
    {"sqm", "size_sqm"},
    {"price", "price"},
    {"מחיר", "price"},
    {"status", "status"},
    {"סטטוס", "status"},
    {"מצב", "status"},
    {"description", "description"},
    {"תיאור", "description"},
    {"features", "features"},
    {"מאפיינים", "features"},
    {"photos", "photos"},
    {"תמונות", "photos"},
    {"external_ref", "external_ref"},
    {"מזהה", "external_ref"},
    {"מספר מודעה", "external_ref"},
    {"מס' מודעה", "external_ref"},
    {"tracking_number", "tracking_number"},
    {"מספר מעקב", "tracking_number"},
  };
  return t;
}

const aliases& lead_columns() {
  static const aliases t{
    {"name", "name"},
    {"שם", "name"},
    {"שם מלא", "name"},
    {"full name", "name"},
    {"phone", "phone"},
    {"טלפון", "phone"},
    {"נייד", "phone"},
    {"טלפון נייד", "phone"},
    {"mobile", "phone"},
    {"deal", "deal"},
    {"עסקה", "deal"},
    {"סוג עסקה", "deal"},
    {"city", "city"},
    {"עיר", "city"},
    {"rooms", "rooms"},
    {"חדרים", "rooms"},
    {"מספר חדרים", "rooms"},
    {"budget_min", "budget_min"},
    {"תקציב מינימלי", "budget_min"},
    {"budget_max", "budget_max"},
    {"תקציב", "budget_max"},
    {"תקציב מקסימלי", "budget_max"},
    {"budget", "budget_max"},
    {"status", "status"},
    {"סטטוס", "status"},
    {"source", "source"},
    {"מקור", "source"},
    {"notes", "notes"},
    {"הערות", "notes"},
    {"tags", "tags"},
    {"תגיות", "tags"},
  };
  return t;
}

const aliases& listing_deals() {
  static const aliases t{
    {"buy", "buy"},       {"sale", "buy"},   {"sell", "buy"},
    {"for sale", "buy"},  {"מכירה", "buy"},  {"למכירה", "buy"},
    {"קנייה", "buy"},     {"קניה", "buy"},   {"rent", "rent"},
    {"for rent", "rent"}, {"השכרה", "rent"}, {"להשכרה", "rent"},
    {"שכירות", "rent"},
  };
  return t;
}

const aliases& lead_deals() {
  static const aliases t{
    {"buy", "buy"},  {"rent", "rent"},   {"sell", "sell"},  {"קנייה", "buy"},
    {"קניה", "buy"}, {"שכירות", "rent"}, {"השכרה", "rent"}, {"מכירה", "sell"},
  };
  return t;
}

const aliases& listing_statuses() {
  static const aliases t{
    {"available", "available"}, {"reserved", "reserved"}, {"sold", "sold"},
    {"rented", "rented"},       {"זמין", "available"},    {"פנוי", "available"},
    {"שמור", "reserved"},       {"נמכר", "sold"},         {"נמכרה", "sold"},
    {"הושכר", "rented"},        {"הושכרה", "rented"},     {"מושכר", "rented"},
  };
  return t;
}

const aliases& feature_words() {
  static const aliases t = [] {
    aliases a;
    for (auto f : listing_features())
      a.add(f, f);
    for (auto [alias, f] :
         std::initializer_list<std::pair<std::string_view, std::string_view>>{
           {"חניה", "parking"},
           {"חנייה", "parking"},
           {"מעלית", "elevator"},
           {"ממ\"ד", "safe_room"},
           {"ממד", "safe_room"},
           {"מרחב מוגן", "safe_room"},
           {"מרפסת", "balcony"},
           {"מחסן", "storage"},
           {"נגיש", "accessible"},
           {"נגישות", "accessible"},
           {"מרוהט", "furnished"},
           {"מרוהטת", "furnished"},
           {"ריהוט", "furnished"},
           {"מיזוג", "air_conditioning"},
           {"מיזוג אוויר", "air_conditioning"},
           {"מזגן", "air_conditioning"},
           {"גינה", "garden"},
           {"משופץ", "renovated"},
           {"משופצת", "renovated"},
         })
      a.add(alias, f);
    return a;
  }();
  return t;
}

// -- header -------------------------------------------------------------------

csv_columns map_columns(const csv_record& header, const aliases& table,
                        std::string_view required,
                        std::string_view required_names, std::string& error,
                        std::vector<std::string>& ignored) {
  csv_columns cols;
  error.clear();
  ignored.clear();
  for (std::size_t i = 0; i < header.fields.size(); ++i) {
    auto text = trim_cell(header.fields[i]);
    auto field = table.find(text);
    if (!field) {
      ignored.push_back(text.empty() ? "(column " + std::to_string(i + 1) + ")"
                                     : std::string{text});
      cols.fields.emplace_back();
      continue;
    }
    if (auto prev = cols.column(*field)) {
      error = "columns \"" + std::string{trim_cell(header.fields[*prev])}
              + "\" and \"" + std::string{text} + "\" are both "
              + std::string{*field};
      return {};
    }
    cols.fields.emplace_back(*field);
  }
  if (!cols.column(required)) {
    error = "the header has no " + std::string{required} + " column ("
            + std::string{required_names} + ")";
    return {};
  }
  return cols;
}

// -- rows ---------------------------------------------------------------------

/// Cells past the header's width must be empty.
std::string check_width(const csv_columns& cols, const csv_record& rec) {
  for (std::size_t i = cols.fields.size(); i < rec.fields.size(); ++i)
    if (!trim_cell(rec.fields[i]).empty())
      return "the row has " + std::to_string(rec.fields.size())
             + " fields but the header has "
             + std::to_string(cols.fields.size())
             + " (a value with a comma must be in quotes)";
  return {};
}

boost::json::value json_text(std::string_view s) {
  return boost::json::value(boost::json::string_view{s.data(), s.size()});
}

/// `value` if it read as a number, else the text (for the API's message).
template <class T>
boost::json::value
number_or_text(const std::optional<T>& value, std::string_view cell) {
  return value ? boost::json::value(*value) : json_text(cell);
}

boost::json::value word(const aliases& table, std::string_view cell) {
  if (auto v = table.find(cell))
    return json_text(*v);
  return json_text(cell);
}

boost::json::array strings(const std::vector<std::string>& items) {
  boost::json::array a;
  for (auto& s : items)
    a.emplace_back(json_text(s));
  return a;
}

/// Each non-empty mapped cell of `rec`, through `convert(field, cell)`,
/// into a JSON object; then `validate` on it.
template <class Convert, class Validate>
std::string through_json(const csv_columns& cols, const csv_record& rec,
                         Convert&& convert, Validate&& validate) {
  if (auto err = check_width(cols, rec); !err.empty())
    return err;
  boost::json::object o;
  for (std::size_t i = 0; i < cols.fields.size() && i < rec.fields.size();
       ++i) {
    auto& field = cols.fields[i];
    auto cell = csv_strip_formula_guard(trim_cell(rec.fields[i]));
    if (field.empty() || cell.empty())
      continue;
    o[field] = convert(std::string_view{field}, cell);
  }
  auto json = boost::json::serialize(o);
  // One parser per thread, reused (a fresh one per row costs more than the
  // parse); no size cap: the cells are bounded by parse_csv.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(json).get(obj) != simdjson::SUCCESS)
    return "the row is not valid UTF-8 text";
  return validate(obj);
}

} // namespace

std::optional<std::size_t> csv_columns::column(std::string_view field) const {
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (fields[i] == field)
      return i;
  return std::nullopt;
}

csv_columns map_listing_columns(const csv_record& header, std::string& error,
                                std::vector<std::string>& ignored) {
  return map_columns(header, listing_columns(), "title", "title / כותרת", error,
                     ignored);
}

csv_columns map_lead_columns(const csv_record& header, std::string& error,
                             std::vector<std::string>& ignored) {
  return map_columns(header, lead_columns(), "phone", "phone / טלפון / נייד",
                     error, ignored);
}

std::string listing_from_csv(const csv_columns& cols, const csv_record& rec,
                             listing_input& out) {
  out = listing_input{};
  auto convert = [](std::string_view field,
                    std::string_view cell) -> boost::json::value {
    if (field == "deal")
      return word(listing_deals(), cell);
    if (field == "status")
      return word(listing_statuses(), cell);
    if (field == "price")
      return number_or_text(money(cell), cell);
    if (field == "size_sqm")
      return number_or_text(square_metres(cell), cell);
    if (field == "floor")
      return number_or_text(floor_number(cell), cell);
    if (field == "rooms")
      return number_or_text(rooms_number(cell), cell);
    if (field == "tracking_number")
      return json_text(excel_phone(cell));
    if (field == "photos")
      return strings(split_urls(cell));
    if (field == "features") {
      std::vector<std::string> keys;
      for (auto& item : split_list(cell)) {
        auto key = feature_words().find(item);
        std::string v = key ? std::string{*key} : item;
        if (!key || std::find(keys.begin(), keys.end(), v) == keys.end())
          keys.push_back(std::move(v));
      }
      return strings(keys);
    }
    return json_text(cell);
  };
  return through_json(cols, rec, convert, [&](simdjson::dom::object o) {
    return parse_listing(o, out, true);
  });
}

std::string lead_from_csv(const csv_columns& cols, const csv_record& rec,
                          lead_input& out) {
  out = lead_input{};
  auto phone = cols.column("phone");
  if (!phone || *phone >= rec.fields.size()
      || trim_cell(rec.fields[*phone]).empty()) {
    if (auto err = check_width(cols, rec); !err.empty())
      return err;
    return "phone is required";
  }
  auto convert = [](std::string_view field,
                    std::string_view cell) -> boost::json::value {
    if (field == "phone")
      return json_text(excel_phone(cell));
    if (field == "deal")
      return word(lead_deals(), cell);
    if (field == "status") {
      for (auto& s : default_pipeline())
        if (norm(s.label) == norm(cell))
          return json_text(s.key);
      return json_text(ascii_lower(cell));
    }
    if (field == "source")
      return json_text(ascii_lower(cell));
    if (field == "rooms")
      return number_or_text(rooms_number(cell), cell);
    if (field == "budget_min" || field == "budget_max")
      return number_or_text(money(cell), cell);
    if (field == "tags")
      return strings(split_list(cell));
    return json_text(cell);
  };
  return through_json(cols, rec, convert, [&](simdjson::dom::object o) {
    return parse_lead(o, out, true);
  });
}

std::vector<std::string> listing_csv_header() {
  return {"title",        "deal",   "property_type", "city",
          "neighborhood", "street", "rooms",         "floor",
          "size_sqm",     "price",  "status",        "description",
          "features",     "photos", "external_ref",  "tracking_number"};
}

std::vector<std::string> lead_csv_header() {
  return {"name",       "phone",  "deal",   "city",  "rooms", "budget_min",
          "budget_max", "status", "source", "notes", "tags"};
}

std::string csv_join_list(const std::vector<std::string>& items) {
  std::string out;
  for (auto& s : items) {
    if (!out.empty())
      out += "; ";
    out += s;
  }
  return out;
}

} // namespace al
