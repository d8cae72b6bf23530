#pragma once

// Use cases of follow-up calls' Twilio webhooks (SPEC §7 "Follow-up
// calls"), each for one campaign_leads row (?cl=ID, parsed by transport):
// the row is loaded and the signature checked with the account of the
// business that owns it (the global one for an unknown row), then the
// webhook's work runs in the same transaction. Each answers once through
// `done`, from a store thread; forbidden when the signature failed,
// unavailable/internal when the database did.

#include "actors/call.hpp"
#include "actors/domain.hpp"
#include "actors/outbound_call.hpp"
#include "actors/store.hpp"
#include "actors/voice_cache.hpp"
#include "core/twilio_calls_wire.hpp"
#include "domain/calls.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace al::domain::followup {

using calls::signed_by;

/// The row a webhook names; nullopt when there is none.
struct row_result {
  domain_status status;
  std::optional<outbound_target> target;
};

/// Only the signature (a request whose form lacks what its route needs is
/// refused after it).
void verify(const store& db, std::int64_t row, signed_by check,
            std::function<void(row_result)> done);

/// /webhook/outbound_call: the callee answered.
struct answer_result {
  domain_status status;
  /// No such row, not a call sid, or the number opted out since the dial.
  bool hang_up = false;
  std::string outcome;   // "answered" when the row moved, "" when not
  std::string own_token; // the business's own auth token ("" = global)
  /// Who the call actor is for: the lead, the business, the campaign's
  /// prompt, and the business's voice pack with the opening line as its
  /// greeting (a copy: the cached pack stays the inbound greeting).
  call_info call;
};

/// The row moves to answered (and has its calls row); the voice comes from
/// `env->load_voice` (else the cached pack of the business).
void answer(const store& db, voice_cache& voices,
            std::shared_ptr<const call_env> env, std::int64_t row,
            std::string call_sid, signed_by check,
            std::function<void(answer_result)> done);

/// /webhook/amd_status: the AMD verdict applied to the row.
struct amd_result {
  domain_status status;
  std::optional<outbound_target> target;
  amd_decision decision;
};

void amd(const store& db, std::int64_t row, amd_event event,
         bool uncertain_is_human, signed_by check,
         std::function<void(amd_result)> done);

/// /webhook/outbound_status: the call's progress applied to the row.
struct progress_result {
  domain_status status;
  std::optional<outbound_target> target;
  status_decision decision;
};

void progress(const store& db, std::int64_t row, call_status_event event,
              signed_by check, std::function<void(progress_result)> done);

} // namespace al::domain::followup
