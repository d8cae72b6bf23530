#include "core/call_token.hpp"

#include <gtest/gtest.h>

namespace al {
namespace {

TEST(CallToken, KnownValue) {
  // base64url(HMAC-SHA256("secret", "al-token-v1:4:call:CA123")[:24]),
  // computed independently with Python's hmac module.
  EXPECT_EQ(issue_call_token("secret", "CA123"),
            "ks63Tbcs_XOXm4TJ-Cuhxx-h_wTc-ZXc");
}

TEST(CallToken, ShapeIsUrlSafeAndAtLeast128Bits) {
  auto t = issue_call_token("k", "CAabcdef0123456789abcdef0123456789");
  EXPECT_EQ(t.size(), 32u); // 24 bytes = 192 bits
  EXPECT_EQ(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                "qrstuvwxyz0123456789-_"),
            std::string::npos);
}

TEST(CallToken, RoundTrip) {
  auto t = issue_call_token("key", "CA1");
  EXPECT_TRUE(verify_call_token("key", "CA1", t));
  EXPECT_EQ(issue_call_token("key", "CA1"), t); // deterministic
}

TEST(CallToken, Rejections) {
  auto t = issue_call_token("key", "CA1");
  EXPECT_FALSE(verify_call_token("key", "CA2", t));
  EXPECT_FALSE(verify_call_token("kez", "CA1", t));
  EXPECT_FALSE(verify_call_token("key", "CA1", ""));
  EXPECT_FALSE(verify_call_token("key", "CA1", t.substr(0, 31)));
  EXPECT_FALSE(verify_call_token("key", "CA1", t + "A"));
  auto flipped = t;
  flipped[5] = flipped[5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_call_token("key", "CA1", flipped));
}

TEST(CallToken, EmptyKeyFailsClosed) {
  EXPECT_EQ(issue_call_token("", "CA1"), "");
  EXPECT_FALSE(verify_call_token("", "CA1", ""));
  EXPECT_FALSE(verify_call_token("", "CA1", issue_call_token("x", "CA1")));
}

TEST(Token, PurposesAreSeparate) {
  auto call = issue_token("key", call_token_purpose, "42");
  auto pay = issue_token("key", payment_token_purpose, "42");
  EXPECT_NE(call, pay);
  EXPECT_TRUE(verify_token("key", payment_token_purpose, "42", pay));
  EXPECT_FALSE(verify_token("key", call_token_purpose, "42", pay));
  EXPECT_FALSE(verify_call_token("key", "42", pay));
  EXPECT_TRUE(verify_call_token("key", "42", call));
}

TEST(Token, PurposeSubjectBoundaryIsUnambiguous) {
  EXPECT_NE(issue_token("key", "ab", "c"), issue_token("key", "a", "bc"));
  EXPECT_NE(issue_token("key", "a:", "b"), issue_token("key", "a", ":b"));
}

} // namespace
} // namespace al
