#include "domain/listings.hpp"

#include "actors/listings.hpp"

#include <memory>
#include <string_view>
#include <utility>

namespace al::domain::listings {

namespace {

using import_job = crm_reply (*)(db_tx&, std::int64_t, std::string_view, bool);

/// Runs `job` (the CSV text) in one transaction; no business check.
void run_export(const store& db, std::function<std::string(db_tx&)> job,
                export_fn done) {
  auto out = std::make_shared<std::string>();
  db.run([job = std::move(job), out](db_tx& tx) { *out = job(tx); },
         [done = std::move(done), out](const db_error& err) {
           if (!err.empty())
             return done(export_result{from_db_error(err), {}});
           done(export_result{{}, std::move(*out)});
         });
}

/// `import` of `csv` for the scope's business, audited as `action` unless
/// it is a dry run (which changes nothing).
void run_import(const store& db, scope s, audit_who who, std::string csv,
                bool dry_run, import_job import, const char* action,
                reply_fn done) {
  domain_job job = [import, csv = std::move(csv), dry_run, b = s.business](
                     db_tx& tx) { return import(tx, b, csv, dry_run); };
  if (!dry_run)
    job = audited(std::move(who),
                  audit_entry{s.business, action, "import", {}, {}},
                  std::move(job), {"created", "updated", "errors"});
  run_use_case(db, s, std::move(job), std::move(done));
}

} // namespace

void list(const store& db, scope s, listing_filter f, reply_fn done) {
  run_use_case(
    db, s,
    [f = std::move(f), b = s.business](db_tx& tx) {
      return list_listings(tx, b, f);
    },
    std::move(done));
}

void create(const store& db, scope s, listing_input in, reply_fn done) {
  run_use_case(
    db, s,
    [in = std::move(in), b = s.business](db_tx& tx) {
      return create_listing(tx, b, in);
    },
    std::move(done));
}

void get(const store& db, scope s, std::int64_t id, reply_fn done) {
  run_use_case(
    db, s, [id, b = s.business](db_tx& tx) { return get_listing(tx, b, id); },
    std::move(done));
}

void patch(const store& db, scope s, std::int64_t id, listing_input in,
           reply_fn done) {
  run_use_case(
    db, s,
    [in = std::move(in), id, b = s.business](db_tx& tx) {
      return patch_listing(tx, b, id, in);
    },
    std::move(done));
}

void remove(const store& db, scope s, audit_who who, std::int64_t id,
            reply_fn done) {
  auto entry = audit_entry{
    s.business, "listing.delete", "listing", std::to_string(id), {}};
  run_use_case(db, s,
               audited(std::move(who), std::move(entry),
                       [id, b = s.business](db_tx& tx) {
                         return delete_listing(tx, b, id);
                       }),
               std::move(done));
}

void matches(const store& db, scope s, std::int64_t lead, reply_fn done) {
  run_use_case(
    db, s,
    [lead, b = s.business](db_tx& tx) { return lead_matches(tx, b, lead); },
    std::move(done));
}

void export_listings(const store& db, std::int64_t business, listing_filter f,
                     export_fn done) {
  run_export(
    db,
    [f = std::move(f), business](db_tx& tx) {
      return listings_csv(tx, business, f);
    },
    std::move(done));
}

void export_leads(const store& db, std::int64_t business, export_fn done) {
  run_export(
    db, [business](db_tx& tx) { return leads_csv(tx, business); },
    std::move(done));
}

void import_listings(const store& db, scope s, audit_who who, std::string csv,
                     bool dry_run, reply_fn done) {
  run_import(db, s, std::move(who), std::move(csv), dry_run,
             &al::import_listings, "listings.import", std::move(done));
}

void import_leads(const store& db, scope s, audit_who who, std::string csv,
                  bool dry_run, reply_fn done) {
  run_import(db, s, std::move(who), std::move(csv), dry_run, &al::import_leads,
             "leads.import", std::move(done));
}

} // namespace al::domain::listings
