#include "domain/dnc.hpp"

#include <boost/json/object.hpp>

namespace al::domain::dnc {

void list(const store& db, scope s, page_params pg, reply_fn done) {
  run_use_case(
    db, s, [b = s.business, pg](db_tx& tx) { return list_dnc(tx, b, pg); },
    std::move(done));
}

void add(const store& db, scope s, audit_who who, std::string e164,
         dnc_source source, std::string note, reply_fn done) {
  auto entry = audit_entry{s.business, "dnc.add", "dnc", e164, {}};
  run_use_case(db, s,
               audited(std::move(who), std::move(entry),
                       [b = s.business, e164, source, note](db_tx& tx) {
                         bool added = dnc_add(tx, b, e164, source, note);
                         return domain_reply{
                           added ? domain_code::created : domain_code::ok,
                           boost::json::object{{"phone", e164},
                                               {"added", added}}};
                       }),
               std::move(done));
}

void remove(const store& db, scope s, audit_who who, std::string e164,
            reply_fn done) {
  auto entry = audit_entry{s.business, "dnc.remove", "dnc", e164, {}};
  run_use_case(db, s,
               audited(std::move(who), std::move(entry),
                       [b = s.business, e164](db_tx& tx) {
                         if (!dnc_remove(tx, b, e164))
                           return domain_fail(domain_code::not_found,
                                              "No such number on the list");
                         return domain_reply{
                           domain_code::ok,
                           boost::json::object{{"success", true}}};
                       }),
               std::move(done));
}

} // namespace al::domain::dnc
