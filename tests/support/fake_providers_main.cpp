// fake_providers: the outside world of AgentLocator on one local port, for
// deploy/smoke.sh (deploy/test.sh starts it and points TWILIO_API_BASE,
// PAYPAL_API_BASE and META_API_BASE at it). It speaks the providers' wire
// formats (PROTOCOLS.md §3, §5, §6, §8):
//
//   Twilio  POST /2010-04-01/Accounts/{sid}/Messages.json   (Basic auth)
//           POST /2010-04-01/Accounts/{sid}/Calls/{CallSid}.json
//           GET  /2010-04-01/Accounts/{sid}/Recordings/{sid}[.wav]
//   PayPal  POST /v1/oauth2/token, /v2/checkout/orders,
//           /v2/checkout/orders/{id}/capture,
//           /v1/notifications/verify-webhook-signature
//   Meta    POST [/vNN.N]/{phone_id}/messages                (Bearer)
//   Fake    GET /__requests  (every request so far, JSON), DELETE /__requests
//
// Failure knobs: a Twilio/Meta recipient containing "+9725000000" (Meta:
// "9725000000") is refused as an invalid number; a PayPal webhook
// verification succeeds only for transmission_sig "valid-sig".
//
//   fake_providers --port N     (0 = ephemeral) prints "listening on N",
//                               runs until SIGTERM or SIGINT.

#include "tests/support/fake_http_server.hpp"

#include "core/crypto.hpp"
#include "core/form.hpp"

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace al;
namespace json = boost::json;
using request = fake_http_server::request;
using response = fake_http_server::response;

