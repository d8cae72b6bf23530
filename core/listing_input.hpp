#pragma once

// Listings (SPEC §7): a property the office offers. The JSON body of
// POST/PATCH /api/crm/listings and the ?query of GET /api/crm/listings,
// parsed and validated into plain structs. Pure: each function returns a
// message for a 400 that names the field, or empty on success. The CSV
// import (core/csv_import.hpp) feeds its rows through parse_listing too.
//
// Fields and rules (lengths in bytes, as everywhere in the API):
//   title           string 1..200, not blank; required on create; not
//                   nullable
//   deal            "buy" | "rent"; not nullable
//   property_type   string <= 40, free text (apartment, garden apartment,
//                   penthouse, house, office, land, ...); nullable
//   city, neighborhood, street   strings <= 100; nullable
//   rooms           number 0.5..30 in steps of 0.5 (3.5); nullable
//   floor           integer -5..200; nullable
//   size_sqm        integer 1..100000 (square metres); nullable
//   price           integer 0..2,000,000,000 whole shekels (rent: per month);
//                   nullable
//   status          available | reserved | sold | rented; not nullable
//   description     string <= 5000; nullable
//   features        array of distinct keys of listing_features(); null =
//                   none
//   photos          array of <= 20 http(s) URLs of <= 1000 bytes; null =
//                   none
//   external_ref    string <= 100 (the portal's ad id, unique per business);
//                   nullable, "" = null
//   tracking_number a phone number, stored as E.164 (normalize_phone);
//                   nullable, "" = null
// A deal or status left unset on create is the store's default:
// listing_default_deal and listing_default_status.

#include "core/crm_input.hpp"
#include "core/form.hpp"
#include "core/input.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace al {

constexpr std::string_view listing_default_deal = "buy";
constexpr std::string_view listing_default_status = "available";
constexpr std::int64_t listing_max_price = 2000000000;
constexpr double listing_max_rooms = 30;
constexpr std::size_t listing_max_photos = 20;

/// The feature keys, in display order: parking, elevator, safe_room,
/// balcony, storage, accessible, furnished, air_conditioning, garden,
/// renovated.
const std::vector<std::string_view>& listing_features();

bool valid_listing_deal(std::string_view s) noexcept;
bool valid_listing_status(std::string_view s) noexcept;

/// A non-negative decimal number as people write rooms: "3", "3.5" or "3,5"
/// (at most 6 digits on each side; no sign, exponent or spaces), or nullopt.
std::optional<double> parse_decimal_number(std::string_view s);

/// A listing create/patch body. For PATCH, unset = keep; a patch_field given
/// as null = clear; features/photos given as null = an empty list.
struct listing_input {
  std::optional<std::string> title, deal, status;
  patch_field<std::string> property_type, city, neighborhood, street;
  patch_field<double> rooms;
  patch_field<std::int64_t> floor, size_sqm, price;
  patch_field<std::string> description;
  std::optional<std::vector<std::string>> features, photos;
  patch_field<std::string> external_ref;
  patch_field<std::string> tracking_number; // E.164
};

/// `create` requires a title.
std::string parse_listing(simdjson::dom::object o, listing_input& in,
                          bool create);

/// GET /api/crm/listings ?deal=&city=&rooms_min=&rooms_max=&price_max=
/// &status=&q=&page=&per_page=. Empty values are not given. rooms_* are
/// numbers 0..30 ("3.5", both ends inclusive), price_max an integer
/// 0..2,000,000,000, q free text of at most 200 bytes (for the store to
/// search with ilike_contains), city at most 100 bytes; deal and status as
/// in the body.
struct listing_filter {
  page_params paging;
  std::optional<std::string> deal, city, status, q;
  std::optional<double> rooms_min, rooms_max;
  std::optional<std::int64_t> price_max;
};

std::string parse_listing_filter(const form_params& q, listing_filter& out);

} // namespace al
