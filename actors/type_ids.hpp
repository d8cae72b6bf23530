#pragma once

// The service's atoms and its common type-ID block. Message types are
// registered per area, each block in its protocol header with its own range:
//
//   al           first_custom_type_id + 0    atoms (below), supervision
//   al_call      first_custom_type_id + 100  actors/call_protocol.hpp
//   al_payment   first_custom_type_id + 200  actors/payment_protocol.hpp
//   al_whatsapp  first_custom_type_id + 300  actors/whatsapp_protocol.hpp
//   al_jobs      first_custom_type_id + 400  actors/job_protocols.hpp
//
// IDs are relative to their block's start, so include order does not
// matter. Every block is registered by add_message_types()
// (actors/message_types.hpp), in the application and in every actor test.
// A registered type has an `inspect` overload; a shared pointer to an
// object that only lives in this process (a socket's sink, a voice pack, a
// store job's closure) is declared CAF_ALLOW_UNSAFE_MESSAGE_TYPE beside its
// protocol instead, with the reason.

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

// -- background jobs
CAF_ADD_ATOM(al, al, tick_atom, "tick")
CAF_ADD_ATOM(al, al, wake_atom, "wake")
CAF_ADD_ATOM(al, al, read_atom, "read")
CAF_ADD_ATOM(al, al, ready_atom, "ready")
CAF_ADD_ATOM(al, al, retry_atom, "retry")
CAF_ADD_ATOM(al, al, restart_atom, "restart")
CAF_ADD_ATOM(al, al, finished_atom, "finished")
CAF_ADD_ATOM(al, al, purge_atom, "purge")
CAF_ADD_ATOM(al, al, import_atom, "import")
CAF_ADD_ATOM(al, al, now_atom, "now")

// -- whatsapp conversations (actors/whatsapp_protocol.hpp)
CAF_ADD_ATOM(al, al, wa_accept_atom, "wa_accept")
CAF_ADD_ATOM(al, al, wa_submit_atom, "wa_submit")
CAF_ADD_ATOM(al, al, wa_loaded_atom, "wa_loaded")
CAF_ADD_ATOM(al, al, wa_done_atom, "wa_done")
CAF_ADD_ATOM(al, al, wa_ai_done_atom, "wa_ai_done")

CAF_END_TYPE_ID_BLOCK(al)
