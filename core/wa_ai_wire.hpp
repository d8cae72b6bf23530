#pragma once

// The WhatsApp AI's wire format (SPEC §7 "WhatsApp conversations"), as pure
// functions: the chat-completions request a conversation sends (its system
// instructions, the history, the tools save_lead, search_listings,
// book_appointment and handoff) and a strict reading of what comes back
// (the reply's text, its tool calls with their JSON arguments, the finish
// reason, a provider's error body). Replies are hostile input: anything
// unexpected is an error value, never an exception. No I/O.

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace al {

/// One function call the model asked for.
struct wa_tool_call {
  std::string id;        // echoed in the tool message that answers it
  std::string name;      // save_lead | search_listings | ...
  std::string arguments; // a JSON object's text (checked by the tool)
};

/// One message of the conversation as the model sees it.
struct wa_chat_message {
  std::string role;         // system | user | assistant | tool
  std::string content;      // may be empty for an assistant's tool calls
  std::string tool_call_id; // role tool: the call it answers
  std::vector<wa_tool_call> tool_calls; // role assistant
};

/// The tools offered to the model (names).
inline constexpr std::string_view wa_tool_names[]
  = {"save_lead", "search_listings", "book_appointment", "handoff"};

/// The POST /chat/completions body: `model`, the messages in order, the
/// four tools (the call's definitions of save_lead, search_listings and
/// book_appointment, plus handoff) and, when `allow_tools` is false,
/// tool_choice "none" (the last round must answer in text).
std::string wa_chat_request(std::string_view model,
                            const std::vector<wa_chat_message>& messages,
                            bool allow_tools = true);

/// choices[0] of a completion.
struct wa_chat_reply {
  std::string content; // trimmed, "" when none
  std::vector<wa_tool_call> tool_calls;
  std::string finish_reason; // stop | tool_calls | length | ...
};

/// Limits on what a reply may carry.
inline constexpr std::size_t wa_max_reply_bytes = 1500; // text sent on
inline constexpr std::size_t wa_max_tool_calls = 8;     // per reply
inline constexpr std::size_t wa_max_arguments = 8192;   // bytes per call

/// Reads a 2xx completion body. Errors (short, never quoting the body):
/// not JSON (or invalid UTF-8), an error object, no choices, a message
/// that is neither text nor tool calls, a tool call without an id or with
/// a name that is not [A-Za-z0-9_-]{1,64}, arguments that are not a JSON
/// object text, too many calls. An unknown tool name is returned (the
/// caller answers it with an error, as the call does). A text longer than
/// wa_max_reply_bytes is cut on a UTF-8 boundary.
std::variant<wa_chat_reply, std::string>
parse_wa_chat_reply(std::string_view body);

/// A failed exchange for logs and the agent: "HTTP 503: <error.message>"
/// (the OpenAI error body's message, at most 200 bytes of valid UTF-8),
/// "HTTP 500" without one, or "transport: <error>" when no answer came.
std::string wa_chat_failure(int status, std::string_view body,
                            std::string_view transport_error);

/// What the system message is made of.
struct wa_ai_brief {
  std::string business_name;
  std::string prompt;         // the business's own ("" = a default)
  std::string office_context; // core/israel_time.hpp office_context_he
  std::string lead_facts;     // "שם: ..., עיר: ..." ("" = nothing known)
  bool can_hand_off = true;
};

/// The Hebrew instructions: the business prompt, the date and office
/// hours, the lead's known fields, and the rules (short replies, the
/// customer's language with Hebrew by default, never invent a fact or a
/// listing: only what search_listings returned, when to call each tool).
std::string wa_ai_system_prompt(const wa_ai_brief& b);

/// handoff {reason}: the reason (at most 300 bytes, may be empty); "" or an
/// error text for the model.
std::string wa_handoff_reason(std::string_view arguments, std::string& reason);

} // namespace al
