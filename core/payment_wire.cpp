#include "core/payment_wire.hpp"

#include "core/call_token.hpp"
#include "core/crypto.hpp"
#include "core/money.hpp"

#include <boost/json.hpp>

namespace al {

namespace {

namespace json = boost::json;

/// RFC 3986 unreserved characters stay, everything else is %XX.
std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
        || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
        || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

/// A DOM parse of an untrusted provider body.
struct dom {
  json_doc doc;
  std::optional<simdjson::dom::object> root;
  explicit dom(std::string_view body) {
    if (doc.parse(body))
      root = doc.object();
  }
};

std::string str(simdjson::dom::object o, std::string_view key) {
  auto f = get_string(o, key);
  return f.ok() ? std::string{f.value} : std::string{};
}

std::optional<simdjson::dom::object> obj(simdjson::dom::object o,
                                         std::string_view key) {
  auto f = get_object(o, key);
  if (!f.ok())
    return std::nullopt;
  return f.value;
}

/// First element of array `key` as an object.
std::optional<simdjson::dom::object> first_of(simdjson::dom::object o,
                                              std::string_view key) {
  auto a = get_array(o, key);
  if (!a.ok())
    return std::nullopt;
  for (auto el : a.value) {
    simdjson::dom::object out;
    if (el.get(out) == simdjson::SUCCESS)
      return out;
    return std::nullopt;
  }
  return std::nullopt;
}

/// {"currency_code":"ILS","value":"10.00"} -> minor units and currency.
void read_amount(simdjson::dom::object o, std::optional<std::int64_t>& minor,
                 std::string& currency) {
  auto amount = obj(o, "amount");
  if (!amount)
    return;
  currency = str(*amount, "currency_code");
  auto v = get_string(*amount, "value");
  if (v.ok())
    minor = parse_amount_minor(v.value);
}

} // namespace

// -- request bodies -----------------------------------------------------------

raw_field raw_number_or_string(std::string_view json_body,
                               std::string_view key) {
  raw_field out;
  namespace od = simdjson::ondemand;
  if (json_body.size() > json_max_bytes) {
    out.state = field_state::wrong_type;
    return out;
  }
  simdjson::padded_string padded{json_body};
  od::parser parser;
  od::document doc;
  od::object o;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS
      || doc.get_object().get(o) != simdjson::SUCCESS) {
    out.state = field_state::wrong_type;
    return out;
  }
  for (auto fr : o) {
    od::field f;
    if (std::move(fr).get(f) != simdjson::SUCCESS) {
      out.state = field_state::wrong_type;
      return out;
    }
    std::string_view k;
    if (f.unescaped_key().get(k) != simdjson::SUCCESS) {
      out.state = field_state::wrong_type;
      return out;
    }
    if (k != key)
      continue;
    od::json_type t;
    if (f.value().type().get(t) != simdjson::SUCCESS) {
      out.state = field_state::wrong_type;
      return out;
    }
    if (t == od::json_type::null) {
      out.state = field_state::null;
    } else if (t == od::json_type::number) {
      out.state = field_state::ok;
      out.text = std::string{f.value().raw_json_token()};
    } else if (t == od::json_type::string) {
      std::string_view s;
      if (f.value().get_string().get(s) != simdjson::SUCCESS) {
        out.state = field_state::wrong_type;
        return out;
      }
      out.state = field_state::ok;
      out.text = std::string{s};
    } else {
      out.state = field_state::wrong_type;
    }
    return out;
  }
  return out;
}

// -- PayPal -------------------------------------------------------------------

std::string paypal_basic_auth(std::string_view client_id,
                              std::string_view secret) {
  std::string creds;
  creds.reserve(client_id.size() + secret.size() + 1);
  creds.append(client_id).push_back(':');
  creds.append(secret);
  return "Basic " + crypto::base64_encode(creds);
}

std::optional<paypal_token> parse_paypal_token(std::string_view body) {
  dom d{body};
  if (!d.root)
    return std::nullopt;
  paypal_token t;
  t.access_token = str(*d.root, "access_token");
  if (t.access_token.empty())
    return std::nullopt;
  auto e = get_int(*d.root, "expires_in");
  t.expires_in = e.ok() && e.value > 0 ? e.value : 0;
  return t;
}

std::string utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max)
    return std::string{s};
  auto n = max;
  // Step back over continuation bytes (10xxxxxx) to a sequence start.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n;
  return std::string{s.substr(0, n)};
}

