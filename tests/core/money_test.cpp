#include "core/money.hpp"

#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

namespace al {
namespace {

std::int64_t amt(std::string_view s) {
  auto r = parse_amount_minor(s);
  return r ? *r : -1;
}

TEST(Money, ParsesDecimals) {
  EXPECT_EQ(amt("100"), 10000);
  EXPECT_EQ(amt("99.9"), 9990);
  EXPECT_EQ(amt("99.90"), 9990);
  EXPECT_EQ(amt("99.09"), 9909);
  EXPECT_EQ(amt("0.01"), 1);
  EXPECT_EQ(amt("0.1"), 10);
  EXPECT_EQ(amt("1"), 100);
  EXPECT_EQ(amt("1234567.89"), -1); // above the maximum
  EXPECT_EQ(amt("1000000.00"), 100000000);
  EXPECT_EQ(amt("1000000"), 100000000);
  EXPECT_EQ(amt("999999.99"), 99999999);
}

TEST(Money, RawJsonTokenWhitespace) {
  EXPECT_EQ(amt("99.90 "), 9990);
  EXPECT_EQ(amt("12\r\n\t"), 1200);
  EXPECT_EQ(amt(" 5"), 500);
}

TEST(Money, Rejects) {
  for (auto bad : {"",
                   " ",
                   "0",
                   "0.0",
                   "0.00",
                   "00.5",
                   "-1",
                   "-0.01",
                   "+1",
                   "1e2",
                   "1E2",
                   "1.5e1",
                   "1.",
                   ".5",
                   ".",
                   "1.234",
                   "1.000",
                   "99,90",
                   "1,000",
                   "1 000",
                   "NaN",
                   "Infinity",
                   "inf",
                   "0x10",
                   "abc",
                   "1.2.3",
                   "\"5\"",
                   "5abc",
                   "1000000.01",
                   "1000001",
                   "99999999999999999999",
                   "9223372036854775807",
                   "007",
                   "1..2",
                   "1.-2",
                   "1.+2",
                   "\xD9\xA5",
                   "١٠٠"})
    EXPECT_EQ(parse_amount_minor(bad), std::nullopt) << bad;
  EXPECT_EQ(parse_amount_minor(std::string_view{"5\0", 2}), std::nullopt);
}

TEST(Money, Format) {
  EXPECT_EQ(format_amount(9990), "99.90");
  EXPECT_EQ(format_amount(1), "0.01");
  EXPECT_EQ(format_amount(10), "0.10");
  EXPECT_EQ(format_amount(0), "0.00");
  EXPECT_EQ(format_amount(100000000), "1000000.00");
  EXPECT_EQ(format_amount(-5), "-0.05");
  EXPECT_EQ(format_amount(-12345), "-123.45");
  EXPECT_EQ(format_amount(std::numeric_limits<std::int64_t>::min()),
            "-92233720368547758.08");
  EXPECT_EQ(format_amount(std::numeric_limits<std::int64_t>::max()),
            "92233720368547758.07");
}

TEST(Money, RoundTrip) {
  for (auto s : {"0.01", "0.10", "1.00", "99.90", "123456.78", "1000000.00"})
    EXPECT_EQ(format_amount(*parse_amount_minor(s)), s);
}

TEST(Money, Currencies) {
  for (auto c : {"ILS", "USD", "EUR", "GBP"})
    EXPECT_TRUE(known_currency(c)) << c;
  for (auto c : {"", "ils", "NIS", "JPY", "ILS ", "IL", "ILSS", "XXX"})
    EXPECT_FALSE(known_currency(c)) << c;
  EXPECT_EQ(normalize_currency("ils"), "ILS");
  EXPECT_EQ(normalize_currency("Usd"), "USD");
  EXPECT_EQ(normalize_currency("EUR"), "EUR");
  EXPECT_EQ(normalize_currency("nis"), std::nullopt);
  EXPECT_EQ(normalize_currency("ils "), std::nullopt);
  EXPECT_EQ(normalize_currency(""), std::nullopt);
}

} // namespace
} // namespace al