std::vector<std::string> split_path(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < target.size()) {
    auto j = target.find('/', i);
    if (j == std::string_view::npos)
      j = target.size();
    if (j > i)
      parts.emplace_back(target.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size()
         && s.substr(s.size() - suffix.size()) == suffix;
}

response reply_json(http::status st, const json::value& v) {
  return fake_http_server::reply(st, json::serialize(v));
}

/// The fake's state; touched only on the server thread.
class providers {
public:
  response handle(const request& req) {
    auto target = std::string{req.target()};
    if (target.rfind("/__requests", 0) == 0)
      return requests_route(req);
    log(req);
    auto p = split_path(target);
    auto post = req.method() == http::verb::post;
    if (p.size() >= 3 && p[0] == "2010-04-01" && p[1] == "Accounts")
      return twilio(req, p);
    if (post && p == std::vector<std::string>{"v1", "oauth2", "token"})
      return paypal_token(req);
    if (post && p.size() == 3 && p[0] == "v2" && p[1] == "checkout"
        && p[2] == "orders")
      return paypal_create(req);
    if (post && p.size() == 5 && p[0] == "v2" && p[1] == "checkout"
        && p[2] == "orders" && p[4] == "capture")
      return paypal_capture(req, p[3]);
    if (post && p.size() == 3 && p[0] == "v1" && p[1] == "notifications"
        && p[2] == "verify-webhook-signature")
      return paypal_verify(req);
    if (post && !p.empty() && p.back() == "messages"
        && (p.size() == 2
            || (p.size() == 3 && p[0].size() > 1 && p[0][0] == 'v')))
      return meta_send(req, p[p.size() - 2]);
    return reply_json(http::status::not_found,
                      {{"error", "no such fake route"}, {"target", target}});
  }

private:
  // -- helpers --------------------------------------------------------------

  std::string hex(std::size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < n; ++i)
      s.push_back(digits[rng_() % 16]);
    return s;
  }

  std::string upper_alnum(std::size_t n) {
    static const char* chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::string s;
    for (std::size_t i = 0; i < n; ++i)
      s.push_back(chars[rng_() % 36]);
    return s;
  }

  static std::string rfc2822_now() {
    char buf[64];
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    return buf;
  }

  static std::string iso_now() {
    char buf[32];
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
  }

  /// "user:password" from "Authorization: Basic ...", or nullopt.
  static std::optional<std::pair<std::string, std::string>>
  basic_auth(const request& req) {
    auto h = std::string_view{req[http::field::authorization]};
    if (h.rfind("Basic ", 0) != 0)
      return std::nullopt;
    auto raw = crypto::base64_decode(h.substr(6));
    if (!raw)
      return std::nullopt;
    auto colon = raw->find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == raw->size())
      return std::nullopt;
    return std::make_pair(raw->substr(0, colon), raw->substr(colon + 1));
  }

  static std::string bearer(const request& req) {
    auto h = std::string_view{req[http::field::authorization]};
    return h.rfind("Bearer ", 0) == 0 ? std::string{h.substr(7)} : "";
  }

  void log(const request& req) {
    json::object headers;
    for (const auto& f : req) {
      std::string name{f.name_string()};
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      headers[name] = std::string{f.value()};
    }
    log_.push_back(json::object{{"seq", log_.size() + 1},
                                {"method", std::string{req.method_string()}},
                                {"target", std::string{req.target()}},
                                {"headers", std::move(headers)},
                                {"body", req.body()}});
  }

  response requests_route(const request& req) {
    if (req.method() == http::verb::delete_) {
      log_.clear();
      return fake_http_server::reply(http::status::no_content, "", "");
    }
    return reply_json(http::status::ok, log_);
  }

  // -- Twilio ---------------------------------------------------------------

  static response twilio_error(http::status st, int code, std::string msg) {
    return reply_json(st, {{"code", code},
                           {"message", std::move(msg)},
                           {"more_info", "https://www.twilio.com/docs/errors/"
                                           + std::to_string(code)},
                           {"status", static_cast<int>(st)}});
  }

  response twilio(const request& req, const std::vector<std::string>& p) {
    const auto& sid = p[2];
    auto auth = basic_auth(req);
    if (!auth || auth->first != sid)
      return twilio_error(http::status::unauthorized, 20003, "Authenticate");
    auto post = req.method() == http::verb::post;
    if (post && p.size() == 4 && p[3] == "Messages.json")
      return twilio_message(req, sid);
    if (post && p.size() == 5 && p[3] == "Calls" && ends_with(p[4], ".json"))
      return twilio_call_update(req, sid, p[4].substr(0, p[4].size() - 5));
    if (req.method() == http::verb::get && p.size() == 5
        && p[3] == "Recordings")
      return twilio_recording();
    return twilio_error(http::status::not_found, 20404,
                        "The requested resource was not found");
  }

  response twilio_message(const request& req, const std::string& account) {
    auto form = parse_form(req.body());
    if (!form)
      return twilio_error(http::status::bad_request, 21100,
                          "Malformed form body");
    auto to = form->value_or("To");
    auto from = form->value_or("From");
    auto body = form->value_or("Body");
    if (to.empty())
      return twilio_error(http::status::bad_request, 21604,
                          "A 'To' phone number is required.");
    if (from.empty() && !form->contains("MessagingServiceSid"))
      return twilio_error(http::status::bad_request, 21603,
                          "A 'From' phone number is required.");
    if (body.empty() && !form->contains("MediaUrl")
        && !form->contains("ContentSid"))
      return twilio_error(http::status::bad_request, 21602,
                          "Message body is required.");
    if (to.find("+9725000000") != std::string::npos)
      return twilio_error(http::status::bad_request, 21211,
                          "Invalid 'To' Phone Number");
    auto sid = "SM" + hex(32);
    auto now = rfc2822_now();
    return reply_json(http::status::created,
                      {{"sid", sid},
                       {"status", "queued"},
                       {"to", to},
                       {"from", from},
                       {"body", body},
                       {"account_sid", account},
                       {"messaging_service_sid", nullptr},
                       {"direction", "outbound-api"},
                       {"num_segments", "1"},
                       {"num_media", "0"},
                       {"api_version", "2010-04-01"},
                       {"price", nullptr},
                       {"price_unit", "USD"},
                       {"date_created", now},
                       {"date_updated", now},
                       {"date_sent", nullptr},
                       {"error_code", nullptr},
                       {"error_message", nullptr},
                       {"uri", "/2010-04-01/Accounts/" + account + "/Messages/"
                                 + sid + ".json"}});
  }

  response twilio_call_update(const request& req, const std::string& account,
                              const std::string& call_sid) {
    auto form = parse_form(req.body());
    if (!form)
      return twilio_error(http::status::bad_request, 21100,
                          "Malformed form body");
    if (!form->contains("Twiml") && !form->contains("Url")
        && !form->contains("Status"))
      return twilio_error(http::status::bad_request, 21205,
                          "Url parameter is required.");
    auto status = form->value_or("Status", "in-progress");
    return reply_json(http::status::ok, {{"sid", call_sid},
                                         {"account_sid", account},
                                         {"status", status},
                                         {"date_updated", rfc2822_now()},
                                         {"api_version", "2010-04-01"}});
  }

  // A 0.1 s 8 kHz 16-bit mono silent WAV.
  static response twilio_recording() {
    std::string pcm(1600, '\0');
    auto le32 = [](std::uint32_t v) {
      std::string s(4, '\0');
      for (int i = 0; i < 4; ++i)
        s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
      return s;
    };
    auto le16 = [](std::uint16_t v) {
      return std::string{static_cast<char>(v & 0xff),
                         static_cast<char>(v >> 8)};
    };
    std::string wav = "RIFF" + le32(36 + static_cast<std::uint32_t>(pcm.size()))
                      + "WAVEfmt " + le32(16) + le16(1) + le16(1) + le32(8000)
                      + le32(16000) + le16(2) + le16(16) + "data"
                      + le32(static_cast<std::uint32_t>(pcm.size())) + pcm;
    return fake_http_server::reply(http::status::ok, std::move(wav),
                                   "audio/x-wav");
  }

  // -- PayPal ---------------------------------------------------------------

  static response paypal_error(http::status st, std::string name,
                               std::string message, std::string issue = {}) {
    json::object o{{"name", std::move(name)},
                   {"message", std::move(message)},
                   {"debug_id", "f00dfeed0001"}};
    if (!issue.empty())
      o["details"] = json::array{json::object{{"issue", std::move(issue)}}};
    return reply_json(st, o);
  }

  bool bearer_ok(const request& req) const {
    return tokens_.count(bearer(req)) > 0;
  }

  static response paypal_unauthorized() {
    return reply_json(
      http::status::unauthorized,
      {{"error", "invalid_token"},
       {"error_description", "Access Token not found in cache"}});
  }

  response paypal_token(const request& req) {
    if (!basic_auth(req))
      return reply_json(
        http::status::unauthorized,
        {{"error", "invalid_client"},
         {"error_description", "Client Authentication failed"}});
    auto form = parse_form(req.body());
    if (!form || form->value_or("grant_type") != "client_credentials")
      return reply_json(
        http::status::bad_request,
        {{"error", "unsupported_grant_type"},
         {"error_description", "Grant Type is NULL or not supported"}});
    auto token = "A21AA" + upper_alnum(40);
    tokens_.insert(token);
    return reply_json(
      http::status::ok,
      {{"scope", "https://uri.paypal.com/services/payments/payment"},
       {"access_token", token},
       {"token_type", "Bearer"},
       {"app_id", "APP-80W284485P519543T"},
       {"expires_in", 32400},
       {"nonce", iso_now() + "fake"}});
  }

  struct order {
    json::object unit; // the purchase unit as sent
    bool captured = false;
  };

  response paypal_create(const request& req) {
    if (!bearer_ok(req))
      return paypal_unauthorized();
    auto request_id = std::string{req["PayPal-Request-Id"]};
    if (!request_id.empty())
      if (auto it = by_request_id_.find(request_id); it != by_request_id_.end())
        return order_created(it->second);
    boost::system::error_code ec;
    auto v = json::parse(req.body(), ec);
    const json::object* o = ec ? nullptr : v.if_object();
    const json::array* units = nullptr;
    if (o && o->contains("purchase_units"))
      units = o->at("purchase_units").if_array();
    if (!o || !units || units->empty() || !(*units)[0].is_object())
      return paypal_error(http::status::bad_request, "INVALID_REQUEST",
                          "Request is not well-formed, syntactically "
                          "incorrect, or violates schema.",
                          "MISSING_REQUIRED_PARAMETER");
    const auto& unit = (*units)[0].as_object();
    auto* amount = unit.if_contains("amount");
    if (!amount || !amount->is_object()
        || !amount->as_object().contains("currency_code")
        || !amount->as_object().contains("value")
        || !amount->as_object().at("value").is_string())
      return paypal_error(http::status::unprocessable_entity,
                          "UNPROCESSABLE_ENTITY",
                          "The requested action could not be performed.",
                          "AMOUNT_MISMATCH");
    auto id = upper_alnum(17);
    orders_[id] = order{unit, false};
    bool experience = o->contains("payment_source");
    experience_[id] = experience;
    if (!request_id.empty())
      by_request_id_[request_id] = id;
    return order_created(id);
  }

  response order_created(const std::string& id) {
    bool experience = experience_[id];
    auto self = "https://api.sandbox.paypal.com/v2/checkout/orders/" + id;
    return reply_json(
      http::status::created,
      {{"id", id},
       {"status", experience ? "PAYER_ACTION_REQUIRED" : "CREATED"},
       {"links",
        json::array{
          json::object{{"href", self}, {"rel", "self"}, {"method", "GET"}},
          json::object{
            {"href", "https://www.sandbox.paypal.com/checkoutnow?token=" + id},
            {"rel", experience ? "payer-action" : "approve"},
            {"method", "GET"}},
          json::object{{"href", self}, {"rel", "update"}, {"method", "PATCH"}},
          json::object{{"href", self + "/capture"},
                       {"rel", "capture"},
                       {"method", "POST"}}}}});
  }

  response paypal_capture(const request& req, const std::string& id) {
    if (!bearer_ok(req))
      return paypal_unauthorized();
    auto it = orders_.find(id);
    if (it == orders_.end())
      return paypal_error(http::status::not_found, "RESOURCE_NOT_FOUND",
                          "The specified resource does not exist.",
                          "INVALID_RESOURCE_ID");
    if (it->second.captured)
      return paypal_error(http::status::unprocessable_entity,
                          "UNPROCESSABLE_ENTITY",
                          "The requested action could not be performed, "
                          "semantically incorrect, or failed business "
                          "validation.",
                          "ORDER_ALREADY_CAPTURED");
    it->second.captured = true;
    const auto& unit = it->second.unit;
    json::object capture{{"id", "CAP" + upper_alnum(14)},
                         {"status", "COMPLETED"},
                         {"amount", unit.at("amount")},
                         {"final_capture", true},
                         {"create_time", iso_now()}};
    if (auto* c = unit.if_contains("custom_id"))
      capture["custom_id"] = *c;
    json::object pu{
      {"payments", json::object{{"captures", json::array{capture}}}}};
    if (auto* r = unit.if_contains("reference_id"))
      pu["reference_id"] = *r;
    return reply_json(http::status::created,
                      {{"id", id},
                       {"status", "COMPLETED"},
                       {"purchase_units", json::array{pu}},
                       {"payer", json::object{{"payer_id", "FAKEPAYER123"}}}});
  }

  response paypal_verify(const request& req) {
    if (!bearer_ok(req))
      return paypal_unauthorized();
    boost::system::error_code ec;
    auto v = json::parse(req.body(), ec);
    const json::object* o = ec ? nullptr : v.if_object();
    if (!o || !o->contains("webhook_event"))
      return paypal_error(http::status::bad_request, "VALIDATION_ERROR",
                          "Invalid request - see details",
                          "MISSING_REQUIRED_PARAMETER");
    auto* sig = o->if_contains("transmission_sig");
    bool ok = sig && sig->is_string() && sig->as_string() == "valid-sig";
    return reply_json(http::status::ok,
                      {{"verification_status", ok ? "SUCCESS" : "FAILURE"}});
  }

  // -- Meta WhatsApp Cloud API ----------------------------------------------

  response meta_send(const request& req, const std::string& phone_id) {
    if (bearer(req).empty())
      return reply_json(
        http::status::unauthorized,
        {{"error", json::object{{"message", "Invalid OAuth access token."},
                                {"type", "OAuthException"},
                                {"code", 190},
                                {"fbtrace_id", "Afake" + upper_alnum(10)}}}});
    boost::system::error_code ec;
    auto v = json::parse(req.body(), ec);
    const json::object* o = ec ? nullptr : v.if_object();
    auto str = [o](const char* key) -> std::string {
      if (!o)
        return {};
      auto* x = o->if_contains(key);
      return x && x->is_string() ? std::string{x->as_string()} : "";
    };
    if (!o || str("messaging_product") != "whatsapp" || str("to").empty())
      return reply_json(
        http::status::bad_request,
        {{"error", json::object{{"message", "(#100) Invalid parameter"},
                                {"type", "OAuthException"},
                                {"code", 100},
                                {"fbtrace_id", "Afake" + upper_alnum(10)}}}});
    auto to = str("to");
    if (to.find("9725000000") != std::string::npos)
      return reply_json(
        http::status::bad_request,
        {{"error",
          json::object{{"message",
                        "(#131030) Recipient phone number not in allowed list"},
                       {"type", "OAuthException"},
                       {"code", 131030},
                       {"fbtrace_id", "Afake" + upper_alnum(10)}}}});
    std::string digits;
    for (char c : to)
      if (c >= '0' && c <= '9')
        digits.push_back(c);
    return reply_json(
      http::status::ok,
      {{"messaging_product", "whatsapp"},
       {"contacts",
        json::array{json::object{{"input", to}, {"wa_id", digits}}}},
       {"messages",
        json::array{json::object{
          {"id", "wamid.HBgM" + upper_alnum(24) + "_" + phone_id}}}}});
  }

  std::mt19937_64 rng_{std::random_device{}()};
  json::array log_;
  std::set<std::string> tokens_;
  std::map<std::string, order> orders_;
  std::map<std::string, bool> experience_;
  std::map<std::string, std::string> by_request_id_;
};

int usage() {
  std::cerr << "usage: fake_providers --port N   (0 = ephemeral)\n";
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  long port = -1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--port" && i + 1 < argc) {
      char* end = nullptr;
      port = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || port < 0 || port > 65535)
        return usage();
    } else {
      return usage();
    }
  }
  if (port < 0)
    return usage();

  // Block the stop signals before the server thread starts, so that it
  // inherits the mask and only sigwait below sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto state = std::make_shared<providers>();
  try {
    al::fake_http_server server{[state](const request& req) {
                                  return state->handle(req);
                                },
                                static_cast<unsigned short>(port)};
    std::cout << "listening on " << server.port() << std::endl;
    int sig = 0;
    sigwait(&stop, &sig);
    std::cout << "fake_providers: signal " << sig << ", exiting" << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "fake_providers: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
