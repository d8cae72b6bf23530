#pragma once

// Leads shared by every channel. The voice and WhatsApp paths find or create
// the lead of a caller/sender with upsert_lead_by_phone, so one person who
// arrives by call and by WhatsApp is one lead of the business (the phone is
// unique per business). Pure DB functions: they run inside a store job.

#include "actors/store.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace al {

/// The key of the business's first pipeline status, where new leads start
/// ("new" while the business keeps the default pipeline).
std::string initial_lead_status(db_tx& tx, std::int64_t business);

/// Finds the lead of `business` with phone `e164`, or creates it (source
/// `source`, name `name_if_empty`, the initial status, with a lead_history
/// row by "system"). An existing lead keeps its source and status; its name
/// is set to `name_if_empty` only when it has none. Its updated_at is
/// touched. Returns the lead id. Safe against concurrent callers (one row).
/// Preconditions: `e164` is normalised (core/phone.hpp normalize_phone),
/// `source` is "call", "whatsapp" or "manual"; otherwise throws
/// std::invalid_argument.
std::int64_t
upsert_lead_by_phone(db_tx& tx, std::int64_t business, const std::string& e164,
                     std::string_view source, std::string_view name_if_empty);

} // namespace al
