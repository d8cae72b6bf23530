#pragma once

// Follow-up calls, the telephony half (SPEC §7 "Follow-up calls"): placing
// one outbound call for a campaign_leads row (schemas/0024) through
// Twilio's Calls API with asynchronous answering-machine detection, and
// moving the row through its outcomes as Twilio's callbacks arrive
// (transport/handlers/twilio_outbound.cpp). The campaign engine
// (actors/campaign*.hpp) decides who to dial and when; it calls
// place_outbound_call and hears back through on_dial_finished.

#include "actors/call_rows.hpp"
#include "actors/store.hpp"
#include "core/outbound.hpp"
#include "core/twilio_calls_wire.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace al {

struct metrics;

/// What dialing needs from the outside world; composed in app/.
struct outbound_env {
  store db;
  http_send_fn http;
  metrics* m = nullptr; // may be null (no metrics)
  /// TWILIO_API_BASE, e.g. https://api.twilio.com (no trailing slash).
  std::string twilio_api_base;
  /// PUBLIC_BASE_URL: the callbacks Twilio is given are absolute URLs on it.
  std::string public_base_url;
  /// The global Twilio account (TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN),
  /// used for a business that has no account of its own.
  std::string account_sid;
  std::string auth_token;
  /// Seconds Twilio lets the callee's phone ring (the Calls API Timeout).
  int ring_timeout_s = 25;
  /// SAY_VOICE: the <Say> voice of a voicemail message.
  std::string say_voice;
  /// AMD_UNKNOWN_AS: how machine_start, fax and unknown AMD results count,
  /// "human" (default) or "machine".
  std::string amd_unknown_as = "human";
  /// A campaign's dial ended (final status, voicemail, opt-out): a dialing
  /// slot is free again. Called from any thread, after the row's outcome is
  /// committed; must not block. Empty: nobody is told.
  std::function<void(std::int64_t campaign_id)> on_dial_finished;
};

/// One dial: a campaign_leads row (its campaign and lead) and the number.
struct outbound_dial {
  std::int64_t business_id = 0;
  std::int64_t campaign_id = 0;
  std::int64_t campaign_lead_id = 0;
  std::int64_t lead_id = 0;
  std::string to; // E.164
};

struct outbound_dial_result {
  bool ok = false;
  std::string call_sid; // Twilio's CA... when ok
  /// Why not: "opted_out" (on the do-not-contact list; the row is set to
  /// opted_out), "The business has no phone number", Twilio's message, a
  /// transport error...
  std::string error;
  /// True when trying again later may succeed (a 5xx, 429, timeout, or the
  /// database away); false for a 4xx from Twilio, no number, opted out.
  bool retryable = false;
};

/// Places the call: loads the business's Twilio account and number (the
/// first of its phone_numbers), checks the do-not-contact list, POSTs
/// Calls.json and on success inserts the calls row (direction outbound,
/// status queued) and stores the call sid on the campaign_leads row. Never
/// blocks; calls `done` exactly once, from some thread. It does not change
/// the row's outcome except to opted_out; leases and attempts are the
/// caller's.
void place_outbound_call(const outbound_env& env, outbound_dial d,
                         std::function<void(outbound_dial_result)> done);

// -- the webhooks' side (transport/handlers/twilio_outbound.cpp) -------------
// Pure DB functions run inside a store job. A callback counts only for the
// row's current attempt: its call sid is the row's, or the row has none
// yet and no earlier attempt's calls row carries that sid. A final outcome
// (completed, voicemail, opted_out) never moves; no_answer, busy and failed
// are the campaign engine's to re-dial.

/// A campaign_leads row with what its call needs.
struct outbound_target {
  std::int64_t id = 0; // campaign_leads.id
  std::int64_t business_id = 0;
  std::int64_t campaign_id = 0;
  std::int64_t lead_id = 0;
  std::string phone; // the lead's, E.164
  std::string outcome;
  std::string call_sid;
  std::string campaign_kind; // campaign | speed_to_lead
  std::string prompt;        // campaigns.prompt ("" = the default)
  std::string voicemail;     // hangup | message
  std::string voicemail_text;
  int retry_after_min = 60;
  std::string business_name;
  std::string business_number; // its first phone number ("" = none)
  call_twilio_account twilio;  // its own account (empty: the global one)
  std::string lead_name;
  /// What the lead asked for: deal, city, rooms, budget and the end of
  /// the notes (an intake message), "" when nothing is known.
  std::string lead_facts;
};

/// The row `campaign_lead_id` with its campaign, business and lead; nullopt
/// when there is none.
std::optional<outbound_target> load_outbound_target(db_tx& tx, std::int64_t id);

/// Twilio fetched the call's TwiML (the callee picked up): dialing →
/// answered, and the calls row exists (inserted when the dial's own insert
/// has not landed). Returns the new outcome, "" when unchanged.
std::string mark_outbound_answered(db_tx& tx, const outbound_target& t,
                                   const std::string& call_sid);

/// What to do with the live call after an AMD verdict.
enum class amd_action { none, leave_message, hang_up };

struct amd_decision {
  amd_action action = amd_action::none;
  std::string outcome; // the new outcome, "" when unchanged
};

/// Records AnsweredBy; a human (or an uncertain verdict with
/// `uncertain_is_human`) makes a dialing row answered; the end of a
/// machine's greeting (or an uncertain verdict otherwise) makes a live row
/// voicemail and says what the campaign wants done: leave voicemail_text
/// (a non-empty text with voicemail 'message') or hang up.
amd_decision apply_amd(db_tx& tx, const outbound_target& t, const amd_event& ev,
                       bool uncertain_is_human);

/// Twilio's status callback: the calls row like /webhook/call_status, and
/// on a final status the row's outcome (answered → completed; dialing →
/// busy, no_answer, failed, or completed; no_answer/busy/failed due again
/// after retry_after_min), its lease released. Returns the new outcome, ""
/// when unchanged.
struct status_decision {
  std::string outcome;     // "" when unchanged
  bool slot_freed = false; // a final status of the row's current call
};
status_decision apply_outbound_status(db_tx& tx, const outbound_target& t,
                                      const call_status_event& ev);

/// DTMF 9 in a follow-up call: `phone` goes on the business's
/// do-not-contact list (source dtmf) and the row becomes opted_out. True
/// when the row changed.
bool opt_out_by_dtmf(db_tx& tx, std::int64_t business,
                     std::int64_t campaign_lead_id, const std::string& phone);

/// The opening line of a follow-up call: who is calling, and how to opt
/// out, e.g. "שלום דנה, כאן משרד כהן נדל"ן. ... אם אינך מעוניין/ת שנתקשר
/// שוב, הקש/י 9."
std::string outbound_opening(const outbound_target& t);

/// The openai engine's prompt of a follow-up call: the campaign's, or for
/// speed-to-lead (and an empty prompt) a default about the lead's search.
std::string outbound_prompt(const outbound_target& t);

} // namespace al
