#include "domain/whatsapp.hpp"

#include "actors/log.hpp"
#include "actors/metrics.hpp"
#include "actors/whatsapp_media.hpp"
#include "actors/whatsapp_store.hpp"
#include "core/json.hpp"
#include "core/phone.hpp"

#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <variant>
#include <vector>

namespace al::domain::whatsapp {

namespace {

domain_status invalid_signature() {
  return {domain_code::forbidden, "Invalid signature"};
}

/// An inbound message that was stored for the first time.
struct stored_message {
  wa_business business;
  std::string from; // E.164
  wa_stored_inbound ids;
};

/// Hands stored inbound messages to their conversations (auto-reply), and
/// wakes the media fetcher when some carried media (committed by now).
void notify_conversations(const conversations& to,
                          const std::vector<stored_message>& stored) {
  bool media = false;
  for (auto& s : stored)
    media = media || s.ids.media > 0;
  if (media)
    wake_wa_media_fetchers();
  for (auto& s : stored) {
    to.m->whatsapp("received");
    wa_inbound_event ev;
    ev.message_id = s.ids.message_id;
    ev.lead_id = s.ids.lead_id;
    ev.working_hours = s.business.working_hours;
    ev.after_hours_reply = s.business.after_hours_reply;
    using opt_out = wa_inbound_event::opt_out;
    ev.opted_out = !s.ids.opted_out        ? opt_out::none
                   : s.ids.newly_opted_out ? opt_out::newly
                                           : opt_out::again;
    whatsapp_notify_inbound(*to.sys, to.manager, to.ctx, s.business.id, s.from,
                            std::move(ev));
  }
}

void log_unknown_status(const std::string& sid) {
  log_safe(spdlog::level::warn,
           "whatsapp status for unknown message {} ignored", sid);
}

} // namespace

void incoming(const store& db, conversations to, form_params form,
              twilio_check is_signed, webhook_fn done) {
  struct result {
    domain_status status;
    std::vector<stored_message> stored;
  };
  auto out = std::make_shared<result>();
  auto number = normalize_phone(form.value_or("To")).value_or("");
  db.run(
    [form = std::move(form), is_signed = std::move(is_signed), number,
     out](db_tx& tx) {
      auto business = find_wa_business(tx, number);
      if (!is_signed(form, business.twilio_auth_token)) {
        out->status = invalid_signature();
        return;
      }
      auto parsed = parse_twilio_inbound(form);
      if (auto* err = std::get_if<std::string>(&parsed)) {
        out->status = {domain_code::bad_request, *err};
        return;
      }
      auto& in = std::get<wa_inbound>(parsed);
      if (auto ids = store_wa_inbound(tx, business.id, in))
        out->stored.push_back({business, in.from, *ids});
    },
    [to = std::move(to), done = std::move(done), out](const db_error& err) {
      if (!err.empty())
        return done(from_db_error(err));
      done(out->status);
      if (out->status.ok())
        notify_conversations(to, out->stored);
    });
}

void update_status(const store& db, form_params form, twilio_check is_signed,
                   webhook_fn done) {
  struct result {
    domain_status status;
    bool known = true;
    std::string sid;
  };
  auto out = std::make_shared<result>();
  auto number = normalize_phone(form.value_or("From")).value_or("");
  db.run(
    [form = std::move(form), is_signed = std::move(is_signed), number,
     out](db_tx& tx) {
      // The message's business signs; for an unknown sid, our number's.
      // A sid that is not text (invalid UTF-8, NUL) is not looked up: it
      // would be a database error (a 500, found by tests/hostile).
      auto sid = form.value_or("MessageSid");
      bool text = sid.find('\0') == std::string::npos && valid_utf8(sid);
      auto owner = sid.empty() || !text ? std::nullopt
                                        : wa_message_business(tx, sid);
      auto business = owner ? load_wa_business(tx, *owner)
                            : find_wa_business(tx, number);
      if (!is_signed(form, business.twilio_auth_token)) {
        out->status = invalid_signature();
        return;
      }
      auto parsed = parse_twilio_status(form);
      if (auto* err = std::get_if<std::string>(&parsed)) {
        out->status = {domain_code::bad_request, *err};
        return;
      }
      auto& ev = std::get<wa_status_event>(parsed);
      out->sid = ev.sid;
      out->known = apply_wa_status(tx, ev).has_value();
    },
    [done = std::move(done), out](const db_error& err) {
      if (!err.empty())
        return done(from_db_error(err));
      if (out->status.ok() && !out->known)
        log_unknown_status(out->sid);
      done(out->status);
    });
}

void apply_webhook(const store& db, conversations to, meta_webhook hook,
                   webhook_fn done) {
  auto stored = std::make_shared<std::vector<stored_message>>();
  db.run(
    [hook = std::move(hook), stored](db_tx& tx) {
      for (auto& in : hook.messages) {
        auto business = find_wa_business(tx, in.to);
        if (auto ids = store_wa_inbound(tx, business.id, in))
          stored->push_back({business, in.from, *ids});
      }
      for (auto& ev : hook.statuses)
        if (!apply_wa_status(tx, ev))
          log_unknown_status(ev.sid);
    },
    [to = std::move(to), done = std::move(done), stored](const db_error& err) {
      if (!err.empty())
        return done(from_db_error(err));
      done(domain_status{});
      notify_conversations(to, *stored);
    });
}

void send(const conversations& to, wa_send_request req,
          std::function<void(wa_send_result)> done) {
  whatsapp_send(*to.sys, to.manager, to.ctx, std::move(req), std::move(done));
}

domain_status status_of(const wa_send_result& r) {
  auto code = domain_code::ok;
  switch (r.status) {
    case wa_send_status::sent:
      return {};
    case wa_send_status::provider_failed:
      code = domain_code::bad_gateway;
      break;
    case wa_send_status::not_configured:
      code = domain_code::not_implemented;
      break;
    case wa_send_status::no_business:
      code = domain_code::not_found;
      break;
    case wa_send_status::rate_limited:
      code = domain_code::too_many_requests;
      break;
    case wa_send_status::opted_out:
      code = domain_code::conflict;
      break;
    case wa_send_status::outside_window:
    case wa_send_status::bad_template:
      code = domain_code::unprocessable;
      break;
    case wa_send_status::unavailable:
      code = domain_code::unavailable;
      break;
    case wa_send_status::timeout:
      code = domain_code::gateway_timeout;
      break;
  }
  return {code, r.error};
}

} // namespace al::domain::whatsapp
