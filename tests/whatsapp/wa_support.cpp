#include "tests/whatsapp/wa_support.hpp"

#include <boost/beast/http.hpp>

#include <cstdio>

namespace al::test {

namespace {

fake_http_server::response json_reply(http::status st, const json::value& v) {
  return fake_http_server::reply(st, json::serialize(v));
}

} // namespace

// -- fake Twilio
// --------------------------------------------------------------------

fake_twilio::fake_twilio()
  : server_(
    [this](const fake_http_server::request& req) { return handle(req); }) {}

fake_http_server::response
fake_twilio::handle(const fake_http_server::request& req) {
  // Called when the answer is due (after any delay): requests read by now
  // but not answered yet were in flight at the same time as this one.
  int answered = ++answered_;
  int outstanding = static_cast<int>(server_.request_count()) - answered + 1;
  int prev = max_outstanding_;
  while (outstanding > prev
         && !max_outstanding_.compare_exchange_weak(prev, outstanding)) {
  }
  auto target = std::string{req.target()};
  auto auth = std::string{req[http::field::authorization]};
  if (req.method() != http::verb::post
      || target.find("/2010-04-01/Accounts/") != 0 || target.size() < 14
      || target.compare(target.size() - 14, 14, "/Messages.json") != 0)
    return json_reply(http::status::not_found,
                      {{"code", 20404},
                       {"message", "The requested resource was not found"},
                       {"status", 404}});
  if (auth.rfind("Basic ", 0) != 0)
    return json_reply(http::status::unauthorized, {{"code", 20003},
                                                   {"message", "Authenticate"},
                                                   {"status", 401}});
  switch (mode_.load()) {
    case fake_mode::reject:
      return json_reply(
        http::status::bad_request,
        {{"code", 21211},
         {"message", "Invalid 'To' Phone Number"},
         {"more_info", "https://www.twilio.com/docs/errors/21211"},
         {"status", 400}});
    case fake_mode::server_error:
      return fake_http_server::reply(http::status::service_unavailable,
                                     "<html>Service Unavailable</html>",
                                     "text/html");
    case fake_mode::ok:
      break;
  }
  char sid[40];
  std::snprintf(sid, sizeof sid, "SM%032x", ++next_sid_);
  auto form = parse_form(req.body()).value_or(form_params{});
  return json_reply(http::status::created, {{"sid", sid},
                                            {"status", "queued"},
                                            {"to", form.value_or("To")},
                                            {"from", form.value_or("From")},
                                            {"body", form.value_or("Body")},
                                            {"direction", "outbound-api"},
                                            {"error_code", nullptr},
                                            {"error_message", nullptr}});
}

std::vector<form_params> fake_twilio::messages() const {
  std::vector<form_params> out;
  for (auto& r : server_.requests())
    if (std::string{r.target()}.find("/Messages.json") != std::string::npos)
      out.push_back(parse_form(r.body()).value_or(form_params{}));
  return out;
}

// -- fake Meta
// ------------------------------------------------------------------------

fake_meta::fake_meta()
  : server_(
    [this](const fake_http_server::request& req) { return handle(req); }) {}

fake_http_server::response
fake_meta::handle(const fake_http_server::request& req) {
  auto auth = std::string{req[http::field::authorization]};
  auto error = [](http::status st, int code, const char* msg) {
    return json_reply(
      st, json::object{{"error", json::object{{"message", msg},
                                              {"type", "OAuthException"},
                                              {"code", code},
                                              {"fbtrace_id", "AfakeT"}}}});
  };
  if (auth.rfind("Bearer ", 0) != 0)
    return error(http::status::unauthorized, 190,
                 "Invalid OAuth access token.");
  switch (mode_.load()) {
    case fake_mode::reject:
      return error(http::status::bad_request, 131030,
                   "(#131030) Recipient phone number not in allowed list");
    case fake_mode::server_error:
      return fake_http_server::reply(http::status::service_unavailable,
                                     "Service Unavailable", "text/plain");
    case fake_mode::ok:
      break;
  }
  boost::system::error_code ec;
  auto v = json::parse(req.body(), ec);
  std::string to;
  if (!ec && v.is_object() && v.as_object().contains("to")
      && v.as_object().at("to").is_string())
    to = std::string{v.as_object().at("to").as_string()};
  return json_reply(
    http::status::ok,
    {{"messaging_product", "whatsapp"},
     {"contacts", json::array{json::object{{"input", to}, {"wa_id", to}}}},
     {"messages", json::array{json::object{
                    {"id", "wamid.FAKE" + std::to_string(++next_id_)}}}}});
}

// -- answers
// -----------------------------------------------------------------------------

const json::object& wa_answer::obj() const {
  static const json::object empty;
  return json.is_object() ? json.as_object() : empty;
}

std::string wa_answer::str(const char* key) const {
  auto* v = obj().if_contains(key);
  return v && v->is_string() ? std::string{v->as_string()} : std::string{};
}

std::int64_t wa_answer::num(const char* key) const {
  auto* v = obj().if_contains(key);
  return v && v->is_int64() ? v->as_int64() : -1;
}

// -- fixture
// -------------------------------------------------------------------------------

config whatsapp_test::wa_config() {
  auto c = test_config();
  c.twilio_api_base = twilio_.base_url();
  c.meta_api_base = meta_.base_url();
  c.meta_wa_token = "meta-token";
  c.meta_wa_phone_id = "10987";
  c.meta_app_secret = "meta-secret";
  c.meta_verify_token = "verify-me";
  c.whatsapp_provider_timeout = std::chrono::milliseconds(500);
  return c;
}

void whatsapp_test::start(config c) {
  app_ = std::make_unique<running_app>(std::move(c));
}

wa_answer
whatsapp_test::api(const std::string& method, const std::string& target,
                   const std::string& token, const std::string& body) {
  auto r = api_call(port(), method, target, token, body);
  wa_answer a;
  a.status = r.status;
  a.body = r.body;
  boost::system::error_code ec;
  a.json = json::parse(r.body, ec);
  if (ec)
    a.json = nullptr;
  return a;
}

wa_answer whatsapp_test::send(const std::string& json_body,
                              const std::string& token) {
  return api("POST", "/api/whatsapp/send", token, json_body);
}

http_result whatsapp_test::twilio_webhook(
  const std::string& path,
  const std::vector<std::pair<std::string, std::string>>& params,
  const std::string& token) {
  return twilio_post(port(), app_->cfg().public_base_url, token, path, params);
}

http_result
whatsapp_test::inbound(const std::string& sid, const std::string& from,
                       const std::string& body, const std::string& to,
                       const std::string& token) {
  return twilio_webhook("/webhook/whatsapp/incoming",
                        {{"MessageSid", sid},
                         {"AccountSid", "ACtest"},
                         {"From", "whatsapp:" + from},
                         {"To", "whatsapp:" + to},
                         {"Body", body},
                         {"NumMedia", "0"},
                         {"ProfileName", "Dana"},
                         {"WaId", from.substr(1)}},
                        token);
}

void whatsapp_test::open_window(const std::string& e164,
                                std::int64_t business) {
  auto peer = "whatsapp:" + e164;
  EXPECT_EQ(sql("INSERT INTO wa_conversations (business_id, peer,"
                " last_inbound_at) VALUES ("
                + std::to_string(business) + ", '" + peer
                + "', now()) ON CONFLICT (business_id, peer) DO UPDATE SET"
                  " last_inbound_at = now() RETURNING peer"),
            peer);
}

std::string whatsapp_test::sql(const std::string& q) {
  return sql_value(app_->cfg(), q);
}

std::int64_t whatsapp_test::new_business(const std::string& json_body) {
  auto r = api("POST", "/api/admin/businesses", "test-admin", json_body);
  EXPECT_EQ(r.status, 201) << r.body;
  return r.num("id");
}

std::string whatsapp_test::new_token(std::int64_t business,
                                     const std::string& role) {
  auto r = api("POST", "/api/admin/tokens", "test-admin",
               json::serialize(json::object{
                 {"business_id", business}, {"role", role}, {"name", "t"}}));
  EXPECT_EQ(r.status, 201) << r.body;
  return r.str("token");
}

} // namespace al::test
