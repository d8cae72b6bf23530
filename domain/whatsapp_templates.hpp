#pragma once

// Use cases of the WhatsApp templates a business registered with its
// provider (/api/crm/whatsapp/templates, SPEC §7), for sends outside the
// 24-hour window. Input is parsed (core/whatsapp_wire) and authorised by
// transport; each use case runs in one transaction and answers once
// through `done`.

#include "actors/audit.hpp"
#include "actors/domain.hpp"
#include "actors/store.hpp"
#include "core/whatsapp_wire.hpp"

#include <cstdint>

namespace al::domain::whatsapp_templates {

/// {"items":[template...]}, oldest first.
void list(const store& db, scope s, reply_fn done);

/// 201 with the stored template, or 409 when the business has one of that
/// name; audited as "whatsapp_template.create".
void create(const store& db, scope s, audit_who who, wa_template t,
            reply_fn done);

/// 200 {"success":true}, or 404 "No such template"; audited as
/// "whatsapp_template.delete". The business is not checked to exist: a
/// missing business has no such template.
void remove(const store& db, std::int64_t business, audit_who who,
            std::int64_t id, reply_fn done);

} // namespace al::domain::whatsapp_templates
