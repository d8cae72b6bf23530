#include "core/listing_input.hpp"

#include "core/phone.hpp"

#include <algorithm>
#include <cmath>

#include <boost/url/parse.hpp>
#include <boost/url/scheme.hpp>

namespace al {

namespace {

constexpr std::size_t max_photo_url = 1000;

std::string feature_list() {
  std::string out;
  for (auto f : listing_features()) {
    if (!out.empty())
      out += ", ";
    out += f;
  }
  return out;
}

bool blank(std::string_view s) noexcept {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

bool http_url(std::string_view s) {
  if (s.empty() || s.size() > max_photo_url)
    return false;
  auto parsed = boost::urls::parse_uri(s);
  if (!parsed)
    return false;
  auto id = parsed->scheme_id();
  return (id == boost::urls::scheme::http || id == boost::urls::scheme::https)
         && parsed->has_authority() && !parsed->encoded_host().empty();
}

/// A required-if-given enum-like string: null is refused.
bool read_kept_string(simdjson::dom::object o, std::string_view key,
                      std::optional<std::string>& out, std::string& err,
                      std::size_t max) {
  patch_field<std::string> f;
  if (!read_patch_string(o, key, f, err, max))
    return false;
  if (f && !*f) {
    err = std::string{key} + " cannot be cleared";
    return false;
  }
  if (f)
    out = std::move(**f);
  return true;
}

/// A nullable string where "" means null too.
bool read_nullable_ref(simdjson::dom::object o, std::string_view key,
                       patch_field<std::string>& out, std::string& err,
                       std::size_t max) {
  if (!read_patch_string(o, key, out, err, max))
    return false;
  if (out && *out && (*out)->empty())
    out.emplace(std::nullopt);
  return true;
}

/// A list given as null is an empty list.
void null_list(simdjson::dom::object o, std::string_view key,
               std::optional<std::vector<std::string>>& out) {
  if (get_array(o, key).state == field_state::null)
    out = std::vector<std::string>{};
}

std::string query_text(const form_params& q, std::string_view key,
                       std::optional<std::string>& out, std::size_t max) {
  auto v = q.get(key);
  if (!v || v->empty())
    return {};
  if (v->size() > max || !storable_text(*v) || !valid_utf8(*v))
    return std::string{key} + " must be text of at most " + std::to_string(max)
           + " bytes";
  out = std::string{*v};
  return {};
}

std::string query_rooms(const form_params& q, std::string_view key,
                        std::optional<double>& out) {
  auto v = q.get(key);
  if (!v || v->empty())
    return {};
  out = parse_decimal_number(*v);
  if (!out || *out > listing_max_rooms)
    return std::string{key} + " must be a number from 0 to 30, e.g. 3.5";
  return {};
}

} // namespace

const std::vector<std::string_view>& listing_features() {
  static const std::vector<std::string_view> keys{
    "parking",    "elevator",  "safe_room",        "balcony", "storage",
    "accessible", "furnished", "air_conditioning", "garden",  "renovated",
  };
  return keys;
}

bool valid_listing_deal(std::string_view s) noexcept {
  return s == "buy" || s == "rent";
}

bool valid_listing_status(std::string_view s) noexcept {
  return s == "available" || s == "reserved" || s == "sold" || s == "rented";
}

std::optional<double> parse_decimal_number(std::string_view s) {
  auto sep = s.find_first_of(".,");
  auto whole = s.substr(0, sep);
  auto frac = sep == std::string_view::npos ? std::string_view{}
                                            : s.substr(sep + 1);
  if (whole.empty() || whole.size() > 6 || frac.size() > 6
      || (sep != std::string_view::npos && frac.empty()))
    return std::nullopt;
  auto w = parse_decimal(whole, 0, 999999);
  auto f = frac.empty() ? std::optional<std::int64_t>{0}
                        : parse_decimal(frac, 0, 999999);
  if (!w || !f)
    return std::nullopt;
  return static_cast<double>(*w)
         + static_cast<double>(*f) / std::pow(10.0, frac.size());
}

std::string parse_listing(simdjson::dom::object o, listing_input& in,
                          bool create) {
  std::string err;
  if (!read_kept_string(o, "title", in.title, err, 200)
      || !read_kept_string(o, "deal", in.deal, err, 64)
      || !read_patch_string(o, "property_type", in.property_type, err, 40)
      || !read_patch_string(o, "city", in.city, err, 100)
      || !read_patch_string(o, "neighborhood", in.neighborhood, err, 100)
      || !read_patch_string(o, "street", in.street, err, 100)
      || !read_patch_int(o, "floor", in.floor, err, -5, 200)
      || !read_patch_int(o, "size_sqm", in.size_sqm, err, 1, 100000)
      || !read_patch_int(o, "price", in.price, err, 0, listing_max_price)
      || !read_kept_string(o, "status", in.status, err, 64)
      || !read_patch_string(o, "description", in.description, err, 5000)
      || !read_opt_strings(o, "features", in.features, err, 50, 64)
      || !read_opt_strings(o, "photos", in.photos, err, listing_max_photos,
                           max_photo_url)
      || !read_nullable_ref(o, "external_ref", in.external_ref, err, 100)
      || !read_nullable_ref(o, "tracking_number", in.tracking_number, err, 64))
    return err;
  null_list(o, "features", in.features);
  null_list(o, "photos", in.photos);
  if (in.title && blank(*in.title))
    return "title must not be empty";
  if (in.deal && !valid_listing_deal(*in.deal))
    return "deal must be buy or rent";
  if (in.status && !valid_listing_status(*in.status))
    return "status must be available, reserved, sold or rented";
  if (in.features) {
    auto& fs = *in.features;
    auto& known = listing_features();
    for (std::size_t i = 0; i < fs.size(); ++i) {
      if (std::find(known.begin(), known.end(), fs[i]) == known.end())
        return "features: unknown feature \"" + fs[i]
               + "\" (known: " + feature_list() + ")";
      if (std::find(fs.begin(), fs.begin() + i, fs[i]) != fs.begin() + i)
        return "features: \"" + fs[i] + "\" is listed twice";
    }
  }
  if (in.photos) {
    auto& ps = *in.photos;
    for (std::size_t i = 0; i < ps.size(); ++i)
      if (!http_url(ps[i]))
        return "photos[" + std::to_string(i) + "] must be an http(s) URL";
  }
  if (in.tracking_number && *in.tracking_number) {
    auto n = normalize_phone(**in.tracking_number);
    if (!n)
      return "tracking_number is not a valid phone number";
    in.tracking_number.emplace(std::move(*n));
  }
  simdjson::dom::element rooms;
  if (o.at_key("rooms").get(rooms) == simdjson::SUCCESS) {
    double v = 0;
    if (rooms.is_null()) {
      in.rooms.emplace(std::nullopt);
    } else if (rooms.get(v) != simdjson::SUCCESS || !std::isfinite(v) || v < 0.5
               || v > listing_max_rooms || std::floor(v * 2) != v * 2) {
      return "rooms must be a number from 0.5 to 30 in steps of 0.5";
    } else {
      in.rooms.emplace(v);
    }
  }
  if (create && !in.title)
    return "title is required";
  return {};
}

std::string parse_listing_filter(const form_params& q, listing_filter& out) {
  if (auto err = parse_paging(q, out.paging); !err.empty())
    return err;
  std::string err;
  if (!(err = query_text(q, "deal", out.deal, 64)).empty()
      || !(err = query_text(q, "city", out.city, 100)).empty()
      || !(err = query_text(q, "status", out.status, 64)).empty()
      || !(err = query_text(q, "q", out.q, 200)).empty()
      || !(err = query_rooms(q, "rooms_min", out.rooms_min)).empty()
      || !(err = query_rooms(q, "rooms_max", out.rooms_max)).empty())
    return err;
  if (out.deal && !valid_listing_deal(*out.deal))
    return "deal must be buy or rent";
  if (out.status && !valid_listing_status(*out.status))
    return "status must be available, reserved, sold or rented";
  if (auto v = q.get("price_max"); v && !v->empty()) {
    out.price_max = parse_decimal(*v, 0, listing_max_price);
    if (!out.price_max)
      return "price_max must be an integer between 0 and "
             + std::to_string(listing_max_price);
  }
  if (out.rooms_min && out.rooms_max && *out.rooms_min > *out.rooms_max)
    return "rooms_min must not exceed rooms_max";
  return {};
}

} // namespace al
