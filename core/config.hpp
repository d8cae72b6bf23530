#pragma once

// The service configuration: SPEC §1, read from the environment (and a .env
// file beside the binary; real environment variables win). Every value is
// validated at start-up; a bad one yields a one-line error naming it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace al {

struct config {
  std::uint16_t port = 5000;
  std::string public_base_url; // no trailing '/'
  std::string database_url;    // empty: the caller must supply one
  int db_pool_size = 4;
  std::string twilio_account_sid;
  std::string twilio_auth_token;
  std::string twilio_api_base = "https://api.twilio.com";
  std::string whatsapp_default_provider = "twilio"; // twilio | meta
  std::string meta_wa_token;
  std::string meta_wa_phone_id;
  std::string meta_api_base = "https://graph.facebook.com/v19.0";
  std::string meta_app_secret;
  std::string meta_verify_token;
  // WhatsApp sender for Twilio when a business has none (Twilio's sandbox).
  std::string twilio_whatsapp_from = "whatsapp:+14155238886";
  std::chrono::milliseconds whatsapp_provider_timeout{5000}; // per send
  std::chrono::seconds whatsapp_idle_timeout{1800}; // conversation actor
  int whatsapp_rate_per_min = 30; // sends per number per minute (burst)
  // Inbound WhatsApp media (actors/whatsapp_media.hpp): the largest item
  // kept (WA_MEDIA_MAX_BYTES, 16 MiB), the fetcher's poll (WA_MEDIA_POLL_MS)
  // and retry base (WA_MEDIA_RETRY_BASE_MS, doubling per attempt).
  long long wa_media_max_bytes = 16 * 1024 * 1024;
  std::chrono::milliseconds wa_media_poll{5000};
  std::chrono::milliseconds wa_media_retry_base{5000};
  std::string openai_api_key;
  std::string openai_realtime_url = "wss://api.openai.com/v1/realtime";
  std::string openai_model = "gpt-realtime";
  // VOICE_ENGINE: auto (openai when a key is set, else local) | local |
  // openai. A business's own voice_engine other than 'auto' wins.
  std::string voice_engine = "auto";
  // OPENAI_API_BASE: speech, transcription and chat; empty: derived from
  // OPENAI_REALTIME_URL (wss://api.openai.com/v1/realtime ->
  // https://api.openai.com/v1).
  std::string openai_api_base;
  std::string openai_voice = "alloy"; // OPENAI_VOICE
  // OPENAI_TTS_MODEL; empty: greetings are not rendered in the AI voice.
  std::string openai_tts_model = "gpt-4o-mini-tts";
  std::string openai_text_model = "gpt-4o-mini"; // OPENAI_TEXT_MODEL
  // WA_AI_DEBOUNCE_MS: the WhatsApp AI answers once a conversation has been
  // quiet this long, so a burst of messages gets one reply.
  std::chrono::milliseconds wa_ai_debounce{2500};
  std::chrono::milliseconds wa_ai_timeout{
    20000}; // WA_AI_TIMEOUT_MS, per completion
  // After every call (actors/after_call.hpp): caller turns of the local
  // engine go to {STT_API_BASE}/audio/transcriptions (any OpenAI-compatible
  // server, e.g. a self-hosted Whisper) with STT_MODEL. Unset STT_API_BASE:
  // the OpenAI REST base, used only when a key is set (STT_API_KEY, default
  // OPENAI_API_KEY); a set STT_API_BASE without a key sends no
  // Authorization header.
  std::string stt_api_base;
  std::string stt_api_key;
  std::string stt_model = "whisper-1";
  // The after-call job: polled every AFTER_CALL_POLL_MS (and at once when a
  // call of this instance hangs up), claimed for AFTER_CALL_LEASE_S, retried
  // after AFTER_CALL_RETRY_BASE_MS doubling with jitter,
  // AFTER_CALL_MAX_ATTEMPTS attempts in all; a streamed call's job whose actor
  // never marked it ready runs AFTER_CALL_SETTLE_MS after the call ended; each
  // provider request may take AFTER_CALL_HTTP_TIMEOUT_MS.
  std::chrono::milliseconds after_call_poll{5000};
  std::chrono::milliseconds after_call_lease{300000};
  std::chrono::milliseconds after_call_retry_base{5000};
  std::chrono::milliseconds after_call_settle{30000};
  std::chrono::milliseconds after_call_http_timeout{60000};
  int after_call_max_attempts = 6;
  // SAY_VOICE: the <Say> voice of Hebrew fallback prompts (language he-IL).
  std::string say_voice = "Google.he-IL-Standard-A";
  // Follow-up calls: AMD_UNKNOWN_AS (human | machine) is how an uncertain
  // AMD verdict (machine_start, fax, unknown) counts; OUTBOUND_RING_S how
  // long the callee's phone rings (the Calls API Timeout, 5-600 s).
  std::string amd_unknown_as = "human";
  int outbound_ring_s = 25;
  std::chrono::seconds silence_reprompt{6}; // SILENCE_REPROMPT_S
  // HOLIDAY_CLOSURES: Israeli holidays (libhdate) close the office for
  // transfers and bookings; false for an office that works through them.
  bool holiday_closures = true;
  bool payments_enabled = false;
  std::string paypal_client_id;
  std::string paypal_secret;
  std::string paypal_api_base = "https://api-m.sandbox.paypal.com";
  std::string paypal_webhook_id;
  std::string tranzila_terminal;
  std::string tranzila_base = "https://direct.tranzila.com";
  // Whole provider exchange of one payment (token + order), PayPal calls
  // from webhooks too; PAYMENT_PROVIDER_TIMEOUT_MS.
  std::chrono::milliseconds payment_timeout{5000};
  std::string admin_token; // empty: admin API disabled
  std::string deploy_id;   // empty: the build's git commit
  std::chrono::seconds ws_ping_interval{25};
  std::chrono::seconds ws_idle_timeout{60};
  std::string log_format = "text"; // text | json
  std::string log_level = "info";
  std::string recordings_dir = "./var/recordings";
  // The dashboard's static files (WEB_ROOT); empty: `web` beside the
  // schemas directory the application was given.
  std::string web_root;
  int max_live_calls = 2000;
  std::chrono::milliseconds start_timeout{8000}; // TwiML served, no start
  std::chrono::seconds drain_timeout{30};        // SIGTERM: live calls
  int io_threads = 1;
  // WORKER_NICE: under the normal scheduler, how much nicer than the media
  // I/O threads every other thread runs (0-19; core/thread_role.hpp).
  int worker_nice = 0;
  // SECRET_KEY: signs call tokens and, through HKDF, encrypts tenant
  // secrets at rest (AES-256-GCM). Required (>= 32 characters) when
  // PUBLIC_BASE_URL is https; without it (development) the signing key is
  // derived from other secrets and tenant secrets stay in clear.
  std::string secret_key;
  // SECRET_KEYS_PREVIOUS: comma-separated earlier keys that still decrypt
  // (key rotation: see `agentlocator rotate-secrets`).
  std::vector<std::string> secret_keys_previous;
  // METRICS_PORT: serve /metrics on its own port (0: an ephemeral one) and
  // not on PORT; unset: on PORT. METRICS_TOKEN: a bearer /metrics requires.
  std::optional<std::uint16_t> metrics_port;
  std::string metrics_token;
  // TRUSTED_PROXIES: peers whose X-Forwarded-For names the client (for the
  // sign-in throttle and the audit trail).
  std::vector<std::string> trusted_proxies{"127.0.0.1", "::1"};
  // Sign-in throttle (per instance): AUTH_FAIL_FREE failures per
  // AUTH_FAIL_WINDOW_S pass undelayed, then each 401 is held longer;
  // AUTH_FAIL_BLOCK_AFTER failures answer 429 for AUTH_BLOCK_S (0: off).
  int auth_fail_free = 5;
  int auth_fail_block_after = 20;
  std::chrono::seconds auth_fail_window{60};
  std::chrono::seconds auth_block{300};
  // AUDIT_RETENTION_DAYS: audit rows older than this are purged (0: kept).
  int audit_retention_days = 730;
  // AUDIO_RETENTION_DAYS: call audio older than this is deleted (0: kept).
  int audio_retention_days = 365;
  // Outgoing webhooks (actors/webhook_delivery.hpp): the outbox is polled
  // every WEBHOOK_POLL_MS (and at once when this instance queues an event);
  // a claim is leased for WEBHOOK_LEASE_S; a failed attempt is retried
  // after WEBHOOK_RETRY_BASE_S, doubling (with jitter) up to an hour, until
  // WEBHOOK_GIVE_UP_S after the event was queued. Milliseconds here so
  // tests can make them small.
  std::chrono::milliseconds webhook_poll{5000};
  std::chrono::milliseconds webhook_lease{60000};
  std::chrono::milliseconds webhook_retry_base{30000};
  std::chrono::milliseconds webhook_give_up{86400000};
  // Follow-up campaigns (actors/campaign.hpp): running campaigns are
  // scanned for every CAMPAIGN_SCAN_MS, each campaign actor ticks every
  // CAMPAIGN_TICK_MS and holds its campaign for CAMPAIGN_LEASE_S (renewed
  // on each tick; another instance takes over after it); a dial whose
  // status callback never came counts as failed after DIAL_LEASE_S; at most
  // OUTBOUND_MAX_CALLS campaign calls are live across the whole service
  // (also the ceiling of a campaign's max_concurrent).
  std::chrono::milliseconds campaign_scan{2000};
  std::chrono::milliseconds campaign_tick{1000};
  std::chrono::seconds campaign_lease{30};
  std::chrono::seconds dial_lease{120};
  int outbound_max_calls = 50;

