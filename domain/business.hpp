#pragma once

// Use cases of the token's business (/api/crm/business, /api/crm/settings,
// /api/crm/audit): its settings, its uploaded greeting and its audit
// trail. Input is parsed and authorised by transport
// (core/business_input.hpp); each use case runs in one transaction and
// answers once through `done`.

#include "actors/domain.hpp"
#include "core/business_input.hpp"
#include "core/crm_input.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace al::domain::business {

/// The public view of the business (secrets only as "is set").
void get(const store& db, scope s, reply_fn done);

/// Saves an owner's settings patch (transport rejects admin-only fields
/// first), with its audit row.
void patch(const store& db, scope s, audit_who who, business_input in,
           reply_fn done);

/// The business's audit trail, newest first, as a CRM list; `action`
/// filters by exact action or by prefix when it ends with '.'.
void audit(const store& db, scope s, std::optional<std::string> action,
           page_params paging, reply_fn done);

/// Longest greeting recording a business may upload.
inline constexpr double max_greeting_seconds = 60;

/// Decodes `audio` (WAV, MP3, OGG, FLAC...; at most max_greeting_seconds)
/// to 8 kHz mu-law on the store worker and stores it as the greeting of
/// `business`: 200 {"success":true,"seconds":S}, audited as
/// "greeting_audio.set"; 404 "No such business" (checked whether or not
/// the audio decodes), else 400 "Unreadable audio: ..." when it does not.
void set_greeting_audio(const store& db, std::int64_t business, audit_who who,
                        std::string audio, reply_fn done);

/// Removes the uploaded greeting: 200 {"success":true} (audited as
/// "greeting_audio.clear" when there was one), 404 "No such business".
void clear_greeting_audio(const store& db, std::int64_t business, audit_who who,
                          reply_fn done);

} // namespace al::domain::business
