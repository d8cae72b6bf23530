#pragma once

// The queries behind /api/crm/*: pure DB functions run inside a store job
// (svc.db.run). Each takes the business it acts for and filters every
// statement by it, so no caller reaches another business's rows (those are
// "not found"). Each returns a crm_reply: the JSON to answer, or an error
// code + message that transport maps to 400/403/404/409/422 in one place.
// Input is already parsed and validated by core/crm_input.hpp; what needs
// the database (pipeline statuses, leads of the same business, phone
// uniqueness, budget_min <= budget_max after a patch) is checked here.

#include "actors/domain.hpp"
#include "actors/store.hpp"
#include "core/business_input.hpp"
#include "core/crm_input.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace al {

/// {"items":[...],"page":P,"per_page":N,"total":T}.
boost::json::object page_of(boost::json::array items, const page_params& p,
                            std::int64_t total);

// -- leads -------------------------------------------------------------------

crm_reply list_leads(db_tx& tx, std::int64_t business, const lead_filter& f);

/// 201 with the lead; 409 {"lead_id":N} when another lead has the phone;
/// 422 for a status outside the pipeline. `actor` goes to lead_history.
crm_reply create_lead(db_tx& tx, std::int64_t business, const lead_input& in,
                      const std::string& actor);

/// The lead with its status history.
crm_reply get_lead(db_tx& tx, std::int64_t business, std::int64_t id);

/// Applies a patch; a status change is kept in lead_history with `actor`.
crm_reply update_lead(db_tx& tx, std::int64_t business, std::int64_t id,
                      const lead_input& in, const std::string& actor);

/// Deletes the lead and erases, in the same transaction, what its calls
/// said: their audio (call_audio), transcript lines (call_events
/// 'transcript'/'transcript_gap') and summaries (summary, summary_fields).
crm_reply delete_lead(db_tx& tx, std::int64_t business, std::int64_t id);

/// The lead's WhatsApp messages, newest first.
crm_reply list_lead_messages(db_tx& tx, std::int64_t business,
                             std::int64_t lead, const page_params& p);

crm_reply list_notes(db_tx& tx, std::int64_t business, std::int64_t lead,
                     const page_params& p);

crm_reply add_note(db_tx& tx, std::int64_t business, std::int64_t lead,
                   const std::string& body, const std::string& author);

// -- calls -------------------------------------------------------------------

crm_reply list_calls(db_tx& tx, std::int64_t business, const call_filter& f);

/// The call with its ordered events, transcript lines (events of kind
/// "transcript"), audio segment links and recording link.
crm_reply get_call(db_tx& tx, std::int64_t business, const std::string& sid);

// -- appointments ------------------------------------------------------------

crm_reply list_appointments(db_tx& tx, std::int64_t business,
                            const appointment_filter& f);

crm_reply create_appointment(db_tx& tx, std::int64_t business,
                             const appointment_input& in);

crm_reply update_appointment(db_tx& tx, std::int64_t business, std::int64_t id,
                             const appointment_input& in);

// -- pipeline ----------------------------------------------------------------

/// The business's statuses in order (the defaults until the owner saves
/// its own).
std::vector<pipeline_status> pipeline_of(db_tx& tx, std::int64_t business);

crm_reply get_pipeline(db_tx& tx, std::int64_t business);

/// Replaces the pipeline; 409 when a removed status is still used by leads.
crm_reply put_pipeline(db_tx& tx, std::int64_t business,
                       const std::vector<pipeline_status>& statuses);

// -- tasks -------------------------------------------------------------------

crm_reply list_tasks(db_tx& tx, std::int64_t business, const task_filter& f);

crm_reply create_task(db_tx& tx, std::int64_t business, const task_input& in);

crm_reply update_task(db_tx& tx, std::int64_t business, std::int64_t id,
                      const task_input& in);

// -- the business itself -----------------------------------------------------

crm_reply get_business(db_tx& tx, std::int64_t business);

/// Saves an owner's settings patch (callers reject admin-only fields first),
/// with its audit row.
crm_reply patch_business(db_tx& tx, std::int64_t business,
                         const business_input& in, const audit_who& who);

} // namespace al
