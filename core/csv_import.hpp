#pragma once

// CSV import and export of listings and leads (SPEC §7: POST
// /api/crm/listings/import, /api/crm/leads/import, GET listings.csv,
// leads.csv). Pure: a header record is mapped to canonical fields once, then
// every data record is turned into a listing_input / lead_input through the
// same validation as the JSON API (the row becomes a JSON object for
// parse_listing / parse_lead), so a rule lives in one place.
//
// Header: each cell is matched case-insensitively, trimmed, with '_' and
// '-' read as spaces and Hebrew gershayim/geresh (״ ׳) read as '"' and "'",
// against English or Hebrew names:
//   listings  title כותרת | deal עסקה, סוג עסקה | property_type סוג נכס |
//             city עיר | neighborhood שכונה | street רחוב, כתובת, address |
//             rooms חדרים, מספר חדרים | floor קומה | size_sqm מ"ר, גודל,
//             שטח, size, sqm | price מחיר | status סטטוס, מצב | description
//             תיאור | features מאפיינים | photos תמונות | external_ref
//             מזהה, מספר מודעה, מס' מודעה | tracking_number מספר מעקב
//   leads     name שם, שם מלא, full name | phone טלפון, נייד, טלפון נייד,
//             mobile | deal עסקה, סוג עסקה | city עיר | rooms חדרים, מספר
//             חדרים | budget_min תקציב מינימלי | budget_max תקציב, תקציב
//             מקסימלי, budget | status סטטוס | source מקור | notes הערות |
//             tags תגיות
// Unknown columns are ignored (and reported); two columns for one field, or
// no column for the required one (listings: title; leads: phone), is an
// error for the whole file.
//
// Cells: surrounding spaces (and NBSP, Hebrew direction marks) are trimmed;
// an empty cell is "not given" (an update keeps the stored value); the "'"
// that the export's formula guard adds is dropped (csv_strip_formula_guard),
// so an export imports back as it was. Beyond
// the JSON rules, a cell may say:
//   deal (listing)  buy, sale, sell, for sale, מכירה, למכירה, קנייה, קניה →
//                   buy; rent, for rent, השכרה, להשכרה, שכירות → rent
//   deal (lead)     buy, rent, sell; קנייה, קניה → buy; שכירות, השכרה → rent;
//                   מכירה → sell
//   status          any case; listings also זמין, פנוי → available, שמור →
//                   reserved, נמכר(ה) → sold, הושכר(ה), מושכר → rented; leads
//                   also the Hebrew labels of the default pipeline (חדש →
//                   new, ...)
//   price, budget_* "2,450,000", "₪2,450,000", "2450000 ש"ח", "NIS 2450000",
//                   "2450000.00": thousands commas in groups of three,
//                   ₪/ש"ח/שח/NIS/ILS before or after
//   size_sqm        the same, with מ"ר/מר/sqm/m2/m² units
//   floor           "-1", "3", "קומה 3"; קרקע (ground) → 0
//   rooms           "3.5" or "3,5", optionally followed by חדרים/rooms
//   features        separated by ';', '|', ',' or line ends; English keys in
//                   any case ("Safe room" → safe_room) or Hebrew: חניה,
//                   חנייה → parking; מעלית → elevator; ממ"ד, ממד, מרחב מוגן →
//                   safe_room; מרפסת → balcony; מחסן → storage; נגיש,
//                   נגישות → accessible; מרוהט, מרוהטת, ריהוט → furnished;
//                   מיזוג, מיזוג אוויר, מזגן → air_conditioning; גינה →
//                   garden; משופץ, משופצת → renovated. Repeats are dropped.
//   photos          URLs separated by ';', '|', ',' or white space, split
//                   only where the next one starts with http:// or https://
//                   (a ',' inside a URL stays)
//   tags            separated by ';', '|', ',' or line ends
//   phone, tracking_number  also 9 digits starting 5 or 7, or 8 digits
//                   starting 2, 3, 4, 8 or 9: Excel's number format drops
//                   the leading 0 of Israeli numbers, which is put back
// A value that does not read as the field's type is handed on as text, so
// the message is the API's ("price must be an integer between ...").
//
// A record with more non-empty cells than the header has columns is an error
// (usually a number like 2,450,000 written without quotes).

#include "core/crm_input.hpp"
#include "core/csv.hpp"
#include "core/listing_input.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace al {

/// A mapped header.
struct csv_columns {
  /// Per header column: the canonical field it feeds, or "" (ignored).
  std::vector<std::string> fields;

  /// The column of canonical `field`, or nullopt.
  std::optional<std::size_t> column(std::string_view field) const;
};

/// Maps a listings header. On a file-level error sets `error` (and the
/// result is not to be used); `ignored` gets the header text of every
/// unknown column ("(column N)" for an empty one).
csv_columns map_listing_columns(const csv_record& header, std::string& error,
                                std::vector<std::string>& ignored);

csv_columns map_lead_columns(const csv_record& header, std::string& error,
                             std::vector<std::string>& ignored);

/// One data record as a full listing (parse_listing with create = true:
/// title required). Returns "" or the message for that row.
std::string listing_from_csv(const csv_columns& cols, const csv_record& rec,
                             listing_input& out);

/// One data record as a lead (parse_lead with create = true); the phone is
/// required (the import upserts by it).
std::string lead_from_csv(const csv_columns& cols, const csv_record& rec,
                          lead_input& out);

/// Export headers: the canonical names, which the import maps back.
std::vector<std::string> listing_csv_header();
std::vector<std::string> lead_csv_header();

/// A list cell for export ("parking; elevator"), which the import splits.
std::string csv_join_list(const std::vector<std::string>& items);

} // namespace al
