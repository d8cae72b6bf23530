// Form bodies and query strings (core/form.hpp parse_form) and everything
// that reads them: the CRM list filters, the Twilio WhatsApp webhooks, the
// Tranzila notify judgement and the Meta subscription handshake. Properties:
// encode_form(parse_form(x)) parses back to the same pairs; outputs that
// must be E.164 or validated values are.

#include "bench/fuzz/fuzz_util.hpp"
#include "core/crm_input.hpp"
#include "core/form.hpp"
#include "core/money.hpp"
#include "core/payment_wire.hpp"
#include "core/phone.hpp"
#include "core/whatsapp_wire.hpp"

#include <variant>

namespace {

using namespace al;
using al::fuzz::check;

bool e164(std::string_view s) {
  if (s.size() < 9 || s.size() > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9')
    return false;
  for (auto c : s.substr(1))
    if (c < '0' || c > '9')
      return false;
  return true;
}

void filters(const form_params& q) {
  lead_filter lf;
  if (parse_lead_filter(q, lf).empty()) {
    check(lf.paging.page >= 1 && lf.paging.per_page >= 1
            && lf.paging.per_page <= max_per_page,
          "lead paging in range");
    check(lf.paging.offset() >= 0, "lead offset not negative");
    if (lf.phone)
      check(e164(*lf.phone), "lead filter phone is E.164");
  }
  call_filter cf;
  if (parse_call_filter(q, cf).empty() && cf.from)
    check(e164(*cf.from), "call filter from is E.164");
  appointment_filter af;
  (void)parse_appointment_filter(q, af);
  task_filter tf;
  (void)parse_task_filter(q, tf);
  if (auto q2 = parse_query(encode_form(q.items())))
    (void)q2;
}

void webhooks(const form_params& form) {
  auto in = parse_twilio_inbound(form);
  if (auto* msg = std::get_if<wa_inbound>(&in)) {
    check(!msg->sid.empty(), "inbound has a sid");
    check(e164(msg->from), "inbound from is E.164");
    check(msg->to.empty() || e164(msg->to), "inbound to is E.164 or empty");
  }
  auto st = parse_twilio_status(form);
  if (auto* ev = std::get_if<wa_status_event>(&st))
    check(!ev->sid.empty() && !ev->status.empty(), "status has sid+status");
  auto verdict = judge_tranzila_notify(form, 12345, "ILS");
  if (verdict.paid) {
    auto sum = form.get("sum");
    check(sum && parse_amount_minor(*sum) == 12345, "paid means the sum");
    check(form.get("Response") == std::optional<std::string_view>{"000"},
          "paid means Response 000");
  }
  if (auto challenge = meta_handshake(form, "verify-me")) {
    check(!challenge->empty() && challenge->size() <= 256,
          "challenge 1-256 chars");
    check(form.get("hub.verify_token")
            == std::optional<std::string_view>{"verify-me"},
          "handshake needs the verify token");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size > 256 * 1024)
    return 0;
  auto text = fuzz::as_view(data, size);
  auto parsed = parse_form(text);
  if (!parsed)
    return 0;
  // Round trip: what we encode for outbound requests decodes to the same.
  auto encoded = encode_form(parsed->items());
  auto again = parse_form(encoded);
  check(again.has_value(), "encode_form output parses");
  check(again->items() == parsed->items(), "form round trip");
  for (auto& [k, v] : parsed->items()) {
    check(parsed->contains(k), "contains every key");
    (void)v;
  }
  filters(*parsed);
  webhooks(*parsed);
  return 0;
}
