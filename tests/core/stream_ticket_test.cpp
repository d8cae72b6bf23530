#include "core/stream_ticket.hpp"

#include "core/call_token.hpp"

#include <gtest/gtest.h>

namespace al {
namespace {

constexpr std::int64_t now = 1'700'000'000;

stream_ticket sample() {
  return stream_ticket{7, 42, "agent", now + stream_ticket_ttl};
}

TEST(StreamTicket, RoundTrip) {
  auto text = issue_stream_ticket("key", sample());
  EXPECT_EQ(text.rfind("st1.7.42.agent.1700000060.", 0), 0u) << text;
  auto t = verify_stream_ticket("key", text, now);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->business_id, 7);
  EXPECT_EQ(t->token_id, 42);
  EXPECT_EQ(t->role, "agent");
  EXPECT_EQ(t->expires_at, now + 60);
  // Safe in a query string as it is.
  EXPECT_EQ(text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
                                   "OPQRSTUVWXYZ0123456789._-"),
            std::string::npos);
  // The admin token's ticket (token id 0) and every role.
  for (auto role : {"admin", "owner", "agent", "read_only"}) {
    auto s = stream_ticket{1, 0, role, now + 1};
    auto v = verify_stream_ticket("key", issue_stream_ticket("key", s), now);
    ASSERT_TRUE(v) << role;
    EXPECT_EQ(v->role, role);
  }
}

TEST(StreamTicket, ExpiresAtItsSecond) {
  auto text = issue_stream_ticket("key", sample());
  EXPECT_TRUE(verify_stream_ticket("key", text, now + 59));
  EXPECT_FALSE(verify_stream_ticket("key", text, now + 60));
  EXPECT_FALSE(verify_stream_ticket("key", text, now + 100000));
}

TEST(StreamTicket, ForgeriesAreRefused) {
  auto text = issue_stream_ticket("key", sample());
  EXPECT_FALSE(verify_stream_ticket("other key", text, now));
  EXPECT_FALSE(verify_stream_ticket("", text, now));
  // Another business, token, role or expiry under the same MAC.
  auto mac = text.substr(text.rfind('.') + 1);
  for (auto forged :
       {"st1.8.42.agent.1700000060.", "st1.7.43.agent.1700000060.",
        "st1.7.42.owner.1700000060.", "st1.7.42.admin.1700000060.",
        "st1.7.42.agent.1800000060.", "st2.7.42.agent.1700000060.",
        "st1.07.42.agent.1700000060."})
    EXPECT_FALSE(verify_stream_ticket("key", forged + mac, now)) << forged;
  // Every single changed character.
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto t = text;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(verify_stream_ticket("key", t, now)) << t;
  }
  // A call token or a payment token for the same text is not a ticket MAC.
  auto body = text.substr(0, text.rfind('.'));
  EXPECT_FALSE(verify_stream_ticket(
    "key", body + "." + issue_token("key", call_token_purpose, body), now));
  // A correctly signed ticket with an unknown role still fails.
  std::string odd = "st1.7.42.root.1700000060";
  EXPECT_FALSE(verify_stream_ticket(
    "key", odd + "." + issue_token("key", stream_ticket_purpose, odd), now));
}

TEST(StreamTicket, MalformedTextIsRefused) {
  auto text = issue_stream_ticket("key", sample());
  for (std::string bad :
       {std::string{}, std::string{"."}, std::string{"st1"},
        std::string{"st1.7.42.agent.1700000060"}, text + ".", "." + text,
        text + ".x", std::string(500, 'a'), text.substr(0, text.size() - 1),
        std::string{"st1.-7.42.agent.1700000060.x"},
        std::string{"st1.7.42.agent.99999999999999999999.x"}})
    EXPECT_FALSE(verify_stream_ticket("key", bad, now)) << bad;
}

TEST(StreamTicket, IssueFailsClosed) {
  EXPECT_EQ(issue_stream_ticket("", sample()), "");
  auto t = sample();
  t.role = "root";
  EXPECT_EQ(issue_stream_ticket("key", t), "");
  t = sample();
  t.business_id = -1;
  EXPECT_EQ(issue_stream_ticket("key", t), "");
}

} // namespace
} // namespace al