std::string paypal_order_body(const paypal_order_input& in) {
  auto id = std::to_string(in.payment_id);
  json::object amount{{"currency_code", in.currency},
                      {"value", format_amount(in.amount_minor)}};
  json::object unit{
    {"reference_id", id}, {"custom_id", id}, {"amount", std::move(amount)}};
  if (!in.description.empty())
    unit["description"] = utf8_prefix(in.description, 127);
  json::object ctx{{"return_url", in.return_url},
                   {"cancel_url", in.cancel_url},
                   {"user_action", "PAY_NOW"},
                   {"shipping_preference", "NO_SHIPPING"},
                   {"locale", "he-IL"}};
  if (!in.brand_name.empty())
    ctx["brand_name"] = utf8_prefix(in.brand_name, 127);
  json::object body{{"intent", "CAPTURE"},
                    {"purchase_units", json::array{std::move(unit)}},
                    {"payment_source",
                     json::object{{"paypal", json::object{{"experience_context",
                                                           std::move(ctx)}}}}}};
  return json::serialize(body);
}

std::optional<paypal_order> parse_paypal_order(std::string_view body) {
  dom d{body};
  if (!d.root)
    return std::nullopt;
  paypal_order o;
  o.id = str(*d.root, "id");
  o.status = str(*d.root, "status");
  if (auto links = get_array(*d.root, "links"); links.ok()) {
    for (auto el : links.value) {
      simdjson::dom::object l;
      if (el.get(l) != simdjson::SUCCESS)
        continue;
      auto rel = str(l, "rel");
      if (rel == "approve" || rel == "payer-action") {
        o.approve_url = str(l, "href");
        break;
      }
    }
  }
  if (o.id.empty() || o.approve_url.empty()
      || (o.approve_url.rfind("https://", 0) != 0
          && o.approve_url.rfind("http://", 0) != 0))
    return std::nullopt;
  return o;
}

std::optional<paypal_capture> parse_paypal_capture(std::string_view body) {
  dom d{body};
  if (!d.root)
    return std::nullopt;
  paypal_capture c;
  c.order_id = str(*d.root, "id");
  c.status = str(*d.root, "status");
  if (c.order_id.empty() && c.status.empty())
    return std::nullopt;
  if (auto unit = first_of(*d.root, "purchase_units")) {
    c.custom_id = str(*unit, "custom_id");
    if (auto payments = obj(*unit, "payments")) {
      if (auto cap = first_of(*payments, "captures")) {
        c.capture_id = str(*cap, "id");
        c.capture_status = str(*cap, "status");
        if (c.custom_id.empty())
          c.custom_id = str(*cap, "custom_id");
        read_amount(*cap, c.amount_minor, c.currency);
      }
    }
  }
  return c;
}

bool paypal_capture_completed(const paypal_capture& c) {
  return c.status == "COMPLETED"
         && (c.capture_status.empty() || c.capture_status == "COMPLETED");
}

bool paypal_already_captured(std::string_view error_body) {
  dom d{error_body};
  if (!d.root)
    return false;
  if (auto details = get_array(*d.root, "details"); details.ok())
    for (auto el : details.value) {
      simdjson::dom::object o;
      if (el.get(o) == simdjson::SUCCESS
          && str(o, "issue") == "ORDER_ALREADY_CAPTURED")
        return true;
    }
  return false;
}

std::string paypal_error_summary(int status, std::string_view body) {
  std::string out = "PayPal " + std::to_string(status);
  dom d{body};
  if (d.root) {
    auto name = str(*d.root, "name");
    if (name.empty())
      name = str(*d.root, "error");
    auto msg = str(*d.root, "message");
    if (msg.empty())
      msg = str(*d.root, "error_description");
    if (!name.empty())
      out += ": " + utf8_prefix(name, 60);
    if (!msg.empty())
      out += ": " + utf8_prefix(msg, 120);
  }
  return out;
}

bool paypal_webhook_headers::complete() const {
  return !auth_algo.empty() && !cert_url.empty() && !transmission_id.empty()
         && !transmission_sig.empty() && !transmission_time.empty();
}

std::string paypal_verify_body(const paypal_webhook_headers& h,
                               std::string_view webhook_id,
                               std::string_view raw_event) {
  json::object o{{"auth_algo", h.auth_algo},
                 {"cert_url", h.cert_url},
                 {"transmission_id", h.transmission_id},
                 {"transmission_sig", h.transmission_sig},
                 {"transmission_time", h.transmission_time},
                 {"webhook_id", webhook_id}};
  auto head = json::serialize(o);
  // Replace the closing '}' with the verbatim event.
  head.pop_back();
  head += ",\"webhook_event\":";
  head.append(raw_event);
  head.push_back('}');
  return head;
}

