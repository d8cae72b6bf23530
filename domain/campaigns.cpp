#include "domain/campaigns.hpp"

#include "actors/campaign_store.hpp"

#include <string>
#include <utility>

namespace al::domain::campaigns {

namespace {

using change_fn = crm_reply (*)(db_tx&, std::int64_t, std::int64_t);

/// Campaign `id` through `change`, audited as "campaign.<action>".
void change_state(const store& db, scope s, audit_who who, std::int64_t id,
                  const char* action, change_fn change, reply_fn done) {
  auto entry = audit_entry{s.business,
                           std::string{"campaign."} + action,
                           "campaign",
                           std::to_string(id),
                           {}};
  run_use_case(db, s,
               audited(std::move(who), std::move(entry),
                       [b = s.business, id, change](db_tx& tx) {
                         return change(tx, b, id);
                       }),
               std::move(done));
}

} // namespace

void list(const store& db, scope s, page_params pg, reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, pg](db_tx& tx) { return list_campaigns(tx, b, pg); },
    std::move(done));
}

void create(const store& db, scope s, audit_who who, campaign_input in,
            reply_fn done) {
  auto entry
    = audit_entry{s.business, "campaign.create", "campaign", in.name, {}};
  run_use_case(db, s,
               audited(std::move(who), std::move(entry),
                       [b = s.business, in = std::move(in)](db_tx& tx) {
                         return create_campaign(tx, b, in);
                       }),
               std::move(done));
}

void get(const store& db, scope s, std::int64_t id, page_params pg,
         reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, id, pg](db_tx& tx) { return get_campaign(tx, b, id, pg); },
    std::move(done));
}

void start(const store& db, scope s, audit_who who, std::int64_t id,
           reply_fn done) {
  change_state(db, s, std::move(who), id, "start", &start_campaign,
               std::move(done));
}

void pause(const store& db, scope s, audit_who who, std::int64_t id,
           reply_fn done) {
  change_state(db, s, std::move(who), id, "pause", &pause_campaign,
               std::move(done));
}

} // namespace al::domain::campaigns
