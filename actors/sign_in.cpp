#include "actors/sign_in.hpp"

#include "actors/audit.hpp"
#include "actors/sql.hpp"
#include "core/crypto.hpp"

#include <boost/json/object.hpp>

namespace al {

namespace {

constexpr sql_statement insert_code{
  "INSERT INTO sign_in_codes(business_id, role, code_hash, created_by,"
  " expires_at) SELECT $1, $2, $3, $4, now() + make_interval(mins => $5)"
  " WHERE EXISTS (SELECT 1 FROM businesses WHERE id = $1)"
  " RETURNING id, iso_utc(expires_at)"};

constexpr sql_statement consume_code{
  "UPDATE sign_in_codes SET used_at = now() WHERE code_hash = $1"
  " AND used_at IS NULL AND expires_at > now()"
  " RETURNING id, business_id, role"};

constexpr sql_statement insert_session{
  "INSERT INTO api_tokens(business_id, role, name, token_hash, kind,"
  " expires_at) VALUES ($1, $2, 'dashboard session', $3, 'session',"
  " now() + make_interval(hours => $4)) RETURNING id, iso_utc(expires_at)"};

constexpr sql_statement link_session{
  "UPDATE sign_in_codes SET session_id = $2 WHERE id = $1"};

constexpr sql_statement end_session_sql{
  "UPDATE api_tokens SET revoked_at = now() WHERE id = $1"
  " AND kind = 'session' AND revoked_at IS NULL RETURNING id"};

} // namespace

std::optional<sign_in_code>
create_sign_in_code(db_tx& tx, std::int64_t business, const std::string& role,
                    std::chrono::minutes ttl, const audit_who& who) {
  auto code = crypto::random_token(24);
  auto r = exec(tx, insert_code, business, role, crypto::secret_hash(code),
                who.actor, static_cast<int>(ttl.count()));
  if (r.empty())
    return std::nullopt;
  record_audit(
    tx, who,
    audit_entry{business, "sign_in_link.create", "sign_in_code",
                r[0][0].c_str(),
                boost::json::object{{"role", role}, {"minutes", ttl.count()}}});
  return sign_in_code{std::move(code), r[0][1].c_str()};
}

std::optional<session_grant>
redeem_sign_in_code(db_tx& tx, const std::string& code,
                    const std::string& address, const std::string& request_id) {
  auto used = exec(tx, consume_code, crypto::secret_hash(code));
  if (used.empty())
    return std::nullopt;
  session_grant g;
  auto code_id = used[0][0].as<std::int64_t>();
  g.business_id = used[0][1].as<std::int64_t>();
  g.role = used[0][2].c_str();
  g.token = "al_" + crypto::random_token(24);
  auto s = exec(tx, insert_session, g.business_id, g.role,
                crypto::secret_hash(g.token),
                static_cast<int>(session_lifetime.count()));
  g.token_id = s[0][0].as<std::int64_t>();
  g.expires_at = s[0][1].c_str();
  exec(tx, link_session, code_id, g.token_id);
  audit_who who;
  who.actor = "token:" + std::to_string(g.token_id);
  who.token_id = g.token_id;
  who.role = g.role;
  who.address = address;
  who.request_id = request_id;
  record_audit(tx, who,
               audit_entry{g.business_id,
                           "session.create",
                           "sign_in_code",
                           std::to_string(code_id),
                           {}});
  return g;
}

bool end_session(db_tx& tx, std::int64_t token_id) {
  return !exec(tx, end_session_sql, token_id).empty();
}

std::string sign_in_url(const std::string& public_base_url,
                        const std::string& code) {
  return public_base_url + "/app/#signin=" + code;
}

} // namespace al
