#pragma once

// The input of POST /api/crm/campaigns and the pure rules of the campaign
// engine (SPEC §7 "Follow-up calls"). No I/O: parse_campaign returns an
// error message for a 400, or empty on success.

#include "core/json.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace al {

/// Which leads of the business a campaign calls (all given conditions
/// hold; an empty filter is every lead with a phone).
struct campaign_filter {
  std::optional<std::string> status; // a pipeline status key
  std::optional<std::string> source; // call | whatsapp | manual
  std::vector<std::string> tags;     // the lead has every one of them
  std::vector<std::int64_t> ids;     // the lead is one of them
};

struct campaign_input {
  std::string name;
  campaign_filter filter;
  std::string prompt;
  int max_concurrent = 3;
  int attempts = 2;
  int retry_after_min = 60;
  std::string voicemail = "hangup"; // hangup | message
  std::string voicemail_text;
};

constexpr std::size_t max_campaign_ids = 10000;

/// Parses a create body. `cap` is the ceiling of max_concurrent
/// (OUTBOUND_MAX_CALLS, itself at most 50).
std::string parse_campaign(simdjson::dom::object o, campaign_input& in,
                           int cap);

/// The filter as stored in campaigns.lead_filter:
/// {"status":..,"source":..,"tags":[..],"ids":[..]} (absent parts left out).
std::string campaign_filter_json(const campaign_filter& f);

/// The prompt a follow-up call opens with when the campaign has none.
extern const char* const default_campaign_prompt;

/// How many rows a campaign may claim now: the campaign's free slots,
/// bounded by the service-wide free slots; never negative.
int campaign_free_slots(int max_concurrent, std::int64_t live_campaign,
                        int global_cap, std::int64_t live_global) noexcept;

} // namespace al
