#pragma once

// What the `openai` engine's function tools do, for one call: save_lead
// (the caller's lead, through actors/leads.hpp and the CRM's update_lead),
// book_appointment (an appointments row for that lead), send_whatsapp (a
// text to the caller's number through the WhatsApp conversation actors).
// end_call is the engine's own business. Also the call's AI setup: the
// business's engine, prompt and what is known of the caller.

#include "actors/call.hpp"
#include "actors/engine.hpp"
#include "actors/listings.hpp"
#include "actors/store.hpp"
#include "core/crm_input.hpp"
#include "core/realtime_wire.hpp"

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace al {

/// A business's voice settings and the caller's known details.
struct ai_setup {
  bool openai = false;              // the call should use the openai engine
  std::string engine = "auto";      // businesses.voice_engine
  std::string voice;                // businesses.voice ("" = OPENAI_VOICE)
  std::string working_hours = "{}"; // JSON text
  std::vector<std::string> transfer_numbers;
  int ring_timeout_s = 20;
  std::string lead_name; // "" = not known
  std::string business_name;
  std::string prompt;
  std::string greeting;
  std::string lead_facts; // "שם: ..., עיר: ..." ("" = nothing known)
  std::string listing;    // JSON of the listing whose number was dialed
};

// ai_setup_ptr, a message to the call actor, is declared with its protocol
// (actors/call_protocol.hpp).

/// Reads the setup of `business` for a caller `from` (raw Twilio From).
/// `to` is the number the caller dialed: a listing's tracking number puts
/// that listing into the setup.
ai_setup load_ai_setup(db_tx& tx, std::int64_t business,
                       const std::string& from, const std::string& to = {});

/// The lead of the call: the caller's (by phone, created when new), else
/// the one linked to the call, else a new one; linked to the call.
std::int64_t call_lead(db_tx& tx, std::int64_t business,
                       const std::string& call_sid, const std::string& from);

/// Runs `call` for the call `info` and answers `done` exactly once, from
/// some thread, with the JSON text for the model ({"ok":true,...} or
/// {"ok":false,"error":"..."}). Never throws.
void run_call_tool(const call_env& env, const call_info& info, tool_call call,
                   std::function<void(std::string output)> done);

// -- the tools' work, shared by the call and the WhatsApp conversation's AI
// (actors/whatsapp_ai.cpp), so both check arguments, slots and leads alike.
// The DB functions run inside a store job; outputs are the JSON for the
// model ({"ok":true,...} or {"ok":false,"error":"..."}).

/// {"ok":false,"error":msg}.
std::string ai_tool_error(std::string_view msg);

/// save_lead's arguments as a CRM lead patch and notes to append.
struct ai_lead_patch {
  lead_input in;
  bool patch = false; // `in` holds fields
  std::string notes;
};

/// "" or an error text for the model.
std::string parse_ai_lead_patch(std::string_view arguments, ai_lead_patch& out);

/// Applies `p` to lead `lead` (update_lead as actor "ai", notes appended).
std::string save_ai_lead(db_tx& tx, std::int64_t business, std::int64_t lead,
                         const ai_lead_patch& p);

/// book_appointment's arguments and the instant they name; "" or an error.
std::string parse_ai_booking(std::string_view arguments, appointment_args& args,
                             std::time_t& when);

/// What a booking found, for the model and the confirmation.
struct ai_booking {
  std::string output;
  std::time_t starts_at = 0;
  std::string address;
  bool booked = false;
};

/// The lead a booking is for, asked only once the slot is free.
using ai_lead_fn = std::function<std::int64_t(db_tx&)>;

/// Books [when, +60 min) for the lead: a past time, a time outside the
/// working hours or on a closure day, or a taken slot answers
/// {"ok":false,"error","reason","alternatives":[ISO-8601...]}.
ai_booking book_ai_appointment(db_tx& tx, std::int64_t business,
                               const ai_lead_fn& lead_of,
                               const appointment_args& args, std::time_t when);

/// search_listings's arguments; nullopt when they are not a JSON object
/// (unusable fields are dropped).
std::optional<listing_query> parse_ai_listing_query(std::string_view arguments);

/// After the call: see actors/after_call.hpp (a durable job writes the
/// transcript, the summary and the lead's fields for every call).

} // namespace al
