#include "domain/leads.hpp"

#include "actors/crm_queries.hpp"

namespace al::domain::leads {

void list(const store& db, scope s, lead_filter f, reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, f = std::move(f)](db_tx& tx) {
      return list_leads(tx, b, f);
    },
    std::move(done));
}

void create(const store& db, scope s, std::string actor, lead_input in,
            reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, actor = std::move(actor), in = std::move(in)](db_tx& tx) {
      return create_lead(tx, b, in, actor);
    },
    std::move(done));
}

void get(const store& db, scope s, std::int64_t id, reply_fn done) {
  run_use_case(
    db, s, [b = s.business, id](db_tx& tx) { return get_lead(tx, b, id); },
    std::move(done));
}

void update(const store& db, scope s, std::int64_t id, std::string actor,
            lead_input in, reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, id, actor = std::move(actor), in = std::move(in)](
      db_tx& tx) { return update_lead(tx, b, id, in, actor); },
    std::move(done));
}

void remove(const store& db, scope s, audit_who who, std::int64_t id,
            reply_fn done) {
  auto entry
    = audit_entry{s.business, "lead.delete", "lead", std::to_string(id), {}};
  run_use_case(
    db, s,
    audited(std::move(who), std::move(entry),
            [b = s.business, id](db_tx& tx) { return delete_lead(tx, b, id); }),
    std::move(done));
}

void list_notes(const store& db, scope s, std::int64_t lead, page_params pg,
                reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, lead, pg](db_tx& tx) {
      return al::list_notes(tx, b, lead, pg);
    },
    std::move(done));
}

void add_note(const store& db, scope s, std::int64_t lead, std::string author,
              std::string text, reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, lead, author = std::move(author), text = std::move(text)](
      db_tx& tx) { return al::add_note(tx, b, lead, text, author); },
    std::move(done));
}

void list_messages(const store& db, scope s, std::int64_t lead, page_params pg,
                   reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, lead, pg](db_tx& tx) {
      return list_lead_messages(tx, b, lead, pg);
    },
    std::move(done));
}

} // namespace al::domain::leads
