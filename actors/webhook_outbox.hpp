#pragma once

// Post-call and lead webhooks through a durable outbox (SPEC §7 "After
// every call"): events are rows written in the same transaction as the
// change they report; a delivery actor (actors/webhook_delivery.hpp) signs
// and posts them. schemas/0020_webhooks.sql has the table.
//
// The body of every event is
//   {"id":"evt_...","event":"...","business_id":N,"created_at":"...Z","data":{...}}
// serialised once, at enqueue time: the stored text is exactly what is
// signed and sent, on every attempt.

#include "actors/store.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <optional>
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

/// True when the business has a webhook_url (events would be queued).
bool webhook_configured(db_tx& tx, std::int64_t business);

/// lead.created for lead `lead` (data: id, name, phone, source, status,
/// created_at). Call it only where the row was just inserted.
std::string enqueue_lead_created(db_tx& tx, std::int64_t business,
                                 std::int64_t lead);

/// message.received for stored inbound message `message` (data: id,
/// lead_id, from, body, provider, received_at).
std::string enqueue_message_received(db_tx& tx, std::int64_t business,
                                     std::int64_t message);

/// payment.paid for payment `payment`, just moved to paid (data: id,
/// lead_id, amount, currency, provider, status, paid_at).
std::string enqueue_payment_paid(db_tx& tx, std::int64_t business,
                                 std::int64_t payment);

// -- waking the deliverers of this process ------------------------------------

/// Registers `wake`, called (from whatever thread enqueues, possibly before
/// the transaction commits) each time an event is queued in this process.
/// Returns a handle for remove_webhook_waker. `wake` must not block.
int add_webhook_waker(std::function<void()> wake);
void remove_webhook_waker(int handle);

/// Calls every registered waker (enqueue_webhook does it).
void wake_webhook_deliverers();

// -- the CRM's view
// ------------------------------------------------------------

/// GET /api/crm/webhooks/deliveries: {"items":[{id,event,status,attempts,
/// last_status,last_error,created_at,next_attempt_at,delivered_at}],
/// "page","per_page","total"}, newest first.
boost::json::object
list_webhook_deliveries(db_tx& tx, std::int64_t business,
                        const std::optional<std::string>& status,
                        std::int64_t page, std::int64_t per_page);

enum class webhook_retry_result { queued, missing, not_failed };

/// A failed delivery back to pending: due now, attempts kept, a new give-up
/// window from now.
webhook_retry_result retry_webhook(db_tx& tx, std::int64_t business,
                                   const std::string& id);

} // namespace al
