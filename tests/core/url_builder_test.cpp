#include "core/url_builder.hpp"

#include <stdexcept>

#include <gtest/gtest.h>

namespace al {
namespace {

TEST(UrlBuilder, HttpsBase) {
  url_builder u{"https://host.example"};
  EXPECT_EQ(u.base(), "https://host.example");
  EXPECT_EQ(u.host(), "host.example");
  EXPECT_TRUE(u.secure());
  EXPECT_EQ(u.http("/webhook/stream_ended"),
            "https://host.example/webhook/stream_ended");
  EXPECT_EQ(u.ws("/ws/twilio-media"), "wss://host.example/ws/twilio-media");
}

TEST(UrlBuilder, HttpBaseWithPort) {
  url_builder u{"http://127.0.0.1:5000"};
  EXPECT_EQ(u.host(), "127.0.0.1:5000");
  EXPECT_FALSE(u.secure());
  EXPECT_EQ(u.http("webhook/x"), "http://127.0.0.1:5000/webhook/x");
  EXPECT_EQ(u.ws("/ws/twilio-media"), "ws://127.0.0.1:5000/ws/twilio-media");
}

TEST(UrlBuilder, NoDoubleSlashes) {
  url_builder u{"https://host.example///"};
  EXPECT_EQ(u.base(), "https://host.example");
  EXPECT_EQ(u.http("//webhook//x/"), "https://host.example/webhook/x/");
  EXPECT_EQ(u.http("webhook/x"), "https://host.example/webhook/x");
  EXPECT_EQ(u.http(""), "https://host.example/");
  EXPECT_EQ(u.http("/"), "https://host.example/");
  EXPECT_EQ(u.ws("///ws"), "wss://host.example/ws");
  auto s = u.http("//a");
  EXPECT_EQ(s.find("//", s.find("://") + 3), std::string::npos);
}

TEST(UrlBuilder, PathPrefix) {
  url_builder u{"https://h/x/"};
  EXPECT_EQ(u.base(), "https://h/x");
  EXPECT_EQ(u.host(), "h");
  EXPECT_EQ(u.http("/webhook/a"), "https://h/x/webhook/a");
  EXPECT_EQ(u.ws("ws/twilio-media"), "wss://h/x/ws/twilio-media");
  url_builder deep{"http://h:8080//x//y//"};
  EXPECT_EQ(deep.base(), "http://h:8080/x/y");
  EXPECT_EQ(deep.http("/z"), "http://h:8080/x/y/z");
}

TEST(UrlBuilder, QueryAndFragmentInPathAreVerbatim) {
  url_builder u{"https://h"};
  EXPECT_EQ(u.http("/a//b?x=//y&z=%20"), "https://h/a/b?x=//y&z=%20");
  EXPECT_EQ(u.http("/a#frag//x"), "https://h/a#frag//x");
  EXPECT_EQ(u.http("?q=1"), "https://h/?q=1");
}

TEST(UrlBuilder, WithQueryEncodes) {
  url_builder u{"https://h/p"};
  EXPECT_EQ(u.with_query("/pay", {{"id", "42"}, {"t", "a b&c=d/e+f"}}),
            "https://h/p/pay?id=42&t=a%20b%26c%3Dd%2Fe%2Bf");
  EXPECT_EQ(u.with_query("/pay", {{"name", "\xD7\xA9"}}),
            "https://h/p/pay?name=%D7%A9");
  EXPECT_EQ(u.with_query("/pay", {{"k~-._", "v~-._"}}),
            "https://h/p/pay?k~-._=v~-._");
  EXPECT_EQ(u.with_query("/pay", {}), "https://h/p/pay");
  EXPECT_EQ(u.with_query("/pay?a=1", {{"b", "2"}}), "https://h/p/pay?a=1&b=2");
  EXPECT_EQ(u.with_query("/pay?", {{"b", "2"}}), "https://h/p/pay?b=2");
  EXPECT_EQ(u.with_query("/pay#f", {{"b", "2"}}), "https://h/p/pay?b=2#f");
  EXPECT_EQ(u.with_query("/pay", {{"", ""}, {"x", ""}}),
            "https://h/p/pay?=&x=");
}

TEST(UrlBuilder, SchemeCaseAndWhitespace) {
  url_builder u{"  HTTPS://Host.Example:8443  "};
  EXPECT_EQ(u.base(), "https://Host.Example:8443");
  EXPECT_EQ(u.ws("/w"), "wss://Host.Example:8443/w");
}

TEST(UrlBuilder, Ipv6Host) {
  url_builder u{"http://[::1]:5000"};
  EXPECT_EQ(u.host(), "[::1]:5000");
  EXPECT_EQ(u.ws("/ws"), "ws://[::1]:5000/ws");
}

TEST(UrlBuilder, RejectsBadBases) {
  for (auto bad : {"", "host.example", "ftp://h", "wss://h", "https://",
                   "https:///path", "https://user:pw@h", "https://h?x=1",
                   "https://h#f", "https://h:/", "http://h h", "/relative"}) {
    EXPECT_FALSE(url_builder::parse(bad).has_value()) << bad;
    EXPECT_THROW(url_builder{bad}, std::invalid_argument) << bad;
  }
  EXPECT_TRUE(url_builder::parse("http://h").has_value());
}

} // namespace
} // namespace al
