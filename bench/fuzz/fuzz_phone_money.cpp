// Phone numbers (core/phone.hpp), money (core/money.hpp) and the small
// text readers of core/input.hpp, base64 (core/crypto.hpp) and
// payment_wire.hpp, each fed every line of the input. Properties: outputs
// are canonical (E.164, an amount that formats and parses back, ISO text
// given back verbatim) and normalisation is idempotent.

#include "bench/fuzz/fuzz_util.hpp"
#include "core/crypto.hpp"
#include "core/input.hpp"
#include "core/money.hpp"
#include "core/payment_wire.hpp"
#include "core/phone.hpp"

namespace {

using namespace al;
using al::fuzz::check;

bool e164(std::string_view s) {
  if (s.size() < 9 || s.size() > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9')
    return false;
  for (auto c : s.substr(1))
    if (c < '0' || c > '9')
      return false;
  return true;
}

void phone(std::string_view line) {
  auto p = normalize_phone(line);
  if (!p)
    return;
  check(e164(*p), "normalize_phone gives E.164");
  check(normalize_phone(*p) == p, "normalize_phone idempotent");
  auto wa = whatsapp_address(*p);
  check(wa == "whatsapp:" + *p, "whatsapp_address");
  check(normalize_phone(wa) == p, "whatsapp: prefix accepted");
  check(whatsapp_address(wa) == wa, "whatsapp: prefix not doubled");
}

void money(std::string_view line) {
  if (auto m = parse_amount_minor(line)) {
    check(*m > 0 && *m <= max_amount_minor, "amount in range");
    auto text = format_amount(*m);
    check(parse_amount_minor(text) == m, "format_amount parses back");
  }
  if (auto c = normalize_currency(line)) {
    check(known_currency(*c), "normalised currency is known");
    check(normalize_currency(*c) == c, "normalize_currency idempotent");
  }
  if (auto code = tranzila_currency_code(line))
    check(*code == 1 || *code == 2, "tranzila currency code");
  if (auto id = payment_id_from_custom_id(line))
    check(*id > 0 && std::to_string(*id) == line, "custom_id is the id");
}

void text(std::string_view line) {
  if (auto n = parse_decimal(line, -1000, 1000000))
    check(*n >= -1000 && *n <= 1000000, "parse_decimal bounds");
  if (auto t = parse_timestamp(line)) {
    check(*t == line, "parse_timestamp gives the text back");
    check(storable_text(*t), "timestamp storable");
  }
  if (auto d = parse_date(line))
    check(*d == line && d->size() == 10, "parse_date gives YYYY-MM-DD");
  (void)valid_key(line);
  for (std::size_t max : {0, 1, 2, 3, 5, 60, 127}) {
    auto cut = utf8_prefix(line, max);
    check(cut.size() <= max, "utf8_prefix length");
    check(line.substr(0, cut.size()) == cut, "utf8_prefix is a prefix");
    if (valid_utf8(line))
      check(valid_utf8(cut), "utf8_prefix keeps UTF-8 valid");
  }
}

void base64(std::string_view line) {
  auto enc = crypto::base64_encode(line);
  auto dec = crypto::base64_decode(enc);
  check(dec && *dec == line, "base64 round trip");
  if (auto raw = crypto::base64_decode(line)) {
    std::string into;
    check(crypto::base64_decode_into(line, into) && into == *raw,
          "base64_decode_into agrees");
    check(line.size() % 4 == 0, "decoded text has whole quads");
  } else {
    std::string into;
    check(!crypto::base64_decode_into(line, into),
          "base64_decode_into refuses too");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size > 16 * 1024)
    return 0;
  for (auto line : fuzz::split(fuzz::as_view(data, size), '\n')) {
    phone(line);
    money(line);
    text(line);
    base64(line);
  }
  return 0;
}
