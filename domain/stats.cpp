#include "domain/stats.hpp"

#include "actors/stats.hpp"

namespace al::domain::stats {

void overview(const store& db, scope s, stats_range range, reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, range](db_tx& tx) { return business_stats(tx, b, range); },
    std::move(done));
}

} // namespace al::domain::stats
