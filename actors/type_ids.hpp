#pragma once

// The one type-ID block of the service: every atom and message type.
// Registered in app/main.cpp with cfg.add_message_types<caf::id_block::al>().

#include <caf/type_id.hpp>

#include <cstdint>
#include <string>

CAF_BEGIN_TYPE_ID_BLOCK(al, caf::first_custom_type_id)

  // -- supervision
  CAF_ADD_ATOM(al, al, spawn_atom, "spawn")
  CAF_ADD_ATOM(al, al, stop_atom, "stop")
  CAF_ADD_ATOM(al, al, lookup_atom, "lookup")

  // -- calls
  CAF_ADD_ATOM(al, al, attach_atom, "attach")
  CAF_ADD_ATOM(al, al, audio_atom, "audio")
  CAF_ADD_ATOM(al, al, speech_atom, "speech")
  CAF_ADD_ATOM(al, al, mark_atom, "mark")
  CAF_ADD_ATOM(al, al, dtmf_atom, "dtmf")
  CAF_ADD_ATOM(al, al, hangup_atom, "hangup")
  CAF_ADD_ATOM(al, al, timeout_atom, "timeout")
  CAF_ADD_ATOM(al, al, played_atom, "played")
  CAF_ADD_ATOM(al, al, ai_event_atom, "ai_event")
  CAF_ADD_ATOM(al, al, ai_timer_atom, "ai_timer")
  CAF_ADD_ATOM(al, al, silence_atom, "silence")
  CAF_ADD_ATOM(al, al, transfer_atom, "transfer")

  // -- whatsapp / payments
  CAF_ADD_ATOM(al, al, send_atom, "send")
  CAF_ADD_ATOM(al, al, inbound_atom, "inbound")
  CAF_ADD_ATOM(al, al, create_atom, "create")
  CAF_ADD_ATOM(al, al, result_atom, "result")
  CAF_ADD_ATOM(al, al, idle_atom, "idle")

CAF_END_TYPE_ID_BLOCK(al)
