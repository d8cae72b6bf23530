#include "domain/health.hpp"

namespace al::domain::health {

void ready(const store& db, std::function<void(domain_status)> done) {
  db.run([](db_tx& tx) { ping_database(tx); },
         [done = std::move(done)](const db_error& err) {
           if (!err.empty())
             return done({domain_code::unavailable, "database: " + err});
           done({});
         });
}

} // namespace al::domain::health
