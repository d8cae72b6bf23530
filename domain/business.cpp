#include "domain/business.hpp"

#include "actors/audit.hpp"
#include "actors/businesses.hpp"
#include "actors/crm_queries.hpp"
#include "core/wav.hpp"

#include <boost/json/object.hpp>

namespace al::domain::business {

void get(const store& db, scope s, reply_fn done) {
  run_use_case(
    db, s, [b = s.business](db_tx& tx) { return get_business(tx, b); },
    std::move(done));
}

void patch(const store& db, scope s, audit_who who, business_input in,
           reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, who = std::move(who), in = std::move(in)](db_tx& tx) {
      return patch_business(tx, b, in, who);
    },
    std::move(done));
}

void audit(const store& db, scope s, std::optional<std::string> action,
           page_params paging, reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, action = std::move(action), paging](db_tx& tx) {
      return domain_reply{domain_code::ok, list_audit(tx, b, action, paging)};
    },
    std::move(done));
}

void set_greeting_audio(const store& db, std::int64_t business, audit_who who,
                        std::string audio, reply_fn done) {
  // Decoding takes a few ms per second of audio: on a store worker, never
  // on an I/O thread.
  run_use_case(
    db, scope{business, false},
    [b = business, who = std::move(who), audio = std::move(audio)](db_tx& tx) {
      std::string err;
      auto mulaw = decode_audio_as_mulaw(audio, max_greeting_seconds, err);
      if (!mulaw) {
        if (!business_exists(tx, b))
          return domain_fail(domain_code::not_found, "No such business");
        return domain_fail(domain_code::bad_request,
                           "Unreadable audio: "
                             + (err.empty() ? "not an audio file" : err));
      }
      auto seconds = static_cast<double>(mulaw->size()) / 8000.0;
      if (!al::set_greeting_audio(tx, b, *mulaw))
        return domain_fail(domain_code::not_found, "No such business");
      record_audit(tx, who,
                   audit_entry{b, "greeting_audio.set", "business",
                               std::to_string(b),
                               boost::json::object{{"seconds", seconds},
                                                   {"bytes", audio.size()}}});
      return domain_reply{domain_code::ok,
                          boost::json::object{{"success", true},
                                              {"seconds", seconds}}};
    },
    std::move(done));
}

void clear_greeting_audio(const store& db, std::int64_t business, audit_who who,
                          reply_fn done) {
  run_use_case(
    db, scope{business, false},
    [b = business, who = std::move(who)](db_tx& tx) {
      bool cleared = false;
      if (!al::set_greeting_audio(tx, b, std::nullopt, &cleared))
        return domain_fail(domain_code::not_found, "No such business");
      if (cleared)
        record_audit(
          tx, who,
          audit_entry{
            b, "greeting_audio.clear", "business", std::to_string(b), {}});
      return domain_reply{domain_code::ok,
                          boost::json::object{{"success", true}}};
    },
    std::move(done));
}

} // namespace al::domain::business
