// CSV import (core/csv.hpp, core/csv_import.hpp, core/listing_input.hpp):
// the input is a CSV file. parse_csv never crashes; records start on
// strictly increasing lines and hold valid UTF-8 within the limits; writing
// the records and reading them back gives the same fields (with the formula
// guard's "'" where it belongs, which csv_strip_formula_guard undoes). The
// first record is mapped as a listings header and as a leads header, and
// every later record goes through listing_from_csv / lead_from_csv: an
// accepted row must satisfy the API's rules, every message must be valid
// UTF-8.

#include "bench/fuzz/fuzz_util.hpp"
#include "core/csv.hpp"
#include "core/csv_import.hpp"
#include "core/json.hpp"
#include "core/listing_input.hpp"

#include <algorithm>
#include <cmath>

namespace {

using namespace al;
using al::fuzz::check;

// Small limits, so that the fuzzer reaches them.
constexpr std::size_t max_records = 64;
constexpr std::size_t max_field = 2048;

bool e164(std::string_view s) {
  if (s.size() < 9 || s.size() > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9')
    return false;
  for (auto c : s.substr(1))
    if (c < '0' || c > '9')
      return false;
  return true;
}

void message(const std::string& m) {
  check(!m.empty() && valid_utf8(m), "a message is non-empty UTF-8");
}

void accepted_listing(const listing_input& in) {
  check(in.title && !in.title->empty() && in.title->size() <= 200
          && storable_text(*in.title),
        "listing title 1..200 bytes");
  if (in.deal)
    check(valid_listing_deal(*in.deal), "listing deal buy|rent");
  if (in.status)
    check(valid_listing_status(*in.status), "listing status");
  if (in.rooms && *in.rooms) {
    double r = **in.rooms;
    check(r >= 0.5 && r <= 30 && std::floor(r * 2) == r * 2,
          "rooms 0.5..30 in halves");
  }
  if (in.floor && *in.floor)
    check(**in.floor >= -5 && **in.floor <= 200, "floor -5..200");
  if (in.size_sqm && *in.size_sqm)
    check(**in.size_sqm >= 1 && **in.size_sqm <= 100000, "size 1..100000");
  if (in.price && *in.price)
    check(**in.price >= 0 && **in.price <= listing_max_price, "price range");
  for (auto* f : {&in.property_type, &in.city, &in.neighborhood, &in.street,
                  &in.description, &in.external_ref})
    if (*f && **f)
      check(storable_text(***f) && valid_utf8(***f), "listing text");
  if (in.external_ref && *in.external_ref)
    check(!(*in.external_ref)->empty(), "external_ref not empty");
  if (in.features) {
    auto& known = listing_features();
    auto& fs = *in.features;
    for (std::size_t i = 0; i < fs.size(); ++i) {
      check(std::find(known.begin(), known.end(), fs[i]) != known.end(),
            "known feature");
      check(std::find(fs.begin(), fs.begin() + i, fs[i]) == fs.begin() + i,
            "distinct features");
    }
  }
  if (in.photos) {
    check(in.photos->size() <= listing_max_photos, "at most 20 photos");
    for (auto& p : *in.photos) {
      auto scheme = p.substr(0, 8);
      std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      check(scheme.rfind("http://", 0) == 0 || scheme.rfind("https://", 0) == 0,
            "photo is an http(s) URL");
      check(p.size() <= 1000, "photo URL <= 1000 bytes");
    }
  }
  if (in.tracking_number && *in.tracking_number)
    check(e164(**in.tracking_number), "tracking_number is E.164");
}

void accepted_lead(const lead_input& in) {
  check(in.phone && *in.phone && e164(**in.phone), "lead phone is E.164");
  if (in.deal && *in.deal)
    check(**in.deal == "buy" || **in.deal == "rent" || **in.deal == "sell",
          "lead deal");
  if (in.status)
    check(valid_key(*in.status), "lead status is a key");
  if (in.tags)
    for (auto& t : *in.tags)
      check(!t.empty() && t.size() <= 64, "lead tags");
  if (in.budget_min && *in.budget_min && in.budget_max && *in.budget_max)
    check(**in.budget_min <= **in.budget_max, "budget_min <= budget_max");
}

void round_trip(const std::vector<csv_record>& recs, bool bom) {
  std::string out = bom ? csv_bom() : std::string{};
  for (auto& r : recs)
    csv_append_row(out, r.fields);
  std::vector<csv_record> back;
  // One more byte per field for the guard's "'".
  auto err = parse_csv(out, back, max_records, max_field + 1);
  if (err)
    std::fprintf(stderr, "re-read: line %zu: %s\n", err->line,
                 err->message.c_str());
  check(!err, "the writer's output parses");
  check(back.size() == recs.size(), "the same number of records");
  for (std::size_t i = 0; i < recs.size(); ++i) {
    auto& a = recs[i].fields;
    auto& b = back[i].fields;
    check(a.size() == b.size(), "the same number of fields");
    for (std::size_t k = 0; k < a.size(); ++k) {
      bool guarded = csv_needs_formula_guard(a[k]);
      check(b[k] == (guarded ? "'" + a[k] : a[k]), "the same field back");
      check(csv_strip_formula_guard(b[k]) == a[k] || !guarded,
            "the guard comes off");
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size > 64 * 1024)
    return 0;
  auto text = fuzz::as_view(data, size);
  std::vector<csv_record> recs;
  auto err = parse_csv(text, recs, max_records, max_field);
  if (err) {
    message(err->message);
    check(err->line >= 1, "an error has a line");
    // Not past the last line.
    std::size_t lines = 1;
    for (std::size_t i = 0; i < size; ++i)
      if (text[i] == '\n'
          || (text[i] == '\r' && (i + 1 == size || text[i + 1] != '\n')))
        ++lines;
    check(err->line <= lines, "the error's line exists");
  }
  check(recs.size() <= max_records, "at most max_records");
  std::size_t last = 0;
  for (auto& r : recs) {
    check(r.line > last, "lines strictly increase");
    last = r.line;
    check(!r.fields.empty(), "a record has a field");
    for (auto& f : r.fields)
      check(f.size() <= max_field && valid_utf8(f) && storable_text(f),
            "fields are bounded UTF-8 without NUL");
  }
  if (err)
    return 0;
  round_trip(recs, size % 2 == 1);
  if (recs.empty())
    return 0;

  std::string error;
  std::vector<std::string> ignored;
  auto cols = map_listing_columns(recs[0], error, ignored);
  if (error.empty()) {
    check(cols.column("title").has_value(), "title column mapped");
    check(cols.fields.size() == recs[0].fields.size(), "one entry per column");
    for (std::size_t i = 1; i < recs.size(); ++i) {
      listing_input in;
      auto m = listing_from_csv(cols, recs[i], in);
      if (m.empty())
        accepted_listing(in);
      else
        message(m);
    }
  } else {
    message(error);
  }
  for (auto& s : ignored)
    check(valid_utf8(s), "ignored columns are UTF-8");
  auto lead_cols = map_lead_columns(recs[0], error, ignored);
  if (error.empty()) {
    check(lead_cols.column("phone").has_value(), "phone column mapped");
    for (std::size_t i = 1; i < recs.size(); ++i) {
      lead_input in;
      auto m = lead_from_csv(lead_cols, recs[i], in);
      if (m.empty())
        accepted_lead(in);
      else
        message(m);
    }
  } else {
    message(error);
  }
  return 0;
}
