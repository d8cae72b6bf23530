#pragma once

// What the `openai` engine's function tools do, for one call: save_lead
// (the caller's lead, through actors/leads.hpp and the CRM's update_lead),
// book_appointment (an appointments row for that lead), send_whatsapp (a
// text to the caller's number through the WhatsApp conversation actors).
// end_call is the engine's own business. Also the call's AI setup: the
// business's engine, prompt and what is known of the caller.

#include "actors/call.hpp"
#include "actors/engine.hpp"
#include "actors/store.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace al {

/// A business's voice settings and the caller's known details.
struct ai_setup {
  bool openai = false; // the call should use the openai engine
  std::string engine = "auto"; // businesses.voice_engine
  std::string voice;           // businesses.voice ("" = OPENAI_VOICE)
  std::string working_hours = "{}"; // JSON text
  std::vector<std::string> transfer_numbers;
  int ring_timeout_s = 20;
  std::string lead_name;       // "" = not known
  std::string business_name;
  std::string prompt;
  std::string greeting;
  std::string lead_facts; // "שם: ..., עיר: ..." ("" = nothing known)
  std::string listing;    // JSON of the listing whose number was dialed
};

using ai_setup_ptr = std::shared_ptr<const ai_setup>;

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

/// After the call: see actors/after_call.hpp (a durable job writes the
/// transcript, the summary and the lead's fields for every call).

} // namespace al

#include <caf/allowed_unsafe_message_type.hpp>
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(al::ai_setup_ptr)
