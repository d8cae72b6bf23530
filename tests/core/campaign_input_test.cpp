// POST /api/crm/campaigns input and the engine's slot rule (pure).
#include "core/campaign_input.hpp"

#include <gtest/gtest.h>

#include <string>

namespace al {
namespace {

std::string parse(const std::string& body, campaign_input& in, int cap = 50) {
  json_doc doc;
  if (!doc.parse(body))
    return "not json";
  auto obj = doc.object();
  if (!obj)
    return "not an object";
  return parse_campaign(*obj, in, cap);
}

std::string parse(const std::string& body) {
  campaign_input in;
  return parse(body, in);
}

TEST(CampaignInput, DefaultsFromAMinimalBody) {
  campaign_input in;
  ASSERT_EQ(parse(R"({"name":"חזרה"})", in), "");
  EXPECT_EQ(in.name, "חזרה");
  EXPECT_EQ(in.max_concurrent, 3);
  EXPECT_EQ(in.attempts, 2);
  EXPECT_EQ(in.retry_after_min, 60);
  EXPECT_EQ(in.voicemail, "hangup");
  EXPECT_TRUE(in.prompt.empty());
  EXPECT_EQ(campaign_filter_json(in.filter), "{}");
}

TEST(CampaignInput, FullBody) {
  campaign_input in;
  ASSERT_EQ(parse(R"({"name":"x","lead_filter":{"status":"new",
    "tags":["vip","tlv"],"source":"whatsapp","ids":[5,3,5]},"prompt":"p",
    "max_concurrent":7,"attempts":4,"retry_after_min":15,
    "voicemail":"message","voicemail_text":"שלום"})",
                  in),
            "");
  EXPECT_EQ(*in.filter.status, "new");
  EXPECT_EQ(*in.filter.source, "whatsapp");
  ASSERT_EQ(in.filter.tags.size(), 2u);
  ASSERT_EQ(in.filter.ids.size(), 2u); // sorted, duplicates dropped
  EXPECT_EQ(in.filter.ids[0], 3);
  EXPECT_EQ(in.max_concurrent, 7);
  EXPECT_EQ(in.attempts, 4);
  EXPECT_EQ(in.retry_after_min, 15);
  EXPECT_EQ(in.voicemail_text, "שלום");
  EXPECT_EQ(campaign_filter_json(in.filter),
            R"({"status":"new","source":"whatsapp","tags":["vip","tlv"],)"
            R"("ids":[3,5]})");
}

TEST(CampaignInput, RejectsBadValues) {
  EXPECT_EQ(parse(R"({})"), "name is required");
  EXPECT_EQ(parse(R"({"name":"   "})"), "name is required");
  EXPECT_NE(parse(R"({"name":5})"), "");
  EXPECT_NE(parse(R"({"name":"x","max_concurrent":0})"), "");
  EXPECT_NE(parse(R"({"name":"x","max_concurrent":"3"})"), "");
  EXPECT_NE(parse(R"({"name":"x","attempts":11})"), "");
  EXPECT_NE(parse(R"({"name":"x","retry_after_min":0})"), "");
  EXPECT_NE(parse(R"({"name":"x","retry_after_min":10081})"), "");
  EXPECT_NE(parse(R"({"name":"x","attempts":1e300})"), "");
  EXPECT_EQ(parse(R"({"name":"x","voicemail":"sing"})"),
            "voicemail must be hangup or message");
  EXPECT_EQ(parse(R"({"name":"x","voicemail":"message"})"),
            "voicemail_text is required when voicemail is message");
  EXPECT_NE(parse(R"({"name":"x","lead_filter":[]})"), "");
  EXPECT_NE(parse(R"({"name":"x","lead_filter":{"ids":[0]}})"), "");
  EXPECT_NE(parse(R"({"name":"x","lead_filter":{"ids":["1"]}})"), "");
  EXPECT_NE(parse(R"({"name":"x","lead_filter":{"ids":{}}})"), "");
  EXPECT_NE(parse(R"({"name":"x","lead_filter":{"ids":[]}})"), "");
  EXPECT_NE(parse(R"({"name":"x","lead_filter":{"tags":[""]}})"), "");
  EXPECT_NE(parse(R"({"name":"x","lead_filter":{"tags":"vip"}})"), "");
  EXPECT_NE(parse(R"({"name":"x","lead_filter":{"status":"NEW ONE"}})"), "");
  EXPECT_NE(parse(R"({"name":"x","lead_filter":{"source":"fax"}})"), "");
  EXPECT_NE(parse(std::string{"{\"name\":\"a\\u0000b\"}"}), "");
}

TEST(CampaignInput, MaxConcurrentCappedByTheServiceLimit) {
  campaign_input in;
  EXPECT_NE(parse(R"({"name":"x","max_concurrent":6})", in, 5), "");
  EXPECT_EQ(parse(R"({"name":"x","max_concurrent":5})", in, 5), "");
}

TEST(CampaignInput, HostileBodiesNeverThrow) {
  const char* bodies[] = {
    R"({"name":"x","lead_filter":{"ids":[-1]}})",
    R"({"name":"x","lead_filter":{"ids":[1.5]}})",
    R"({"name":"x","lead_filter":{"ids":[9223372036854775807]}})",
    R"({"name":"x","lead_filter":{"tags":[1,2]}})",
    R"({"name":"x","lead_filter":null,"voicemail":null})",
    R"({"name":"x","max_concurrent":-9223372036854775808})",
    R"({"name":"x","max_concurrent":18446744073709551615})",
  };
  for (auto b : bodies)
    EXPECT_NO_THROW(parse(b)) << b;
  std::string big = R"({"name":"x","lead_filter":{"ids":[)";
  for (int i = 1; i <= 10001; ++i)
    big += (i > 1 ? "," : "") + std::to_string(i);
  big += "]}}";
  EXPECT_NE(parse(big), "");
}

TEST(CampaignSlots, BoundedByTheCampaignAndTheService) {
  EXPECT_EQ(campaign_free_slots(3, 0, 50, 0), 3);
  EXPECT_EQ(campaign_free_slots(3, 2, 50, 2), 1);
  EXPECT_EQ(campaign_free_slots(3, 3, 50, 3), 0);
  EXPECT_EQ(campaign_free_slots(3, 5, 50, 5), 0); // never negative
  EXPECT_EQ(campaign_free_slots(10, 0, 50, 48), 2);
  EXPECT_EQ(campaign_free_slots(10, 0, 50, 60), 0);
}

} // namespace
} // namespace al
