#pragma once

// The owner's overview (GET /api/crm/stats): calls per Israel day by
// outcome, busiest hours, leads by source and pipeline stage, appointments
// this week, payments this month. A pure DB function run inside a store job
// (svc.db.run); every number is computed by PostgreSQL in named prepared
// statements (stats.cpp), each filtered by the business.
//
// A call's outcome, from its row (schemas/0003, 0012; written by
// actors/call_rows.cpp), first match wins:
//   transferred  a transfer to a person was dialed and answered, or is
//                still ringing (`transfer` set, `transfer_status` NULL or
//                completed/answered)
//   voicemail    the caller was sent to the recording fallback: a recording
//                was left (`recording_url`), a transfer nobody answered,
//                status fallback/transfer_missed, or the dialogue ended
//                early for another reason than the caller hanging up
//                (`end_reason` of a stream drop, a crash loop or the
//                no-stream watchdog: each ends in the <Record> fallback)
//   missed       Twilio's busy/no-answer/canceled/failed, or the media
//                stream never started (the caller never heard the
//                greeting; a call still ringing counts here until its
//                stream starts, a second or two)
//   ai_handled   the rest: the AI (or the scripted dialogue) talked with
//                the caller, including calls in progress now
// So the four add up to the total. Calls refused over MAX_LIVE_CALLS get a
// voicemail <Record> without a calls row and are not counted.

#include "actors/crm_queries.hpp"
#include "actors/store.hpp"
#include "core/stats_input.hpp"

#include <cstdint>

namespace al {

/// {"from","to","calls":{"total","by_day":[...],"by_hour":[24]},
/// "leads":{"total","by_source":{...},"funnel":[...]},
/// "appointments":{"this_week","upcoming"},
/// "payments":{"this_month":{"count","paid_minor","currency"},"pending"},
/// "speed_to_lead":null} (docs/api.md, GET /api/crm/stats).
crm_reply business_stats(db_tx& tx, std::int64_t business,
                         const stats_range& range);

} // namespace al
