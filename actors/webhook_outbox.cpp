// TEMPORARY STUB (replaced by the webhook-outbox work): see webhook_outbox.hpp.
#include "actors/webhook_outbox.hpp"

namespace al {
std::string enqueue_webhook(db_tx&, std::int64_t, std::string_view,
                            const boost::json::object&) {
  return {};
}
} // namespace al
