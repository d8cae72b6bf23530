#pragma once

// Use cases of the do-not-contact list (/api/crm/dnc, SPEC §7 "Follow-up
// calls"). Input is parsed and authorised by transport; each use case runs
// in one transaction and answers once through `done`.

#include "actors/dnc.hpp"
#include "actors/domain.hpp"

#include <string>

namespace al::domain::dnc {

/// {"items":[...],"page","per_page","total"}, newest first.
void list(const store& db, scope s, page_params pg, reply_fn done);

/// 201 {"phone","added":true}, or 200 with "added":false when the number
/// was already on the list; audited as "dnc.add".
void add(const store& db, scope s, audit_who who, std::string e164,
         dnc_source source, std::string note, reply_fn done);

/// 200 {"success":true}, or 404 when the number is not on the list;
/// audited as "dnc.remove".
void remove(const store& db, scope s, audit_who who, std::string e164,
            reply_fn done);

} // namespace al::domain::dnc
