#pragma once

// Use cases of the business's outgoing webhooks (/api/crm/webhooks/*, SPEC
// §7 "After every call"): what was delivered or failed, a test event, and a
// retry of a failed delivery. Input is parsed and authorised by transport;
// each use case runs in one transaction (actors/webhook_outbox.hpp) and
// answers once through `done`. The deliverer is
// actors/webhook_delivery.hpp.

#include "actors/domain.hpp"
#include "core/crm_input.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace al::domain::webhooks {

/// {"items":[...],"page","per_page","total"}, newest first; `status`
/// (pending, delivered, failed) filters.
void deliveries(const store& db, scope s, std::optional<std::string> status,
                page_params pg, reply_fn done);

/// Queues a test event for `business`: 202 {"id":"evt_..."}; 404 "No such
/// business", 422 "No webhook_url set".
void send_test(const store& db, std::int64_t business, reply_fn done);

/// Failed delivery `id` of `business` back to pending: 202
/// {"id","status":"pending"}; 404 "No such delivery", 409 when it has not
/// failed.
void retry(const store& db, std::int64_t business, std::string id,
           reply_fn done);

} // namespace al::domain::webhooks
