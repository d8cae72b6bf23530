#include "domain/events.hpp"

#include "actors/businesses.hpp"
#include "actors/event_feed.hpp"

#include <memory>
#include <utility>

namespace al::domain::events {

void streamable(const store& db, std::int64_t business, std::int64_t token_id,
                bool admin, std::function<void(domain_status)> done) {
  auto status = std::make_shared<domain_status>();
  db.run(
    [status, business, token_id, admin](db_tx& tx) {
      if (!admin && !token_serves(tx, token_id, business))
        *status = {domain_code::unauthorized, "Invalid token"};
      else if (admin && !business_exists(tx, business))
        *status = {domain_code::not_found, "No such business"};
    },
    [status, done = std::move(done)](const db_error& err) {
      if (!err.empty())
        return done(from_db_error(err));
      done(std::move(*status));
    });
}

} // namespace al::domain::events
