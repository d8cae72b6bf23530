#pragma once

// The do-not-contact list (schemas/0022): numbers that asked the office not
// to call or message them (WhatsApp הסר / STOP, DTMF 9 in a follow-up call,
// an agent). Every outbound dial and every marketing or follow-up send
// checks it right before it goes out. Pure DB functions run inside a store
// job; every statement filters by business_id. Numbers are E.164.

#include "actors/crm_queries.hpp"
#include "actors/store.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace al {

/// Where an entry came from (the `source` column).
enum class dnc_source { agent, whatsapp, dtmf, import, api };

std::string_view to_string(dnc_source s) noexcept;

/// True when `e164` is on the business's list.
bool dnc_contains(db_tx& tx, std::int64_t business, const std::string& e164);

/// Adds `e164`; true when it was not on the list before (an existing entry
/// keeps its first source and time).
bool dnc_add(db_tx& tx, std::int64_t business, const std::string& e164,
             dnc_source source, const std::string& note = {});

/// Removes `e164`; true when it was on the list.
bool dnc_remove(db_tx& tx, std::int64_t business, const std::string& e164);

/// {"items":[{"phone","source","note","created_at"}],"page","per_page",
/// "total"}, newest first.
crm_reply list_dnc(db_tx& tx, std::int64_t business, const page_params& p);

} // namespace al
