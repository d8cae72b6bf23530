#include "domain/webhooks.hpp"

#include "actors/webhook_outbox.hpp"

#include <boost/json/object.hpp>

#include <utility>

namespace al::domain::webhooks {

namespace {

namespace json = boost::json;

/// What a test event carries.
constexpr const char* test_message
  = "AgentLocator test event: your webhook is reachable.";

} // namespace

void deliveries(const store& db, scope s, std::optional<std::string> status,
                page_params pg, reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, status = std::move(status), pg](db_tx& tx) {
      return domain_reply{domain_code::ok,
                          list_webhook_deliveries(tx, b, status, pg.page,
                                                  pg.per_page)};
    },
    std::move(done));
}

void send_test(const store& db, std::int64_t business, reply_fn done) {
  // Whoever asks, the business must exist (the scope checks it).
  run_use_case(
    db, scope{business, true},
    [business](db_tx& tx) {
      auto id = enqueue_webhook(tx, business, "test",
                                json::object{{"message", test_message}});
      if (id.empty())
        return domain_fail(domain_code::unprocessable, "No webhook_url set");
      return domain_reply{domain_code::accepted, json::object{{"id", id}}};
    },
    std::move(done));
}

void retry(const store& db, std::int64_t business, std::string id,
           reply_fn done) {
  run_use_case(
    db, scope{business, false},
    [business, id = std::move(id)](db_tx& tx) {
      switch (retry_webhook(tx, business, id)) {
        case webhook_retry_result::missing:
          break;
        case webhook_retry_result::not_failed:
          return domain_fail(domain_code::conflict,
                             "Only a failed delivery can be retried");
        case webhook_retry_result::queued:
          return domain_reply{domain_code::accepted,
                              json::object{{"id", id}, {"status", "pending"}}};
      }
      return domain_fail(domain_code::not_found, "No such delivery");
    },
    std::move(done));
}

} // namespace al::domain::webhooks
