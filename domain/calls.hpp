#pragma once

// Use cases of inbound calls (SPEC §7): Twilio's voice webhooks
// (incoming_call, stream_status, stream_ended, transfer_status, call_status,
// recording_status), the Twilio account behind a media upgrade or a
// watchdog redirect, a business's voice pack and the storage of the AI
// voice's renderings. Input is parsed by transport; each use case runs in
// one transaction and answers once through `done`, from a store thread.
//
// A webhook's signature depends on the account of the business it is for,
// which only the database knows: transport hands in a signed_by check and
// the use case calls it, inside its transaction, with that account.

#include "actors/call_rows.hpp"
#include "actors/domain.hpp"
#include "actors/store.hpp"
#include "actors/voice_cache.hpp"
#include "core/outbound.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace al {
struct config;
} // namespace al

namespace al::domain::calls {

/// True when the webhook carries a valid X-Twilio-Signature of the account
/// `own` stands for (its own account; empty fields: the global one).
using signed_by = std::function<bool(const call_twilio_account& own)>;

/// True when a business has an account of its own (both fields set).
bool has_own_account(const call_twilio_account& own);

/// The account Twilio REST calls and signatures of a business use: `own`
/// when it has both fields, else TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN.
call_twilio_account account_of(const config& cfg,
                               const call_twilio_account& own);

/// The AI voice of a business ("" = OPENAI_VOICE).
std::string effective_voice(const config& cfg, std::string_view business_voice);

/// The rendered_speech key: hex SHA-256 of model, voice and text.
std::string speech_key(const config& cfg, std::string_view voice,
                       std::string_view text);

/// A rendering of a business's greeting in the AI voice that is wanted but
/// not stored yet; an empty key: none.
struct wanted_speech {
  std::string key;
  std::string voice;
  std::string text;
};

// -- incoming_call ------------------------------------------------------------

struct incoming_call {
  std::string call_sid;
  std::string from;
  std::string to; // E.164, "" when the called number is not one
  long live = 0;  // calls live on this instance now
};

struct incoming_result {
  incoming_call call; // as given, handed back
  /// forbidden: the signature failed; unavailable/internal: the database
  /// failed (`failure` then has the store's reason, for the log).
  domain_status status;
  db_error failure;
  /// MAX_LIVE_CALLS or the business's own cap reached: no row, no voice.
  bool over_capacity = false;
  std::int64_t business = default_business_id;
  /// The business's own auth token; "" when it uses the global account.
  std::string own_token;
  voice_pack_ptr voice;
  bool record_calls = true;
  wanted_speech render;
};

/// The business that owns `call.to` (else the default one), its signature,
/// the capacity, its `ringing` row and its voice pack, in one transaction.
/// "default business missing" is a failure.
void incoming(const store& db, const config& cfg, voice_cache& voices,
              incoming_call call, signed_by check,
              std::function<void(incoming_result)> done);

/// Queues the `ringing` row of a call answered without the database; the
/// business that owns `to` is found when the write lands.
void queue_ringing(const store& db, std::string call_sid, std::string from,
                   std::string to);

/// call_env::load_voice: the business's voice pack as its calls should
/// sound now (nullptr for an unknown business). A missing rendering is not
/// asked for here (incoming and warm do).
std::function<voice_pack_ptr(db_tx&, std::int64_t)>
voice_loader(const config& cfg, voice_cache* voices);

/// Loads the business's voice pack (after its settings changed); `done`
/// gets the rendering still wanted, even when the load failed.
void warm(const store& db, const config& cfg, voice_cache& voices,
          std::int64_t business, std::function<void(wanted_speech)> done);

// -- the call's webhooks ------------------------------------------------------

/// What Twilio is answered with.
enum class call_answer {
  none,            // 204
  hangup,          // <Hangup/>
  fallback,        // the recording fallback
  transfer_missed, // the recording fallback after an unanswered <Dial>
  dial,            // the <Dial> of a transfer (`dial`)
};

/// A transfer's <Dial>.
struct dial_plan {
  std::vector<std::string> numbers;
  int ring_timeout_s = 20;
  std::string caller_id; // the caller's E.164, "" when withheld or odd
};

struct webhook_result {
  /// forbidden: the signature failed (checked with the call's account, the
  /// global one for an unknown call); unavailable/internal: the database
  /// failed.
  domain_status status;
  call_answer answer = call_answer::none;
  dial_plan dial;
  /// recording_status: the call's business account (empty fields: the
  /// global one) to fetch the finished recording with.
  std::optional<call_twilio_account> fetch;
};

using webhook_done = std::function<void(webhook_result)>;

/// The <Connect action>: the pending transfer's <Dial> (and a
/// "transfer_dial" event), else hang up when the dialogue ended normally or
/// the fallback's recording came back, else the call goes to the fallback.
void stream_ended(const store& db, std::string call_sid, bool has_recording,
                  signed_by check, webhook_done done);

/// The <Dial action> of a transfer: the dial status (an odd one counts as
/// "failed") and a "transfer_status" event; answered: hang up, else the
/// recording fallback. The fallback's recording coming back: hang up.
void transfer_status(const store& db, std::string call_sid, bool has_recording,
                     std::string dial_status, std::string dial_duration,
                     signed_by check, webhook_done done);

/// Twilio's call status callback (an empty or odd status is ignored); 204.
void call_status(const store& db, std::string call_sid, std::string status,
                 signed_by check, webhook_done done);

/// Stores the recording's URL; `fetch` is set when a completed recording
/// of a known call should be downloaded. 204.
void recording_status(const store& db, std::string call_sid, std::string url,
                      bool completed, signed_by check, webhook_done done);

/// Downloads a finished recording (`url` + ".wav") with `account` into the
/// database (call_audio kind "recording"), in the background; failures are
/// logged.
void fetch_recording(const store& db, const http_send_fn& http,
                     std::string call_sid, std::string url,
                     call_twilio_account account, int duration_ms);

/// A Twilio stream status event, for the call's events.
struct stream_event {
  std::string call_sid;
  std::string stream_sid;
  std::string event;
  std::string error;
  std::string timestamp;
};

/// Queues the event (a write that waits out an outage); nothing answers.
void record_stream_status(const store& db, const stream_event& ev);

// -- accounts -----------------------------------------------------------------

/// A business's or a call's own Twilio account (empty fields: none);
/// nullopt when unknown or the database failed (status says which).
struct account_result {
  domain_status status;
  std::optional<call_twilio_account> own;
};

/// The account of business `business` (a media upgrade on its own path).
void account_of_business(const store& db, std::int64_t business,
                         std::function<void(account_result)> done);

/// The account of the call's business (the watchdog's redirect).
void account_of_call(const store& db, std::string call_sid,
                     std::function<void(account_result)> done);

// -- the AI voice's renderings ------------------------------------------------

/// A write's outcome: the status and, when it failed, the store's reason
/// (for the log).
struct write_result {
  domain_status status;
  db_error failure;
};

/// Keeps `audio` (8 kHz mu-law) as the rendering of `text` in `voice`
/// under `key` (an existing one stays).
void store_rendering(const store& db, std::string key, std::string voice,
                     std::string text, std::string audio,
                     std::function<void(write_result)> done);

} // namespace al::domain::calls
