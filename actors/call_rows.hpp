#pragma once

// The calls, call_events and call_segments tables (schemas/0003) as the
// Twilio voice webhooks and the call actors use them. Pure functions that
// run inside a store job (svc.db.run / svc.db.write); the SQL is in
// call_rows.cpp as named prepared statements (actors/sql.hpp).

#include "actors/store.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace pqxx {
class row;
} // namespace pqxx

namespace boost::json {
class object;
} // namespace boost::json

namespace al {

/// A call as the CRM API and the live feed show it: sid, from, to, status,
/// engine, lead_id and ended_normally, read from the first seven columns of
/// `r` (call_sid, from_number, to_number, status, engine, lead_id,
/// ended_normally); the caller adds its own fields.
boost::json::object call_head_json(const pqxx::row& r);

/// A business's own Twilio account; both empty when it has none (the
/// global account applies then).
struct call_twilio_account {
  std::string account_sid;
  std::string auth_token;
};

/// What incoming_call needs of the business that owns the called number
/// (the default business when no business claims it).
struct incoming_business {
  std::int64_t id = 1;
  call_twilio_account twilio;
  std::string greeting;
  std::optional<long> max_live_calls; // the business's own cap, if any
  long live_calls = 0;                // its calls in progress now
  std::string voice_engine = "auto";  // auto | local | openai
  std::string voice;                  // AI voice; "" = OPENAI_VOICE
  std::int64_t greeting_rev = 0;      // bumped on greeting/voice changes
  bool has_transfer = false;          // transfer numbers configured
  std::string name;
  bool record_calls = true; // whole-call recording + notice
};

/// The same, by id (a call revived on an instance that did not answer its
/// webhook); nullopt for an unknown business.
std::optional<incoming_business> find_business_by_id(db_tx& tx,
                                                     std::int64_t id);

/// The business's uploaded greeting (8 kHz mu-law), if any.
std::optional<std::string> uploaded_greeting(db_tx& tx, std::int64_t business);

/// Speech rendered by the AI voice under `key`, if stored.
std::optional<std::string> rendered_speech(db_tx& tx, const std::string& key);

/// nullopt only when even the default business is missing.
std::optional<incoming_business> find_incoming_business(db_tx& tx,
                                                        const std::string& to);

/// A new `ringing` row (nothing when the call sid is known already).
void insert_ringing_call(db_tx& tx, std::int64_t business,
                         const std::string& call_sid, const std::string& from,
                         const std::string& to);

/// The same, for the business that owns `to` (queued while the database
/// was away, so the business was not known then).
void insert_ringing_call_for_number(db_tx& tx, const std::string& call_sid,
                                    const std::string& from,
                                    const std::string& to);

/// A transfer the call actor asked for, not yet dialed.
struct pending_transfer {
  std::string transfer_json; // {"numbers":[...],"ring_timeout_s":N}
  std::string from;          // the caller (callerId of the <Dial>)
  std::string to;            // the number the caller dialed
};

/// The call's transfer when it ended for one and was not dialed yet.
std::optional<pending_transfer>
call_pending_transfer(db_tx& tx, const std::string& call_sid);

/// The call ends its stream to be transferred: store where to (and that it
/// ended normally, so the <Connect action> answers with the <Dial>).
void mark_call_transfer(db_tx& tx, const std::string& call_sid,
                        const std::string& transfer_json);

/// The <Dial>'s DialCallStatus (completed, no-answer, busy, ...).
void set_call_transfer_status(db_tx& tx, const std::string& call_sid,
                              const std::string& status);

/// The Twilio account of the call's business; nullopt for an unknown call.
/// The business's own Twilio account (empty fields: none); nullopt for an
/// unknown business.
std::optional<call_twilio_account> business_account(db_tx& tx,
                                                    std::int64_t business);

std::optional<call_twilio_account> call_account(db_tx& tx,
                                                const std::string& call_sid);

/// What a call actor loads when it starts without its info (a restart on
/// another path): nullopt for an unknown call.
struct call_row_info {
  std::int64_t business_id = 0;
  std::string from;
  std::string to;
  std::string greeting;
  bool record_calls = true; // the business's setting
};
std::optional<call_row_info> load_call_row(db_tx& tx,
                                           const std::string& call_sid);

/// The stream started: in-progress with the stream sid. Returns the
/// business, nullopt for an unknown call.
std::optional<std::int64_t> mark_call_streaming(db_tx& tx,
                                                const std::string& call_sid,
                                                const std::string& stream_sid);

void set_call_lead(db_tx& tx, const std::string& call_sid,
                   std::int64_t lead_id);
void set_call_engine(db_tx& tx, const std::string& call_sid,
                     const std::string& engine);

/// The dialogue ended normally: completed, and the lead gets the deal type
/// and callback time heard (empty = unchanged).
void mark_call_completed(db_tx& tx, const std::string& call_sid,
                         const std::string& reason, const std::string& deal,
                         const std::string& callback);

/// The stream ended before the dialogue did: `status` (completed when the
/// caller hung up, else dropped) unless it had ended normally; the deal
/// heard so far goes to the lead (empty = unchanged).
void mark_call_ended_early(db_tx& tx, const std::string& call_sid,
                           const std::string& status, const std::string& reason,
                           const std::string& deal);

/// `status` with `reason` unless the call ended normally (watchdog
/// redirect, crash-loop give-up).
void mark_call_unfinished(db_tx& tx, const std::string& call_sid,
                          const std::string& status, const std::string& reason);

/// True when the call's dialogue ended normally (false for unknown calls).
bool call_ended_normally(db_tx& tx, const std::string& call_sid);

/// stream_ended after an early drop: the call goes to the fallback.
void mark_call_fallback(db_tx& tx, const std::string& call_sid);

/// Twilio's call status callback (never moves an ended call back to
/// in-progress; a final status sets ended_at once).
void apply_call_status(db_tx& tx, const std::string& call_sid,
                       const std::string& status);

/// The recording's URL; returns the call's business account (nullopt for
/// an unknown call).
std::optional<call_twilio_account>
set_call_recording_url(db_tx& tx, const std::string& call_sid,
                       const std::string& url);

void set_call_recording_path(db_tx& tx, const std::string& call_sid,
                             const std::string& path);

/// An ordered event row (idempotent by (call_sid, kind, seq)); `detail` is
/// JSON text.
void insert_call_event(db_tx& tx, const std::string& call_sid, std::int64_t seq,
                       const std::string& kind, const std::string& detail);

/// A Twilio stream-status event (numbered after the actor's own events).
void insert_stream_status_event(db_tx& tx, const std::string& call_sid,
                                const std::string& detail);

/// A caller audio segment written to RECORDINGS_DIR.
void insert_call_segment(db_tx& tx, const std::string& call_sid,
                         std::int64_t seq, const std::string& path,
                         int duration_ms);

} // namespace al
