#include "domain/whatsapp_inbox.hpp"

#include "actors/businesses.hpp"
#include "actors/whatsapp_ai.hpp"
#include "actors/whatsapp_inbox.hpp"

#include <boost/json/object.hpp>

#include <memory>
#include <optional>

namespace al::domain::whatsapp_inbox {

namespace {

constexpr const char* no_conversation = "No such lead with a phone number";

/// What a switch does to the lead's conversation: the reply's body, or
/// nullopt when there is no such conversation (404).
using ai_switch = std::function<std::optional<boost::json::object>(db_tx&)>;

/// Runs `fn` for lead `lead`, audited as `action` on the lead.
void switch_ai(const store& db, scope s, audit_who who, const char* action,
               std::int64_t lead, ai_switch fn, reply_fn done) {
  auto entry
    = audit_entry{s.business, action, "lead", std::to_string(lead), {}};
  run_use_case(db, s,
               audited(std::move(who), std::move(entry),
                       [fn = std::move(fn)](db_tx& tx) {
                         auto out = fn(tx);
                         if (!out)
                           return domain_fail(domain_code::not_found,
                                              no_conversation);
                         return domain_reply{domain_code::ok, std::move(*out)};
                       }),
               std::move(done));
}

} // namespace

void list(const store& db, scope s, wa_inbox_query q, bool ai_key,
          reply_fn done) {
  run_use_case(
    db, s,
    [q = std::move(q), b = s.business, ai_key](db_tx& tx) {
      return list_wa_conversations(tx, b, q, ai_key);
    },
    std::move(done));
}

void thread(const store& db, scope s, std::string peer, wa_thread_query q,
            bool ai_key, reply_fn done) {
  run_use_case(
    db, s,
    [peer = std::move(peer), q = std::move(q), b = s.business, ai_key](
      db_tx& tx) { return wa_conversation_thread(tx, b, peer, q, ai_key); },
    std::move(done));
}

void mark_read(const store& db, scope s, std::string peer, reply_fn done) {
  run_use_case(
    db, s,
    [peer = std::move(peer), b = s.business](db_tx& tx) {
      return mark_wa_conversation_read(tx, b, peer);
    },
    std::move(done));
}

void takeover(const store& db, scope s, audit_who who, std::int64_t lead,
              std::string by, reply_fn done) {
  switch_ai(
    db, s, std::move(who), "whatsapp.takeover", lead,
    [b = s.business, lead,
     by = std::move(by)](db_tx& tx) -> std::optional<boost::json::object> {
      auto until = takeover_wa_ai(tx, b, lead, by);
      if (!until)
        return std::nullopt;
      return boost::json::object{{"success", true},
                                 {"ai_paused_until", *until}};
    },
    std::move(done));
}

void release(const store& db, scope s, audit_who who, std::int64_t lead,
             reply_fn done) {
  switch_ai(
    db, s, std::move(who), "whatsapp.release", lead,
    [b = s.business, lead](db_tx& tx) -> std::optional<boost::json::object> {
      if (!release_wa_ai(tx, b, lead))
        return std::nullopt;
      return boost::json::object{{"success", true}};
    },
    std::move(done));
}

void media(const store& db, scope s, std::int64_t message, int idx,
           std::function<void(media_result)> done) {
  auto out = std::make_shared<media_result>();
  db.run(
    [out, s, message, idx](db_tx& tx) {
      *out = media_result{};
      if (s.verify && !business_exists(tx, s.business)) {
        out->status = {domain_code::not_found, "No such business"};
        return;
      }
      auto blob = load_wa_media(tx, s.business, message, idx);
      if (!blob) {
        out->status = {domain_code::not_found, "No such media"};
        return;
      }
      // Only a stored item has bytes to serve.
      if (blob->status == "pending")
        out->status = {domain_code::not_found, "Media not fetched yet"};
      else if (blob->status != "stored")
        out->status = {domain_code::not_found,
                       "Media " + blob->status
                         + (blob->error.empty() ? "" : ": " + blob->error)};
      else
        out->blob = std::move(*blob);
    },
    [out, done = std::move(done)](const db_error& err) {
      if (!err.empty())
        return done(media_result{from_db_error(err), {}});
      done(std::move(*out));
    });
}

} // namespace al::domain::whatsapp_inbox
