#include "domain/intake.hpp"

#include "actors/lead_intake.hpp"
#include "core/crypto.hpp"

#include <boost/json/object.hpp>

#include <utility>

namespace al::domain::intake {

namespace {

/// 201 {"lead_id":N} for a new lead, 200 {"lead_id":N,"duplicate":true}.
domain_reply intake_job(db_tx& tx, std::int64_t business,
                        const intake_input& in) {
  auto r = intake_lead(tx, business, in);
  if (r.created)
    intake_speed_to_lead(tx, business, r.lead_id, in.phone);
  boost::json::object body{{"lead_id", r.lead_id}};
  if (!r.created)
    body["duplicate"] = true;
  return domain_reply{r.created ? domain_code::created : domain_code::ok,
                      std::move(body)};
}

} // namespace

void submit(const store& db, scope s, intake_input in, reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, in = std::move(in)](db_tx& tx) {
      return intake_job(tx, b, in);
    },
    std::move(done));
}

void submit_by_key(const store& db, std::string key, intake_input in,
                   reply_fn done) {
  // The key names the business: no scope to check.
  run_use_case(
    db, scope{},
    [key = std::move(key), in = std::move(in)](db_tx& tx) {
      auto business = business_by_intake_key(tx, key);
      if (!business)
        return domain_fail(domain_code::unauthorized, "Invalid intake key");
      return intake_job(tx, *business, in);
    },
    std::move(done));
}

void show_key(const store& db, scope s, reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business](db_tx& tx) {
      auto key = intake_key_of(tx, b);
      boost::json::object o;
      if (key)
        o["intake_key"] = *key;
      else
        o["intake_key"] = nullptr;
      return domain_reply{domain_code::ok, std::move(o)};
    },
    std::move(done));
}

void rotate_key(const store& db, scope s, audit_who who, reply_fn done) {
  auto key = crypto::random_token(24); // 32 characters
  auto entry = audit_entry{s.business,
                           "intake_key.rotate",
                           "business",
                           std::to_string(s.business),
                           {}};
  run_use_case(db, s,
               audited(std::move(who), std::move(entry),
                       [b = s.business, key](db_tx& tx) {
                         set_intake_key(tx, b, key);
                         return domain_reply{
                           domain_code::created,
                           boost::json::object{{"intake_key", key}}};
                       }),
               std::move(done));
}

} // namespace al::domain::intake
