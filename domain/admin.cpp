#include "domain/admin.hpp"

#include "actors/businesses.hpp"
#include "core/crypto.hpp"
#include "domain/auth.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <optional>
#include <utility>

namespace al::domain::admin {

namespace {

namespace json = boost::json;

/// Nothing to check: the admin token acts for no business in particular.
constexpr scope anyone{};

domain_reply claimed(const std::string& number) {
  return domain_fail(domain_code::conflict,
                     "Phone number already claimed: " + number);
}

/// Business `id` locked, `patch` applied when given, then its view.
domain_reply business_job(db_tx& tx, std::int64_t id,
                          const std::optional<business_input>& patch,
                          const audit_who& who) {
  if (!lock_business(tx, id))
    return domain_fail(domain_code::not_found, "No such business");
  if (patch) {
    auto clash = claimed_elsewhere(tx, id, *patch);
    if (!clash.empty())
      return claimed(clash[0]);
    save_business_audited(tx, id, *patch, who, "business.update");
  }
  return domain_reply{domain_code::ok, business_view(tx, id)};
}

} // namespace

void create_business(const store& db, audit_who who, business_input in,
                     reply_fn done) {
  run_use_case(
    db, anyone,
    [who = std::move(who), in = std::move(in)](db_tx& tx) {
      auto clash = claimed_elsewhere(tx, -1, in);
      if (!clash.empty())
        return claimed(clash[0]);
      auto id = al::create_business(tx);
      save_business_audited(tx, id, in, who, "business.create");
      return domain_reply{domain_code::created, business_view(tx, id)};
    },
    std::move(done));
}

void list_businesses(const store& db, reply_fn done) {
  run_use_case(
    db, anyone,
    [](db_tx& tx) {
      json::array items;
      for (auto id : business_ids(tx))
        items.push_back(business_view(tx, id));
      auto total = items.size();
      return domain_reply{domain_code::ok,
                          json::object{{"items", std::move(items)},
                                       {"page", 1},
                                       {"per_page", total},
                                       {"total", total}}};
    },
    std::move(done));
}

void get_business(const store& db, std::int64_t id, reply_fn done) {
  run_use_case(
    db, anyone,
    [id](db_tx& tx) { return business_job(tx, id, std::nullopt, {}); },
    std::move(done));
}

void update_business(const store& db, audit_who who, std::int64_t id,
                     business_input in, reply_fn done) {
  run_use_case(
    db, anyone,
    [id, who = std::move(who),
     in = std::optional<business_input>{std::move(in)}](db_tx& tx) {
      return business_job(tx, id, in, who);
    },
    std::move(done));
}

void create_token(const store& db, audit_who who, std::int64_t business,
                  std::string role, std::string name, reply_fn done) {
  auto token = "al_" + crypto::random_token(24);
  auto hash = crypto::secret_hash(token);
  // The scope checks that the business exists (404 "No such business").
  run_use_case(
    db, scope{business, true},
    [token, hash, business, role = std::move(role), name = std::move(name),
     who = std::move(who)](db_tx& tx) {
      auto id = insert_api_token(tx, business, role, name, hash);
      record_audit(tx, who,
                   audit_entry{business, "token.create", "token",
                               std::to_string(id),
                               json::object{{"role", role}, {"name", name}}});
      return domain_reply{domain_code::created,
                          json::object{{"id", id},
                                       {"token", token},
                                       {"business_id", business},
                                       {"role", role}}};
    },
    std::move(done));
}

void revoke_token(const store& db, audit_who who, std::int64_t id,
                  reply_fn done) {
  run_use_case(
    db, anyone,
    [id, who = std::move(who)](db_tx& tx) {
      auto business = revoke_api_token(tx, id);
      if (!business)
        return domain_fail(domain_code::not_found, "No such token");
      record_audit(
        tx, who,
        audit_entry{business, "token.revoke", "token", std::to_string(id), {}});
      return domain_reply{domain_code::ok, json::object{{"success", true}}};
    },
    std::move(done));
}

} // namespace al::domain::admin
