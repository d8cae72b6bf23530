#pragma once

// Post-call and lead webhooks through a durable outbox (SPEC §7 "After
// every call"): events are rows written in the same transaction as the
// change they report; a delivery actor signs and posts them.

#include "actors/store.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace al {

/// Queues `event` ("call.completed", "lead.created", "message.received",
/// "payment.paid", "test") with `data` for the business's webhook, in the
/// caller's transaction `tx`. A business without a webhook_url queues
/// nothing and gets "". Returns the event's stable id otherwise.
std::string enqueue_webhook(db_tx& tx, std::int64_t business,
                            std::string_view event,
                            const boost::json::object& data);

} // namespace al
