#include "core/phone.hpp"

#include <string>

#include <gtest/gtest.h>

namespace al {
namespace {

std::string norm(std::string_view s) {
  auto r = normalize_phone(s);
  return r ? *r : std::string{"<none>"};
}

TEST(Phone, IsraeliMobileForms) {
  for (auto in :
       {"+972501234567", "972501234567", "0501234567", "050-123-4567",
        "050 123 4567", "(050) 123-4567", "+972-50-123-4567",
        "+972 (0)50 123 4567", "00972501234567", "whatsapp:+972501234567",
        "WhatsApp:0501234567", "  050.123.4567\n", "+9720501234567"})
    EXPECT_EQ(norm(in), "+972501234567") << in;
  EXPECT_EQ(norm("0541112233"), "+972541112233");
  EXPECT_EQ(norm("0591112233"), "+972591112233");
}

TEST(Phone, IsraeliLandlinesAndVoip) {
  EXPECT_EQ(norm("02-123-4567"), "+97221234567");
  EXPECT_EQ(norm("03 1234567"), "+97231234567");
  EXPECT_EQ(norm("04-1234567"), "+97241234567");
  EXPECT_EQ(norm("08-1234567"), "+97281234567");
  EXPECT_EQ(norm("09-1234567"), "+97291234567");
  EXPECT_EQ(norm("072-123-4567"), "+972721234567");
  EXPECT_EQ(norm("077-1234567"), "+972771234567");
  EXPECT_EQ(norm("+97231234567"), "+97231234567");
}

TEST(Phone, IsraeliWrongLengthsAndPrefixes) {
  for (auto in :
       {"050123456", "05012345678", "031234567890", "0312345", "06-1234567",
        "01-1234567", "0001234567", "1-800-123-456", "+97250123456",
        "+9725012345678", "+972", "972", "0", "+972 61234567", "07212345678"})
    EXPECT_EQ(norm(in), "<none>") << in;
}

TEST(Phone, OtherCountriesNeedPlus) {
  EXPECT_EQ(norm("+1 (415) 867-5309"), "+14158675309");
  EXPECT_EQ(norm("+44 20 7946 0958"), "+442079460958");
  EXPECT_EQ(norm("0044 20 7946 0958"), "+442079460958");
  EXPECT_EQ(norm("+12345678"), "+12345678");               // 8 digits
  EXPECT_EQ(norm("+123456789012345"), "+123456789012345"); // 15
  EXPECT_EQ(norm("+1234567"), "<none>");                   // 7
  EXPECT_EQ(norm("+1234567890123456"), "<none>");          // 16
  EXPECT_EQ(norm("14158675309"), "<none>");                // no '+'
  EXPECT_EQ(norm("+0123456789"), "<none>");                // country code 0
}

TEST(Phone, HostileInput) {
  std::string nul{"0501234567"};
  nul[3] = '\0';
  std::string embedded_nul{"050123456\0"
                           "7",
                           11};
  for (auto in : std::initializer_list<std::string>{
         "",
         " ",
         "+",
         "whatsapp:",
         "abc",
         "050-ABC-4567",
         "050123456x",
         "++972501234567",
         "+972+501234567",
         "050#1234567",
         "050*1234567",
         "050\t1234567;DROP TABLE leads",
         "whatsapp:whatsapp:+972501234567",
         "\xD9\xA0\xD9\xA5\xD9\xA0\xD9\xA1\xD9\xA2\xD9\xA3\xD9\xA4\xD9\xA5"
         "\xD9\xA6\xD9\xA7",                     // Arabic-Indic digits
         "\xEF\xBC\x90\xEF\xBC\x95\xEF\xBC\x90", // full-width digits
         "sip:+972501234567",
         "tel:+972501234567",
         "+972 50 123 4567 ext 1",
         nul,
         embedded_nul,
         std::string(100, '5'),
         "0" + std::string(70, ' ') + "501234567",
         "-",
         "()",
         "whatsapp:+"})
    EXPECT_EQ(norm(in), "<none>") << in;
}

TEST(Phone, WhatsappAddress) {
  EXPECT_EQ(whatsapp_address("+972501234567"), "whatsapp:+972501234567");
  EXPECT_EQ(whatsapp_address("whatsapp:+972501234567"),
            "whatsapp:+972501234567");
  EXPECT_EQ(whatsapp_address("WhatsApp:+972501234567"),
            "whatsapp:+972501234567");
  EXPECT_EQ(whatsapp_address(*normalize_phone("050-123-4567")),
            "whatsapp:+972501234567");
}

} // namespace
} // namespace al
