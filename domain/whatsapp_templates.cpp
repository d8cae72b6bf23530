#include "domain/whatsapp_templates.hpp"

#include "actors/whatsapp_templates.hpp"

#include <string>

namespace al::domain::whatsapp_templates {

void list(const store& db, scope s, reply_fn done) {
  run_use_case(
    db, s, [b = s.business](db_tx& tx) { return list_wa_templates(tx, b); },
    std::move(done));
}

void create(const store& db, scope s, audit_who who, wa_template t,
            reply_fn done) {
  auto entry = audit_entry{
    s.business, "whatsapp_template.create", "whatsapp_template", t.name, {}};
  run_use_case(db, s,
               audited(std::move(who), std::move(entry),
                       [t = std::move(t), b = s.business](db_tx& tx) {
                         return create_wa_template(tx, b, t);
                       }),
               std::move(done));
}

void remove(const store& db, std::int64_t business, audit_who who,
            std::int64_t id, reply_fn done) {
  auto entry = audit_entry{business,
                           "whatsapp_template.delete",
                           "whatsapp_template",
                           std::to_string(id),
                           {}};
  run_use_case(db, scope{business, false},
               audited(std::move(who), std::move(entry),
                       [id, business](db_tx& tx) {
                         return delete_wa_template(tx, business, id);
                       }),
               std::move(done));
}

} // namespace al::domain::whatsapp_templates
