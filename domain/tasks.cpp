#include "domain/tasks.hpp"

#include "actors/crm_queries.hpp"

namespace al::domain::tasks {

void list(const store& db, scope s, task_filter f, reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, f = std::move(f)](db_tx& tx) {
      return list_tasks(tx, b, f);
    },
    std::move(done));
}

void create(const store& db, scope s, task_input in, reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, in = std::move(in)](db_tx& tx) {
      return create_task(tx, b, in);
    },
    std::move(done));
}

void update(const store& db, scope s, std::int64_t id, task_input in,
            reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, id, in = std::move(in)](db_tx& tx) {
      return update_task(tx, b, id, in);
    },
    std::move(done));
}

} // namespace al::domain::tasks
