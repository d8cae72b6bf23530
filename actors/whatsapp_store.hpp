#pragma once

// WhatsApp persistence: the messages table (SPEC §3) as seen by the webhook
// handlers and the conversation actors. Pure DB functions that run inside a
// store job (svc.db.run); every statement filters by business_id except the
// lookups whose purpose is to find the business (by our number, or by a
// provider's globally unique message id).

#include "actors/domain.hpp"
#include "actors/store.hpp"
#include "core/whatsapp_wire.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace al {

/// What the webhooks need of a business.
struct wa_business {
  std::int64_t id = default_business_id;
  std::string twilio_auth_token;    // "" = use the global token
  std::string working_hours = "{}"; // JSON text
  std::string after_hours_reply;    // "" = the default text
};

/// The business that owns our number `e164` (empty allowed): the one that
/// claims it in phone_numbers, else the one whose whatsapp_from is that
/// number, else the default business.
wa_business find_wa_business(db_tx& tx, const std::string& e164);

/// The business `id` (the default values when it does not exist).
wa_business load_wa_business(db_tx& tx, std::int64_t id);

/// How a business sends: its own settings, NULLs as "".
struct wa_sender {
  std::int64_t business_id = 0;
  std::string provider;    // businesses.whatsapp_provider
  std::string from;        // businesses.whatsapp_from
  std::string account_sid; // businesses.twilio_account_sid
  std::string auth_token;  // businesses.twilio_auth_token
};

/// nullopt when the business does not exist.
std::optional<wa_sender> load_wa_sender(db_tx& tx, std::int64_t business);

struct wa_stored_inbound {
  std::int64_t message_id = 0;
  std::int64_t lead_id = 0;
  std::size_t media = 0;        // message_media rows written (pending)
  bool opted_out = false;       // the text was an opt-out word (wa_is_opt_out)
  bool newly_opted_out = false; // ... and the number was not on the list
};

/// Stores an inbound message (direction in, status received; the body may
/// be empty when it only carries media) and makes the sender a lead of
/// `business` (source whatsapp, the profile name as name when the lead has
/// none); one pending message_media row per attachment; an opt-out word
/// puts the sender on the do-not-contact list (source whatsapp). nullopt
/// when this provider sid is already stored (a webhook delivered twice):
/// nothing changes then.
std::optional<wa_stored_inbound>
store_wa_inbound(db_tx& tx, std::int64_t business, const wa_inbound& in);

/// Applies a delivery-status report to the message with that provider sid
/// (never backwards, see wa_status_advances; an error code given is kept).
/// Returns the business of the message, or nullopt when no message has
/// that sid.
std::optional<std::int64_t> apply_wa_status(db_tx& tx,
                                            const wa_status_event& ev);

/// The business of the message with provider sid `sid`, if any.
std::optional<std::int64_t> wa_message_business(db_tx& tx,
                                                const std::string& sid);

/// A new outbound row (direction out, status queued) for lead `lead_id`.
/// Takes the conversation's row lock (schemas/0011): call it before any
/// statement that locks the lead, as store_wa_inbound does.
std::int64_t insert_wa_outbound(db_tx& tx, std::int64_t business,
                                std::optional<std::int64_t> lead_id,
                                const std::string& provider,
                                const std::string& from, const std::string& to,
                                const std::string& body, bool auto_reply);

/// Links message `message_id` to lead `lead_id`.
void set_wa_message_lead(db_tx& tx, std::int64_t business,
                         std::int64_t message_id, std::int64_t lead_id);

/// The URL of an outbound message's picture or document (messages.media_url).
void set_wa_message_media_url(db_tx& tx, std::int64_t business,
                              std::int64_t message_id, const std::string& url);

/// True when `e164` is on the business's do-not-contact list and the send
/// is marketing or a follow-up (fallback_purpose or template purpose
/// follow_up): such a send is refused (opted_out).
bool wa_follow_up_refused(db_tx& tx, std::int64_t business,
                          const std::string& e164,
                          const std::string& fallback_purpose,
                          const std::string& template_purpose);

/// Records what the provider said: status sent with the sid (unless a
/// status callback already moved it further), or failed with the error.
void finish_wa_outbound(db_tx& tx, std::int64_t business,
                        std::int64_t message_id, const wa_send_outcome& out);

/// Unix time of the last automatic reply to `to_address` (0 when none).
std::int64_t last_wa_auto_reply(db_tx& tx, std::int64_t business,
                                const std::string& to_address);

} // namespace al
