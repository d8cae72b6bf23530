#include "domain/sign_in.hpp"

#include <boost/json/object.hpp>

#include <memory>
#include <utility>

namespace al::domain::sign_in {

void create_link(const store& db, scope s, audit_who who, std::string role,
                 std::chrono::minutes ttl, std::string public_base_url,
                 reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, who = std::move(who), role = std::move(role), ttl,
     base = std::move(public_base_url)](db_tx& tx) {
      auto c = create_sign_in_code(tx, b, role, ttl, who);
      if (!c)
        return domain_fail(domain_code::not_found, "No such business");
      return domain_reply{
        domain_code::created,
        boost::json::object{{"url", sign_in_url(base, c->code)},
                            {"expires_at", c->expires_at},
                            {"business_id", b},
                            {"role", role}}};
    },
    std::move(done));
}

void redeem(const store& db, std::string code, std::string address,
            std::string request_id, std::function<void(redeem_result)> done) {
  auto grant = std::make_shared<std::optional<session_grant>>();
  db.run([grant, code = std::move(code), address = std::move(address),
          rid = std::move(request_id)](
           db_tx& tx) { *grant = redeem_sign_in_code(tx, code, address, rid); },
         [done = std::move(done), grant](const db_error& err) {
           if (!err.empty())
             return done(redeem_result{from_db_error(err), std::nullopt});
           done(redeem_result{{}, std::move(*grant)});
         });
}

void sign_out(const store& db, std::int64_t token_id, reply_fn done) {
  // A session is the caller's own: there is no business to check.
  run_use_case(
    db, scope{},
    [token_id](db_tx& tx) {
      bool ended = end_session(tx, token_id);
      return domain_reply{domain_code::ok,
                          boost::json::object{{"success", true},
                                              {"ended", ended}}};
    },
    std::move(done));
}

} // namespace al::domain::sign_in
