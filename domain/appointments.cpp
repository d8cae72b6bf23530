#include "domain/appointments.hpp"

#include "actors/crm_queries.hpp"

namespace al::domain::appointments {

void list(const store& db, scope s, appointment_filter f, reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, f = std::move(f)](db_tx& tx) {
      return list_appointments(tx, b, f);
    },
    std::move(done));
}

void create(const store& db, scope s, appointment_input in, reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, in = std::move(in)](db_tx& tx) {
      return create_appointment(tx, b, in);
    },
    std::move(done));
}

void update(const store& db, scope s, std::int64_t id, appointment_input in,
            reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, id, in = std::move(in)](db_tx& tx) {
      return update_appointment(tx, b, id, in);
    },
    std::move(done));
}

} // namespace al::domain::appointments
