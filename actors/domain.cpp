#include "actors/domain.hpp"

#include "actors/businesses.hpp"

#include <boost/json/object.hpp>

#include <memory>

namespace al {

domain_status from_db_error(const db_error& err) {
  if (err == "database unavailable")
    return {domain_code::unavailable, "Database unavailable"};
  return {domain_code::internal, "Database error"};
}

domain_reply domain_fail(domain_code code, std::string_view msg) {
  return domain_reply{code,
                      boost::json::object{{"success", false}, {"error", msg}}};
}

domain_reply domain_fail(const domain_status& s) {
  return domain_fail(s.code, s.message);
}

void run_use_case(const store& db, scope s, domain_job job, reply_fn done) {
  auto out = std::make_shared<domain_reply>();
  db.run(
    [job = std::move(job), out, s](db_tx& tx) {
      if (s.verify && !business_exists(tx, s.business)) {
        *out = domain_fail(domain_code::not_found, "No such business");
        return;
      }
      *out = job(tx);
    },
    [done = std::move(done), out](const db_error& err) {
      if (!err.empty())
        return done(domain_fail(from_db_error(err)));
      done(std::move(*out));
    });
}

domain_job audited(audit_who who, audit_entry entry, domain_job job,
                   std::vector<std::string> summary) {
  return [who = std::move(who), entry = std::move(entry), job = std::move(job),
          summary = std::move(summary)](db_tx& tx) {
    auto reply = job(tx);
    if (!succeeded(reply.code))
      return reply;
    auto e = entry;
    if (auto* o = reply.body.if_object())
      for (auto& key : summary)
        if (auto* v = o->if_contains(key))
          e.diff[key] = v->is_array() ? boost::json::value(v->as_array().size())
                                      : *v;
    record_audit(tx, who, e);
    return reply;
  };
}

} // namespace al
