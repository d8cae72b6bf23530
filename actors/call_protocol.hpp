#pragma once

// The typed protocol of the call actor (actors/call.hpp) and of what talks
// to it (the media socket, the store jobs it runs, the OpenAI engine's link
// and tools): its typed_actor interface and the type-ID block al_call of the
// message types it carries (actors/type_ids.hpp lists the ranges).
//
//   from the media socket (transport/media_session.cpp), in order:
//     (attach_atom, stream_sid, media_sink_ptr, greeting_mark)  the stream
//                          started (the call_manager delivers it as the
//                          spawn's message); greeting_mark: the socket is
//                          already playing the greeting under this mark
//                          (first_utterance_mark), "" when it is not
//     (audio_atom, mu-law batch)  caller audio, ~100 ms
//     (speech_atom, started)      the socket's VAD: speech began / ended
//     (mark_atom, name)           Twilio played an utterance to its mark
//     (dtmf_atom, digit)          the caller pressed a key
//     (hangup_atom, reason)       the stream ended ("stop": the caller)
//   from the actor's own store jobs, tools and the OpenAI link:
//     (result_atom, call_info)    the calls row (and voice pack) was read
//     (ai_event_atom, ai_setup_ptr)  the business's engine settings
//     (ai_event_atom, call_ai_event)  the Realtime link or a tool reports
//     (transfer_atom, call_id, arguments)  the model's transfer_call
//   timers, sent to itself on the actor clock:
//     (silence_atom, token)       the caller stayed silent
//     (ai_timer_atom, token)      an engine_host::schedule timer
//     (timeout_atom, deadline_ns) a start watchdog step

#include "actors/supervisor.hpp"
#include "actors/type_ids.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/detail/implicit_conversions.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/response_type.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace al {

class media_sink;       // actors/media_sink.hpp
struct voice_pack;      // actors/voice_cache.hpp
struct ai_setup;        // actors/call_tools.hpp
struct call_checkpoint; // actors/call.hpp

using media_sink_ptr = std::shared_ptr<media_sink>;
using voice_pack_ptr = std::shared_ptr<const voice_pack>;
using ai_setup_ptr = std::shared_ptr<const ai_setup>;
using call_checkpoint_ptr = std::shared_ptr<call_checkpoint>;

/// Who the call is for; loaded from the calls row when not given.
struct call_info {
  std::string call_sid;
  std::int64_t business_id = 0;
  std::string from;
  std::string to;
  voice_pack_ptr voice;
  /// The business's record_calls: the whole call is recorded and a notice
  /// follows the greeting.
  bool record_calls = true;
  /// A follow-up call we placed (actors/outbound_call.hpp): its
  /// campaign_leads row and lead; 0 for an inbound call. `from` is then the
  /// lead's number (the other party, as on an inbound call) and `to` the
  /// business's; DTMF 9 opts the number out.
  std::int64_t campaign_lead_id = 0;
  std::int64_t lead_id = 0;
  /// The openai engine's prompt for it and what is known of the lead.
  std::string outbound_prompt{};
  std::string outbound_facts{};
};

/// What the openai engine's link and its tools report to the call actor
/// (from an I/O or a store thread, as a plain value).
struct call_ai_event {
  enum class kind_t : std::int32_t {
    link_open,    // the Realtime WebSocket is open
    link_message, // `text`: one server event (JSON)
    link_closed,  // `text`: why (also a failed connect)
    tool_result,  // `text`: the tool's call_id, `extra`: its output
  };
  kind_t kind = kind_t::link_open;
  std::string text;
  std::string extra;
};

inline std::string to_string(call_ai_event::kind_t x) {
  switch (x) {
    case call_ai_event::kind_t::link_open:
      return "link_open";
    case call_ai_event::kind_t::link_message:
      return "link_message";
    case call_ai_event::kind_t::link_closed:
      return "link_closed";
    case call_ai_event::kind_t::tool_result:
      return "tool_result";
  }
  return "unknown";
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_ai_event& x) {
  return f(caf::meta::type_name("call_ai_event"), x.kind, x.text, x.extra);
}

} // namespace al

CAF_BEGIN_TYPE_ID_BLOCK(al_call, caf::first_custom_type_id + 100)

CAF_ADD_TYPE_ID(al_call, (al::call_ai_event))

CAF_END_TYPE_ID_BLOCK(al_call)

// Pointers to objects that only live in this process: they pass between the
// threads of one process and are never serialised.
//
// The media socket's sink: a handle on a live Beast WebSocket.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(al::media_sink_ptr)
// The business's engine settings, read by a store job for this call.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(al::ai_setup_ptr)
// Its value fields would serialise, but its voice pack (the whole call's
// audio, an entry of this process's voice_cache) would not, and a call
// without it cannot say a word: call_info stays in this process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(al::call_info)
// The call's state, shared by every incarnation of its actor (it holds the
// call_info above and the live recorder): the call_manager's spawn request.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(al::call_checkpoint_ptr)

namespace al {

/// The call actor's interface, checked by the compiler (see the list at the
/// top). Its manager keeps it as a caf::actor (make_call_spec); whoever
/// gets it back from the call_manager actor_casts it to call_actor.
using call_actor = caf::typed_actor<
  caf::reacts_to<result_atom, call_info>,
  caf::reacts_to<attach_atom, std::string, media_sink_ptr, std::string>,
  caf::reacts_to<audio_atom, std::string>, caf::reacts_to<speech_atom, bool>,
  caf::reacts_to<mark_atom, std::string>,
  caf::reacts_to<dtmf_atom, std::string>,
  caf::reacts_to<hangup_atom, std::string>,
  caf::reacts_to<ai_event_atom, ai_setup_ptr>,
  caf::reacts_to<ai_event_atom, call_ai_event>,
  caf::reacts_to<transfer_atom, std::string, std::string>,
  caf::reacts_to<silence_atom, std::uint64_t>,
  caf::reacts_to<ai_timer_atom, std::uint64_t>,
  caf::reacts_to<timeout_atom, std::int64_t>>;

/// The mark of a call's first utterance (the actor numbers them u1, u2,
/// ...): the greeting when the media socket starts it itself at `start`
/// (transport/early_greetings.hpp).
constexpr const char first_utterance_mark[] = "u1";

/// The call_manager: (spawn_atom, call_checkpoint_ptr[, caf::message])
/// finds the call's actor (keyed by call_key(call_sid)) or starts it from
/// the checkpoint; spawn_call_manager (actors/call.hpp) builds it.
using call_manager_actor = manager_actor<call_checkpoint_ptr>;

/// A message of call_actor's interface built before its receiver is known:
/// the call_manager's (spawn_atom, call_checkpoint_ptr, caf::message) first
/// message,
/// or what a socket holds until its actor binds. Anything else does not
/// compile.
template <class... Ts>
caf::message make_call_message(Ts&&... xs) {
  using input = caf::detail::type_list<caf::detail::strip_and_convert_t<Ts>...>;
  static_assert(caf::response_type_unbox<call_actor::signatures, input>::valid,
                "not a message of call_actor's interface");
  return caf::make_message(std::forward<Ts>(xs)...);
}

} // namespace al
