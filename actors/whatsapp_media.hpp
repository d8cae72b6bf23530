#pragma once

// Inbound WhatsApp media (schemas/0025): the rows the webhook writes
// (status pending), the fetcher that downloads them in the background, and
// what the CRM API reads back.
//
// The fetcher is one actor per instance (a child of the job manager). It
// claims due pending rows with FOR UPDATE SKIP LOCKED and a lease, so two
// instances never fetch the same item and a dead instance's claims are due
// again after the lease; downloads each item from its provider (Twilio:
// the MediaUrl with the account's Basic auth, following at most 3
// redirects and never sending the credentials to another origin; Meta: the
// media lookup, then its URL, with the bearer token); keeps the bytes when
// the size and the content type pass (stored), refuses them otherwise
// (rejected); retries provider errors and timeouts with backoff, then
// gives up (failed, with the error). A stored voice note is transcribed
// when STT is configured (a failure leaves the transcript NULL). The text
// message itself never waits for any of this.
//
// Wakes on its poll timer (an actor-clock timer) and at once when this
// process stored media (wake_wa_media_fetchers).

#include "actors/job_protocols.hpp"
#include "actors/store.hpp"
#include "core/outbound.hpp"
#include "core/wa_media.hpp"

#include <boost/json/array.hpp>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace al {

struct metrics;
struct child_spec;

struct wa_media_options {
  store db;
  http_send_fn http;
  metrics* m = nullptr;
  std::string twilio_account_sid; // global; a business's own wins
  std::string twilio_auth_token;
  std::string meta_api_base;
  std::string meta_token;
  std::string stt_api_base; // "" = no transcription
  std::string stt_api_key;  // "" = no Authorization header
  std::string stt_model = "whisper-1";
  std::int64_t max_bytes = wa_media_default_max_bytes;
  std::chrono::milliseconds poll{5000};
  std::chrono::milliseconds lease{120000};    // > one item's whole fetch
  std::chrono::milliseconds timeout{30000};   // per provider request
  std::chrono::milliseconds retry_base{5000}; // doubles per attempt
  int max_attempts = 4;
  int batch = 4; // items claimed (and fetched concurrently) at once
};

/// The fetcher's recipe for the job manager (key "wa_media_fetcher"); its
/// interface, wa_media_fetcher_actor, is in actors/job_protocols.hpp.
child_spec wa_media_fetcher_spec(wa_media_options opts);

/// Wakes every fetcher of this process (call after the transaction that
/// stored media committed). Never blocks.
void wake_wa_media_fetchers();

/// Writes one pending row per item (idx 0, 1, ...) of message `message`.
void insert_wa_media(db_tx& tx, std::int64_t business, std::int64_t message,
                     const std::vector<wa_media_item>& items);

/// The media of `messages` (of `business` only), by message id:
/// [{"idx","status","content_type","size","filename","transcript",
/// "error","url"}], in idx order.
std::map<std::int64_t, boost::json::array>
wa_media_of(db_tx& tx, std::int64_t business,
            const std::vector<std::int64_t>& messages);

/// One item as GET /api/crm/messages/{id}/media/{idx} serves it.
struct wa_media_blob {
  std::string status; // pending | stored | failed | rejected
  std::string content_type;
  std::string filename;
  std::string error;
  std::string bytes; // only when stored
};

/// nullopt when message `message` of `business` has no item `idx`.
std::optional<wa_media_blob> load_wa_media(db_tx& tx, std::int64_t business,
                                           std::int64_t message, int idx);

} // namespace al