bool paypal_verification_succeeded(std::string_view body) {
  dom d{body};
  return d.root && str(*d.root, "verification_status") == "SUCCESS";
}

std::optional<paypal_event> parse_paypal_event(std::string_view raw) {
  dom d{raw};
  if (!d.root)
    return std::nullopt;
  paypal_event e;
  e.id = str(*d.root, "id");
  e.event_type = str(*d.root, "event_type");
  auto res = obj(*d.root, "resource");
  if (e.id.empty() || e.event_type.empty() || !res)
    return std::nullopt;
  e.resource_status = str(*res, "status");
  if (e.event_type.rfind("PAYMENT.CAPTURE.", 0) == 0) {
    // resource = the capture
    e.capture_id = str(*res, "id");
    e.custom_id = str(*res, "custom_id");
    read_amount(*res, e.amount_minor, e.currency);
    if (auto sup = obj(*res, "supplementary_data"))
      if (auto rel = obj(*sup, "related_ids"))
        e.order_id = str(*rel, "order_id");
  } else {
    // resource = the order (CHECKOUT.ORDER.*)
    e.order_id = str(*res, "id");
    if (auto unit = first_of(*res, "purchase_units")) {
      e.custom_id = str(*unit, "custom_id");
      read_amount(*unit, e.amount_minor, e.currency);
    }
  }
  return e;
}

std::optional<std::int64_t> payment_id_from_custom_id(std::string_view s) {
  if (s.empty() || s.size() > 18 || s[0] == '0')
    return std::nullopt;
  std::int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

// -- Tranzila -----------------------------------------------------------------

std::optional<int> tranzila_currency_code(std::string_view currency) {
  if (currency == "ILS")
    return 1;
  if (currency == "USD")
    return 2;
  return std::nullopt;
}

std::optional<std::string> tranzila_pay_url(const tranzila_link_input& in) {
  auto code = tranzila_currency_code(in.currency);
  if (!code || in.terminal.empty() || in.amount_minor <= 0)
    return std::nullopt;
  std::string base = in.base;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  std::string url = base + "/" + percent_encode(in.terminal) + "/iframenew.php";
  url += "?sum=" + format_amount(in.amount_minor);
  url += "&currency=" + std::to_string(*code);
  url += "&cred_type=1";
  if (!in.description.empty())
    url += "&pdesc=" + percent_encode(utf8_prefix(in.description, 200));
  url += "&notify_url_address=" + percent_encode(in.notify_url);
  url += "&orderId=" + std::to_string(in.payment_id);
  url += "&lang=il";
  return url;
}

std::string tranzila_notify_target(std::string_view signing_key,
                                   std::int64_t payment_id) {
  auto id = std::to_string(payment_id);
  // The token is base64url: already safe in a query.
  return "/webhook/payments/tranzila?payment=" + id
         + "&token=" + issue_token(signing_key, payment_token_purpose, id);
}

bool verify_tranzila_token(std::string_view signing_key,
                           std::string_view payment_id,
                           std::string_view token) {
  return verify_token(signing_key, payment_token_purpose, payment_id, token);
}

tranzila_verdict judge_tranzila_notify(const form_params& form,
                                       std::int64_t expected_minor,
                                       std::string_view currency) {
  tranzila_verdict v;
  v.code = utf8_prefix(form.value_or("Response"), 16);
  for (auto key : {"index", "ConfirmationCode", "Tempref"})
    if (auto r = form.get(key); r && !r->empty()) {
      v.reference = utf8_prefix(*r, 64);
      break;
    }
  if (v.code.empty()) {
    v.reason = "missing Response";
    return v;
  }
  if (v.code != "000") {
    v.reason = "declined: Response " + v.code;
    return v;
  }
  auto sum = form.get("sum");
  auto minor = sum ? parse_amount_minor(*sum) : std::nullopt;
  if (!minor || *minor != expected_minor) {
    v.reason = "sum mismatch: expected " + format_amount(expected_minor)
               + ", got " + utf8_prefix(sum ? *sum : "(none)", 24);
    return v;
  }
  if (auto cur = form.get("currency"); cur && !cur->empty()) {
    auto code = tranzila_currency_code(currency);
    if (!code || *cur != std::to_string(*code)) {
      v.reason = "currency mismatch: got " + utf8_prefix(*cur, 8);
      return v;
    }
  }
  v.paid = true;
  return v;
}

} // namespace al