  /// Key used for call tokens and per-payment tokens.
  std::string signing_key() const;

  /// True when calls of a business whose voice_engine is `business_engine`
  /// ("auto", "local", "openai") should use the OpenAI engine.
  bool wants_openai(std::string_view business_engine) const;
};

/// The engine choice of SPEC §7: a business's `openai`/`local` wins; its
/// `auto` follows VOICE_ENGINE (`global`), whose `auto` means "openai when
/// there is a key". Without a key, always local.
bool engine_wants_openai(bool have_key, std::string_view global,
                         std::string_view business);

/// Reads a variable; returns nullopt when unset.
using env_lookup
  = std::function<std::optional<std::string>(const std::string&)>;

/// Either a valid config or a one-line error naming the variable.
using config_result = std::variant<config, std::string>;

/// Builds the configuration from `lookup`. Pure: tests pass a map.
config_result load_config(const env_lookup& lookup);

/// Every variable load_config reads, in the order it reads them.
std::vector<std::string> config_variable_names();

/// True for variables whose values are secrets (never printed).
bool secret_variable(std::string_view name);

/// Parses a .env file body (KEY=VALUE lines, '#' comments, optional quotes,
/// optional `export `). Malformed lines yield an error naming the line.
std::variant<std::map<std::string, std::string>, std::string>
parse_dotenv(const std::string& text);

/// The process environment, overlaid on the .env file at `dotenv_path` if it
/// exists. Returns an error string for a malformed .env.
std::variant<env_lookup, std::string>
process_env(const std::string& dotenv_path);

} // namespace al
