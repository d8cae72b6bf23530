#include "domain/pipeline.hpp"

#include "actors/crm_queries.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace al::domain::pipeline {

void get(const store& db, scope s, reply_fn done) {
  run_use_case(
    db, s, [b = s.business](db_tx& tx) { return get_pipeline(tx, b); },
    std::move(done));
}

void put(const store& db, scope s, audit_who who,
         std::vector<pipeline_status> statuses, reply_fn done) {
  boost::json::array keys;
  for (auto& st : statuses)
    keys.emplace_back(st.key);
  auto entry = audit_entry{s.business,
                           "pipeline.update",
                           "business",
                           std::to_string(s.business),
                           {{"statuses", std::move(keys)}}};
  run_use_case(db, s,
               audited(std::move(who), std::move(entry),
                       [b = s.business, statuses = std::move(statuses)](
                         db_tx& tx) { return put_pipeline(tx, b, statuses); }),
               std::move(done));
}

} // namespace al::domain::pipeline
