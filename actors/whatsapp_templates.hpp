#pragma once

// WhatsApp's 24-hour customer-care window and the templates a business
// registered (schemas/0021): the CRM's template list (GET/POST/DELETE
// /api/crm/whatsapp/templates), the window check the send chain makes
// before calling a provider, and the template lookups it uses. Pure DB
// functions that run inside a store job; every statement filters by
// business_id.

#include "actors/crm_queries.hpp"
#include "actors/store.hpp"
#include "core/whatsapp_wire.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace al {

/// {"items":[template...]} of the business, oldest first.
crm_reply list_wa_templates(db_tx& tx, std::int64_t business);

/// 201 with the stored template; 409 when the business has one of that
/// name.
crm_reply create_wa_template(db_tx& tx, std::int64_t business,
                             const wa_template& t);

/// 200 {"success":true}, or 404 "No such template".
crm_reply delete_wa_template(db_tx& tx, std::int64_t business, std::int64_t id);

/// The template JSON the API shows.
boost::json::object wa_template_json(const wa_template& t);

/// The business's template named `name`.
std::optional<wa_template> find_wa_template(db_tx& tx, std::int64_t business,
                                            const std::string& name);

/// The business's templates for `purpose`, oldest first.
std::vector<wa_template> wa_templates_for(db_tx& tx, std::int64_t business,
                                          const std::string& purpose);

/// True when `address` (whatsapp:+972...) wrote to the business within the
/// last wa_care_window, by the database's clock (one clock for every
/// instance).
bool wa_window_open(db_tx& tx, std::int64_t business,
                    const std::string& address);

/// Marks message `message_id` as sent with template `name`.
void set_wa_message_template(db_tx& tx, std::int64_t business,
                             std::int64_t message_id, const std::string& name);

/// The name of the business's lead with phone `e164` ("" when none).
std::string wa_lead_name(db_tx& tx, std::int64_t business,
                         const std::string& e164);

/// A call event `kind` (e.g. whatsapp_outside_window) with JSON `detail`,
/// numbered after the call actor's own events; nothing when the call is
/// unknown.
void record_wa_call_event(db_tx& tx, const std::string& call_sid,
                          const std::string& kind, const std::string& detail);

} // namespace al
