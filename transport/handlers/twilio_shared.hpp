#pragma once

// What the Twilio voice webhooks of inbound calls (twilio_voice.cpp) and of
// follow-up calls (twilio_outbound.cpp) share: the signature check against
// the owning business's account and the <Connect><Stream> answer, so an
// outbound call runs on the same call actor and media path as an inbound
// one.

#include "actors/call_rows.hpp"
#include "core/form.hpp"
#include "transport/http_types.hpp"

#include <cstdint>
#include <string>

namespace al {

struct services;

/// True when the request carries a valid X-Twilio-Signature for the
/// business's own account `own`, else (no own account) the global one.
bool twilio_signed(const services& svc, const request& req,
                   const form_params& form, const call_twilio_account& own);

/// The account Twilio REST calls of that business use: its own when it has
/// both fields, else TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN.
call_twilio_account twilio_account_for(const services& svc,
                                       const call_twilio_account& own);

/// The <Connect><Stream> answer of a call (the recording fallback when the
/// stream parameters do not fit); `own_account`: the business's own stream
/// path, checked with its token.
std::string call_stream_twiml(services& svc, const std::string& call_sid,
                              std::int64_t business, bool own_account);

} // namespace al
