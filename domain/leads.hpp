#pragma once

// Use cases of a business's leads (/api/crm/leads): the leads themselves,
// their notes and their WhatsApp messages. Input is parsed and authorised
// by transport (core/crm_input.hpp); each use case runs one
// actors/crm_queries.hpp function in one transaction and answers once
// through `done`.

#include "actors/domain.hpp"
#include "core/crm_input.hpp"

#include <cstdint>
#include <string>

namespace al::domain::leads {

/// {"items":[...],"page","per_page","total"} of the leads `f` selects.
void list(const store& db, scope s, lead_filter f, reply_fn done);

/// 201 with the lead; 409 {"lead_id":N} when another lead has the phone;
/// 422 for a status outside the pipeline. `actor` goes to lead_history.
void create(const store& db, scope s, std::string actor, lead_input in,
            reply_fn done);

/// The lead with its status history, or 404.
void get(const store& db, scope s, std::int64_t id, reply_fn done);

/// Applies a patch; a status change is kept in lead_history with `actor`.
void update(const store& db, scope s, std::int64_t id, std::string actor,
            lead_input in, reply_fn done);

/// Deletes the lead and what its calls said; audited as "lead.delete" with
/// the id only (the lead's personal data is gone on purpose).
void remove(const store& db, scope s, audit_who who, std::int64_t id,
            reply_fn done);

/// The lead's notes, newest first.
void list_notes(const store& db, scope s, std::int64_t lead, page_params pg,
                reply_fn done);

/// 201 with the note; `author` is who wrote it.
void add_note(const store& db, scope s, std::int64_t lead, std::string author,
              std::string text, reply_fn done);

/// The lead's WhatsApp messages, newest first.
void list_messages(const store& db, scope s, std::int64_t lead, page_params pg,
                   reply_fn done);

} // namespace al::domain::leads
