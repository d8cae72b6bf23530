// The security suite (issue 23), on the real database and real sockets:
//   - tenant secrets at rest: a pg_dump reveals none, rows written in clear
//     are sealed at the next start, keys rotate (the CLI), start-up refuses
//     a database it cannot decrypt;
//   - the audit trail: who changed what, from where, in the transaction of
//     the change; append-only; retention;
//   - the sign-in throttle: slowed, then 429 with Retry-After, per address
//     and per token prefix, and recovery;
//   - webhook signatures across tenants (Twilio voice, WhatsApp, the media
//     upgrade) and Meta's;
//   - exposure: /metrics on its own port and behind a token, the
//     dashboard's security headers;
//   - sign-in links and dashboard sessions;
//   - the command line (version, migrate, rotate-secrets, sign-in-link,
//     token create, business create, check-config) and migration checksums.
// Cross-tenant access on every route is in cross_tenant_test.cpp.
#include "tests/crm/crm_support.hpp"
#include "tests/support/media_client.hpp"

#include "actors/audit.hpp"
#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/secret_box.hpp"
#include "core/twilio_signature.hpp"
#include "transport/services.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <csignal>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

namespace al::test {
namespace {

const std::string key_1 = "security-test-key-one-0123456789abcdef";
const std::string key_2 = "security-test-key-two-0123456789abcdef";

std::string random_marker(const std::string& what) {
  return what + "-" + crypto::random_token(9);
}

/// Runs a job on the app's store and waits for it; the job's error text.
std::string run_job(services& svc, std::function<void(db_tx&)> job) {
  std::promise<std::string> done;
  svc.db.run(std::move(job),
             [&done](const db_error& err) { done.set_value(err); });
  return done.get_future().get();
}

struct command_result {
  int exit = -1;
  std::string output;
};

/// Runs a shell command, capturing stdout and (unless `stdout_only`)
/// stderr.
command_result run_command(const std::string& cmd, bool stdout_only = false) {
  command_result r;
  auto* p = ::popen((cmd + (stdout_only ? " 2>/dev/null" : " 2>&1")).c_str(),
                    "r");
  if (!p)
    return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    r.output.append(buf.data(), n);
  auto status = ::pclose(p);
  r.exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

/// The agentlocator binary with only `env` in its environment.
command_result
run_cli(const std::string& args,
        const std::vector<std::pair<std::string, std::string>>& env,
        bool stdout_only = false) {
  std::string cmd = "env -i PATH=/usr/bin:/bin SCHEMAS_DIR="
                    + shell_quoted(AL_SOURCE_DIR "/schemas");
  for (auto& [k, v] : env)
    cmd += " " + k + "=" + shell_quoted(v);
  return run_command(cmd + " " + shell_quoted(AL_BINARY) + " " + args,
                     stdout_only);
}

std::string pg_dump_path() {
  if (auto ctl = std::getenv("AL_TEST_PG_CTL")) {
    std::string p = ctl;
    auto slash = p.rfind('/');
    if (slash != std::string::npos)
      return p.substr(0, slash + 1) + "pg_dump";
  }
  return "pg_dump";
}

/// The numeric value of an unlabelled metric ("name value" line), or -1.
double metric_value(const std::string& text, const std::string& name) {
  auto at = text.find("\n" + name + " ");
  if (at == std::string::npos)
    return -1;
  return std::strtod(text.c_str() + at + name.size() + 2, nullptr);
}

using params = std::vector<std::pair<std::string, std::string>>;

// -- secrets at rest
// -----------------------------------------------------------

TEST(SecretsAtRest, ADumpRevealsNoProviderSecret) {
  crm_app crm;
  auto twilio_secret = random_marker("TWILIO-SECRET");
  auto paypal_secret = random_marker("PAYPAL-SECRET");
  auto owner_paypal = random_marker("OWNER-PAYPAL");
  auto b = crm.new_business("Dump Realty");
  auto patch = crm.call(
    "PATCH", "/api/admin/businesses/" + std::to_string(b), admin_token,
    js(json::object{
      {"twilio", {{"account_sid", "ACdump"}, {"auth_token", twilio_secret}}},
      {"phone_numbers", json::array{"+97235550101"}},
      {"payments",
       {{"paypal_client_id", "client-id"},
        {"paypal_secret", paypal_secret}}}}));
  ASSERT_EQ(patch.status, 200) << patch.body;
  // An owner sets a secret through the settings too.
  auto owner = crm.new_token(1, "owner").token;
  auto s = crm.call(
    "PATCH", "/api/crm/settings", owner,
    js(json::object{{"payments", {{"paypal_secret", owner_paypal}}}}));
  ASSERT_EQ(s.status, 200) << s.body;

  // The secret works: a call to the business's number signed with its own
  // token is answered (so it was decrypted), one signed otherwise is not.
  const params call{{"CallSid", "CAdump1"},
                    {"From", "+972501234567"},
                    {"To", "+97235550101"},
                    {"AccountSid", "ACdump"},
                    {"CallStatus", "ringing"}};
  EXPECT_EQ(twilio_post(crm.app().port(), crm.cfg().public_base_url,
                        twilio_secret, "/webhook/incoming_call", call)
              .status,
            200);
  EXPECT_EQ(twilio_post(crm.app().port(), crm.cfg().public_base_url,
                        "wrong-token", "/webhook/incoming_call", call)
              .status,
            403);

  auto dump = run_command(pg_dump_path() + " --no-owner --dbname="
                          + shell_quoted(crm.cfg().database_url));
  ASSERT_EQ(dump.exit, 0) << dump.output.substr(0, 500);
  ASSERT_NE(dump.output.find("Dump Realty"), std::string::npos)
    << "the dump does not hold the data it should";
  for (auto& secret : {twilio_secret, paypal_secret, owner_paypal})
    EXPECT_EQ(dump.output.find(secret), std::string::npos)
      << "a provider secret is in the dump in clear";
  EXPECT_NE(
    dump.output.find("enc:v1:" + secrets::derive_key(crm.cfg().secret_key).id),
    std::string::npos);
  // Nor in any API answer or the audit trail.
  auto view = crm.call("GET", "/api/admin/businesses/" + std::to_string(b),
                       admin_token);
  auto audit = crm.call(
    "GET", "/api/crm/audit?business_id=" + std::to_string(b), admin_token);
  for (auto* body : {&view.body, &audit.body}) {
    EXPECT_EQ(body->find(twilio_secret), std::string::npos);
    EXPECT_EQ(body->find(paypal_secret), std::string::npos);
  }
}

TEST(SecretsAtRest, ClearRowsAreSealedAtStartAndKeysRotate) {
  auto base = test_config();
  base.secret_key = key_1;
  const auto id_1 = secrets::derive_key(key_1).id;
  const auto id_2 = secrets::derive_key(key_2).id;
  const params call{{"CallSid", "CArot1"},
                    {"From", "+972501234567"},
                    {"To", "+97235550999"},
                    {"AccountSid", "ACclear"},
                    {"CallStatus", "ringing"}};
  auto stored = [&base] {
    return sql_value(base, "SELECT twilio_auth_token FROM businesses"
                           " WHERE id = 1");
  };
  {
    running_app app{base};
    // A row written before encryption (or by hand): in clear.
    sql_value(base, "UPDATE businesses SET twilio_account_sid = 'ACclear',"
                    " twilio_auth_token = 'clear-secret-token' WHERE id = 1"
                    " RETURNING id");
    EXPECT_EQ(stored(), "clear-secret-token");
  }
  {
    // The next start seals it under the current key.
    running_app app{base};
    EXPECT_EQ(stored().rfind("enc:v1:" + id_1 + ":", 0), 0u) << stored();
    EXPECT_EQ(twilio_post(app.port(), base.public_base_url,
                          "clear-secret-token", "/webhook/incoming_call", call)
                .status,
              200);
  }
  auto rotated = base;
  rotated.secret_key = key_2;
  rotated.secret_keys_previous = {key_1};
  {
    // A new key with the old one as previous: still opens, unchanged.
    running_app app{rotated};
    EXPECT_EQ(stored().rfind("enc:v1:" + id_1 + ":", 0), 0u);
    auto p2 = call;
    p2[0].second = "CArot2";
    EXPECT_EQ(twilio_post(app.port(), base.public_base_url,
                          "clear-secret-token", "/webhook/incoming_call", p2)
                .status,
              200);
  }
  // rotate-secrets re-seals under the new key and says so in the audit trail.
  auto cli = run_cli("rotate-secrets", {{"DATABASE_URL", base.database_url},
                                        {"SECRET_KEY", key_2},
                                        {"SECRET_KEYS_PREVIOUS", key_1}});
  ASSERT_EQ(cli.exit, 0) << cli.output;
  EXPECT_NE(cli.output.find("sealed 1 tenant secret"), std::string::npos)
    << cli.output;
  EXPECT_EQ(stored().rfind("enc:v1:" + id_2 + ":", 0), 0u) << stored();
  EXPECT_EQ(sql_value(base, "SELECT actor || ' ' || target_id FROM audit_log"
                            " WHERE action = 'secrets.rotate'"),
            "cli " + id_2);
  // Run again: nothing left to do.
  cli = run_cli("rotate-secrets",
                {{"DATABASE_URL", base.database_url}, {"SECRET_KEY", key_2}});
  EXPECT_EQ(cli.exit, 0) << cli.output;
  EXPECT_NE(cli.output.find("already under the current key"),
            std::string::npos);
  {
    auto only_new = base;
    only_new.secret_key = key_2;
    running_app app{only_new};
    auto p3 = call;
    p3[0].second = "CArot3";
    EXPECT_EQ(twilio_post(app.port(), base.public_base_url,
                          "clear-secret-token", "/webhook/incoming_call", p3)
                .status,
              200);
  }
  // Start-up refuses what it cannot decrypt, with a clear message.
  auto refused = [](config cfg) {
    application app{std::move(cfg), AL_SOURCE_DIR "/schemas"};
    auto err = app.start("127.0.0.1");
    app.shutdown();
    return err;
  };
  auto old_only = base; // key_1 alone: the values are under key_2 now
  auto err = refused(old_only);
  EXPECT_NE(err.find(id_2), std::string::npos) << err;
  EXPECT_NE(err.find("SECRET_KEYS_PREVIOUS"), std::string::npos) << err;
  auto no_key = base;
  no_key.secret_key.clear();
  err = refused(no_key);
  EXPECT_NE(err.find("SECRET_KEY is not set"), std::string::npos) << err;
  // The value was never rewritten by a refused start.
  EXPECT_EQ(stored().rfind("enc:v1:" + id_2 + ":", 0), 0u);
}

// -- the audit trail
// -------------------------------------------------------------

TEST(Audit, EveryOwnerAndAdminChangeIsRecordedWithWhoAndWhere) {
  crm_app crm;
  auto owner = crm.new_token(1, "owner");
  auto agent = crm.new_token(1, "agent");
  auto port = crm.app().port();
  auto secret = random_marker("AUDIT-SECRET");
  auto greeting = random_marker("greeting");
  auto r
    = http_call(port, "PATCH", "/api/crm/settings",
                js(json::object{{"greeting", greeting},
                                {"payments", {{"paypal_secret", secret}}}}),
                {{"Authorization", "Bearer " + owner.token},
                 {"Content-Type", "application/json"},
                 {"X-Forwarded-For", "198.51.100.23"},
                 {"X-Request-Id", "sec-req-settings"}});
  ASSERT_EQ(r.status, 200) << r.body;

  auto list = crm.call("GET", "/api/crm/audit?action=settings.update",
                       owner.token);
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.int_at("total"), 1) << list.body;
  auto& e = list.items().at(0).as_object();
  EXPECT_EQ(e.at("actor"), ("token:" + std::to_string(owner.id)).c_str());
  EXPECT_EQ(e.at("token_id"), owner.id);
  EXPECT_EQ(e.at("role"), "owner");
  EXPECT_EQ(e.at("target_type"), "business");
  EXPECT_EQ(e.at("target_id"), "1");
  // The client behind the trusted proxy (127.0.0.1), not the proxy.
  EXPECT_EQ(e.at("address"), "198.51.100.23");
  EXPECT_EQ(e.at("request_id"), "sec-req-settings");
  auto& diff = e.at("diff").as_object();
  EXPECT_EQ(diff.at("greeting").at("to"), greeting.c_str());
  EXPECT_EQ(diff.at("payments.paypal_secret"),
            (json::object{{"changed", true}}));
  EXPECT_EQ(list.body.find(secret), std::string::npos);

  // A patch that changes nothing is no event.
  ASSERT_EQ(crm
              .call("PATCH", "/api/crm/settings", owner.token,
                    js(json::object{{"greeting", greeting}}))
              .status,
            200);
  EXPECT_EQ(crm.call("GET", "/api/crm/audit?action=settings.", owner.token)
              .int_at("total"),
            1);

  // Tokens made and revoked by the administrator.
  auto extra = crm.new_token(1, "read_only");
  ASSERT_EQ(crm
              .call("DELETE", "/api/admin/tokens/" + std::to_string(extra.id),
                    admin_token)
              .status,
            200);
  auto tokens = crm.call("GET", "/api/crm/audit?action=token.", owner.token);
  ASSERT_EQ(tokens.status, 200);
  // owner + agent + extra created, extra revoked.
  ASSERT_EQ(tokens.int_at("total"), 4) << tokens.body;
  auto& revoke = tokens.items().at(0).as_object();
  EXPECT_EQ(revoke.at("action"), "token.revoke");
  EXPECT_EQ(revoke.at("actor"), "admin");
  EXPECT_EQ(revoke.at("target_id"), std::to_string(extra.id).c_str());
  EXPECT_EQ(tokens.body.find(extra.token), std::string::npos)
    << "a token is in the audit trail";

  // A deleted lead: its id only, never its personal data.
  auto lead = crm.new_lead(agent.token,
                           R"({"name":"Privacy Person","phone":"0527770001"})");
  ASSERT_EQ(
    crm.call("DELETE", "/api/crm/leads/" + std::to_string(lead), agent.token)
      .status,
    200);
  auto deleted = crm.call("GET", "/api/crm/audit?action=lead.delete",
                          owner.token);
  ASSERT_EQ(deleted.int_at("total"), 1);
  EXPECT_EQ(deleted.items().at(0).at("target_id"),
            std::to_string(lead).c_str());
  EXPECT_EQ(deleted.items().at(0).at("actor"),
            ("token:" + std::to_string(agent.id)).c_str());
  EXPECT_EQ(deleted.body.find("Privacy Person"), std::string::npos);
  EXPECT_EQ(deleted.body.find("0527770001"), std::string::npos);

  // A refused change leaves no trace: the business update that conflicts.
  auto b = crm.new_business("Other");
  ASSERT_EQ(crm
              .call("PATCH", "/api/admin/businesses/" + std::to_string(b),
                    admin_token, R"({"phone_numbers":["+97235550202"]})")
              .status,
            200);
  ASSERT_EQ(crm
              .call("PATCH", "/api/admin/businesses/1", admin_token,
                    R"({"phone_numbers":["+97235550202"]})")
              .status,
            409);
  EXPECT_EQ(crm
              .call("GET", "/api/crm/audit?action=business.update", owner.token)
              .int_at("total"),
            0);

  // Who may read it: owners (their business) and the administrator.
  EXPECT_EQ(crm.call("GET", "/api/crm/audit", agent.token).status, 403);
  EXPECT_EQ(
    crm.call("GET", "/api/crm/audit?action=DROP%20TABLE", owner.token).status,
    400);
  auto b_owner = crm.new_token(b, "owner").token;
  auto theirs = crm.call("GET", "/api/crm/audit", b_owner);
  ASSERT_EQ(theirs.status, 200);
  for (auto& item : theirs.items())
    EXPECT_EQ(item.at("target_id") == "1"
                && item.at("target_type") == "business",
              false)
      << "another business's entry: " << js(item);
  EXPECT_EQ(theirs.body.find("sec-req-settings"), std::string::npos);
  EXPECT_GE(crm
              .call("GET", "/api/crm/audit?business_id=" + std::to_string(b),
                    admin_token)
              .int_at("total"),
            2); // created + updated by the administrator (+ its owner token)
}

TEST(Audit, TheTrailIsAppendOnlyAndPurgedAfterRetention) {
  crm_app crm;
  crm.new_token(1, "owner");
  EXPECT_THROW(crm.sql("UPDATE audit_log SET actor = 'someone else'"),
               std::exception);
  EXPECT_THROW(crm.sql("DELETE FROM audit_log"), std::exception);
  EXPECT_THROW(crm.sql("TRUNCATE audit_log"), std::exception);
  EXPECT_EQ(crm.sql("SELECT count(*) FROM audit_log"), "1");

  crm.sql("INSERT INTO audit_log(business_id, at, actor, action, target_type)"
          " VALUES (1, now() - interval '800 days', 'admin', 'old.change',"
          " 'business') RETURNING id");
  crm.sql("INSERT INTO audit_log(business_id, at, actor, action, target_type)"
          " VALUES (1, now() - interval '100 days', 'admin', 'recent.change',"
          " 'business') RETURNING id");
  std::int64_t purged = -1;
  ASSERT_EQ(run_job(crm.app().svc(),
                    [&purged](db_tx& tx) { purged = purge_audit(tx, 730); }),
            "");
  EXPECT_EQ(purged, 1);
  EXPECT_EQ(
    crm.sql("SELECT string_agg(action, ',' ORDER BY id) FROM audit_log"),
    "token.create,recent.change");
}

// -- the sign-in throttle
// --------------------------------------------------------

config throttled_config() {
  auto cfg = test_config();
  cfg.auth_fail_free = 2;
  cfg.auth_fail_block_after = 5;
  cfg.auth_fail_window = std::chrono::seconds(60);
  cfg.auth_block = std::chrono::seconds(1);
  return cfg;
}

http_result get_as(std::uint16_t port, const std::string& token,
                   const std::string& address) {
  header_list h{{"X-Forwarded-For", address}};
  if (!token.empty())
    h.emplace_back("Authorization", "Bearer " + token);
  return http_call(port, "GET", "/api/crm/leads", "", h);
}

TEST(Throttle, GuessingFromOneAddressIsSlowedThenRefusedThenRecovers) {
  crm_app crm{throttled_config()};
  auto port = crm.app().port();
  auto owner = crm.new_token(1, "owner").token;
  const std::string attacker = "198.51.100.7";
  // No token at all is not a guess: never throttled.
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(get_as(port, "", attacker).status, 401);
  // Distinct prefixes: only the address adds up.
  for (char c = 'a'; c < 'e'; ++c)
    EXPECT_EQ(
      get_as(port, std::string{"al_"} + c + "0000guess", attacker).status, 401);
  auto blocked = get_as(port, "al_e0000guess", attacker);
  EXPECT_EQ(blocked.status, 429) << blocked.body;
  EXPECT_GE(std::atoi(blocked.header("Retry-After").c_str()), 1);
  // The address is refused even with a valid token, before any lookup ...
  EXPECT_EQ(get_as(port, owner, attacker).status, 429);
  // ... and nobody else is: the office next door works on.
  EXPECT_EQ(get_as(port, owner, "203.0.113.9").status, 200);
  auto m = http_call(port, "GET", "/metrics");
  EXPECT_GE(metric_value(m.body, "al_auth_failures_total"), 5);
  EXPECT_GE(metric_value(m.body, "al_auth_throttled_total"), 2);
  // After AUTH_BLOCK_S the address recovers.
  EXPECT_TRUE(
    eventually([&] { return get_as(port, owner, attacker).status == 200; },
               std::chrono::seconds(10)));
  EXPECT_EQ(get_as(port, "al_f0000guess", attacker).status, 401);
}

TEST(Throttle, GuessingAroundOneTokenPrefixIsRefusedFromAnyAddress) {
  crm_app crm{throttled_config()};
  auto port = crm.app().port();
  auto owner = crm.new_token(1, "owner").token;
  // Five addresses, one guess each, one prefix: the prefix blocks.
  for (int i = 1; i <= 4; ++i)
    EXPECT_EQ(get_as(port, "al_LEAKED" + std::to_string(i),
                     "192.0.2." + std::to_string(i))
                .status,
              401);
  EXPECT_EQ(get_as(port, "al_LEAKED5", "192.0.2.5").status, 429);
  EXPECT_EQ(get_as(port, "al_LEAKED6", "192.0.2.6").status, 429);
  // A valid token is never refused for its prefix; its address is clean.
  EXPECT_EQ(get_as(port, owner, "192.0.2.6").status, 200);
  // The administrator's token is a bearer like any other here.
  EXPECT_EQ(get_as(port, admin_token, "192.0.2.7").status, 200);
}

// -- webhook signatures across tenants
// ------------------------------------------

TEST(Signatures, AnotherTenantsOrAForgedSignatureIsRefusedOnEveryWebhook) {
  auto cfg = test_config();
  cfg.meta_app_secret = "meta-secret";
  crm_app crm{cfg};
  auto port = crm.app().port();
  const auto& base = crm.cfg().public_base_url;
  const auto& global = crm.cfg().twilio_auth_token;
  auto b = crm.new_business("Tenant B");
  ASSERT_EQ(crm
              .call("PATCH", "/api/admin/businesses/" + std::to_string(b),
                    admin_token,
                    R"({"twilio":{"account_sid":"ACtenantb",)"
                    R"("auth_token":"tenant-b-token"},)"
                    R"("phone_numbers":["+97235550303"]})")
              .status,
            200);
  const params call_b{{"CallSid", "CAtenantb"},
                      {"From", "+972501234567"},
                      {"To", "+97235550303"},
                      {"AccountSid", "ACtenantb"},
                      {"CallStatus", "ringing"}};
  const params call_a{{"CallSid", "CAtenanta"},
                      {"From", "+972501234567"},
                      {"To", "+97235559999"},
                      {"AccountSid", "ACtest"},
                      {"CallStatus", "ringing"}};
  auto post = [&](const std::string& token, const std::string& path,
                  const params& p) {
    return twilio_post(port, base, token, path, p).status;
  };
  // B's calls: signed with the platform's token or forged -> 403.
  EXPECT_EQ(post(global, "/webhook/incoming_call", call_b), 403);
  EXPECT_EQ(post("forged", "/webhook/incoming_call", call_b), 403);
  EXPECT_EQ(post("tenant-b-token", "/webhook/incoming_call", call_b), 200);
  // The default business's calls: B's token does not sign them.
  EXPECT_EQ(post("tenant-b-token", "/webhook/incoming_call", call_a), 403);
  EXPECT_EQ(post(global, "/webhook/incoming_call", call_a), 200);
  // Every call webhook of B's call.
  for (auto hook : {"/webhook/call_status", "/webhook/stream_ended",
                    "/webhook/recording_status", "/webhook/transfer_status"}) {
    params p{{"CallSid", "CAtenantb"},
             {"CallStatus", "completed"},
             {"AccountSid", "ACtenantb"}};
    EXPECT_EQ(post(global, hook, p), 403) << hook;
    EXPECT_EQ(post("forged", hook, p), 403) << hook;
    EXPECT_LT(post("tenant-b-token", hook, p), 300) << hook;
  }
  // WhatsApp to B's number.
  const params wa_b{{"MessageSid", "SMtenantb"},
                    {"From", "whatsapp:+972501234567"},
                    {"To", "whatsapp:+97235550303"},
                    {"Body", "hello"},
                    {"AccountSid", "ACtenantb"}};
  EXPECT_EQ(post(global, "/webhook/whatsapp/incoming", wa_b), 403);
  EXPECT_LT(post("tenant-b-token", "/webhook/whatsapp/incoming", wa_b), 300);
  // The media upgrade of B's path, signed by someone else.
  auto ws_path = "/ws/twilio-media/" + std::to_string(b);
  auto ws_url = "wss://al.example.test" + ws_path;
  for (auto token : {global, std::string{"forged"}}) {
    media_client ws;
    auto hs = ws.connect(
      port, ws_path, "audio.twilio.com",
      {{"X-Twilio-Signature", twilio_signature(token, ws_url, form_params{})}});
    EXPECT_FALSE(hs.ok);
    EXPECT_EQ(hs.status, 403);
  }
  {
    media_client ws;
    auto hs = ws.connect(
      port, ws_path, "audio.twilio.com",
      {{"X-Twilio-Signature",
        twilio_signature("tenant-b-token", ws_url, form_params{})}});
    EXPECT_TRUE(hs.ok) << hs.status;
  }
  // Meta: X-Hub-Signature-256 over the exact body with the app secret.
  const std::string body
    = R"({"object":"whatsapp_business_account","entry":[]})";
  auto meta = [&](const std::string& sig, const std::string& sent) {
    header_list h{{"Content-Type", "application/json"}};
    if (!sig.empty())
      h.emplace_back("X-Hub-Signature-256", sig);
    return http_call(port, "POST", "/webhook/whatsapp/meta", sent, h).status;
  };
  auto right = "sha256="
               + crypto::to_hex(crypto::hmac_sha256("meta-secret", body));
  EXPECT_EQ(meta("", body), 403);
  EXPECT_EQ(meta("sha256=" + crypto::to_hex(crypto::hmac_sha256("other", body)),
                 body),
            403);
  EXPECT_EQ(meta(right, body + " "), 403); // another body
  EXPECT_EQ(meta(right.substr(0, right.size() - 1) + "0", body), 403);
  EXPECT_EQ(meta(right, body), 200);
}

// -- exposure
// ----------------------------------------------------------------------

TEST(Exposure, MetricsOnTheirOwnPortBehindAToken) {
  auto cfg = test_config();
  cfg.metrics_port = 0; // an ephemeral port of its own
  cfg.metrics_token = "metrics-scraper-token";
  running_app app{cfg};
  auto mport = app.app().metrics_port();
  ASSERT_NE(mport, 0);
  ASSERT_NE(mport, app.port());
  EXPECT_EQ(http_call(app.port(), "GET", "/metrics").status, 404);
  EXPECT_EQ(http_call(mport, "GET", "/metrics").status, 401);
  EXPECT_EQ(http_call(mport, "GET", "/metrics", "",
                      {{"Authorization", "Bearer test-admin"}})
              .status,
            401);
  auto ok = http_call(mport, "GET", "/metrics", "",
                      {{"Authorization", "Bearer metrics-scraper-token"}});
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("al_auth_failures_total"), std::string::npos);
  // The process and the build, like any Prometheus client.
  EXPECT_GT(metric_value(ok.body, "process_resident_memory_bytes"), 1e6);
  EXPECT_GT(metric_value(ok.body, "process_cpu_seconds_total"), 0);
  EXPECT_GT(metric_value(ok.body, "process_open_fds"), 3);
  EXPECT_GT(metric_value(ok.body, "process_start_time_seconds"), 1.7e9);
  EXPECT_NE(ok.body.find("al_build_info{"), std::string::npos);
  // Nothing else is served there.
  EXPECT_EQ(http_call(mport, "GET", "/api/crm/leads", "",
                      {{"Authorization", "Bearer test-admin"}})
              .status,
            404);
}

TEST(Exposure, MetricsTokenOnTheMainPort) {
  auto cfg = test_config();
  cfg.metrics_token = "metrics-scraper-token";
  running_app app{cfg};
  EXPECT_EQ(http_call(app.port(), "GET", "/metrics").status, 401);
  EXPECT_EQ(http_call(app.port(), "GET", "/metrics", "",
                      {{"Authorization", "Bearer metrics-scraper-token"}})
              .status,
            200);
}

TEST(Exposure, SecurityHeaders) {
  running_app app;
  auto page = http_call(app.port(), "GET", "/app/");
  ASSERT_EQ(page.status, 200);
  auto csp = page.header("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("object-src 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_EQ(page.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(page.header("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(page.header("X-Frame-Options"), "DENY");
  // API answers are never sniffed into something else either.
  auto api = http_call(app.port(), "GET", "/api/crm/leads");
  EXPECT_EQ(api.status, 401);
  EXPECT_EQ(api.header("X-Content-Type-Options"), "nosniff");
}

// -- the command line
// ----------------------------------------------------------------

TEST(Cli, VersionHelpAndMigrate) {
  auto v = run_cli("version", {});
  EXPECT_EQ(v.exit, 0) << v.output;
  EXPECT_EQ(v.output.rfind("agentlocator ", 0), 0u) << v.output;
  auto help = run_cli("--help", {});
  EXPECT_EQ(help.exit, 0);
  for (auto cmd : {"serve", "migrate", "rotate-secrets", "version"})
    EXPECT_NE(help.output.find(cmd), std::string::npos) << cmd;
  EXPECT_NE(run_cli("no-such-command", {}).exit, 0);
  // Configuration errors are one line naming the variable.
  auto bad = run_cli("migrate",
                     {{"DATABASE_URL", "postgresql://x"},
                      {"PUBLIC_BASE_URL", "https://al.example.com"}});
  EXPECT_EQ(bad.exit, 2);
  EXPECT_NE(bad.output.find("SECRET_KEY is required"), std::string::npos)
    << bad.output;

  auto url = fresh_database();
  auto m = run_cli("migrate", {{"DATABASE_URL", url}});
  ASSERT_EQ(m.exit, 0) << m.output;
  config probe;
  probe.database_url = url;
  EXPECT_EQ(sql_value(probe, "SELECT count(*) > 10 FROM schema_migrations"),
            "t");
  EXPECT_EQ(sql_value(probe, "SELECT to_regclass('audit_log') IS NOT NULL"),
            "t");
  // Twice is fine (a Job that runs again).
  EXPECT_EQ(run_cli("migrate", {{"DATABASE_URL", url}}).exit, 0);
  auto no_key = run_cli("rotate-secrets", {{"DATABASE_URL", url}});
  EXPECT_EQ(no_key.exit, 2);
  EXPECT_NE(no_key.output.find("needs SECRET_KEY"), std::string::npos);
}

// -- sign-in links and dashboard sessions ------------------------------------

std::string code_of(const std::string& url) {
  auto at = url.find("/app/#signin=");
  return at == std::string::npos ? std::string{} : url.substr(at + 13);
}

TEST(SignIn, ALinkSignsInOnceAndTheSessionEnds) {
  crm_app crm;
  auto owner = crm.new_token(1, "owner").token;
  auto agent = crm.new_token(1, "agent").token;
  auto made = crm.call("POST", "/api/crm/sign-in-links", owner,
                       R"({"role":"agent"})");
  ASSERT_EQ(made.status, 201) << made.body;
  auto url = made.str_at("url");
  EXPECT_EQ(url.rfind(crm.cfg().public_base_url + "/app/#signin=", 0), 0u);
  auto code = code_of(url);
  ASSERT_GE(code.size(), 24u);
  // The code is stored hashed only.
  EXPECT_EQ(crm.sql("SELECT count(*) FROM sign_in_codes WHERE code_hash = '"
                    + code + "'"),
            "0");

  auto grant = crm.call("POST", "/api/auth/sign-in", "",
                        js(json::object{{"code", code}}));
  ASSERT_EQ(grant.status, 200) << grant.body;
  auto session = grant.str_at("token");
  EXPECT_EQ(grant.str_at("role"), "agent");
  EXPECT_EQ(grant.int_at("business_id"), 1);
  auto me = crm.call("GET", "/api/crm/me", session);
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.str_at("role"), "agent");
  EXPECT_EQ(crm.sql("SELECT kind || ' ' || (expires_at > now() + interval"
                    " '11 hours')::text FROM api_tokens WHERE id = "
                    + std::to_string(me.int_at("token_id"))),
            "session true");
  // Once only.
  EXPECT_EQ(
    crm.call("POST", "/api/auth/sign-in", "", js(json::object{{"code", code}}))
      .status,
    401);
  // Sign-out ends the session at once.
  auto out = crm.call("POST", "/api/auth/sign-out", session);
  ASSERT_EQ(out.status, 200);
  EXPECT_EQ(out.obj().at("ended"), true);
  EXPECT_EQ(crm.call("GET", "/api/crm/me", session).status, 401);
  // An integration token is not ended by sign-out.
  auto kept = crm.call("POST", "/api/auth/sign-out", agent);
  EXPECT_EQ(kept.obj().at("ended"), false);
  EXPECT_EQ(crm.call("GET", "/api/crm/me", agent).status, 200);

  // Expired links and expired sessions are refused.
  auto late = code_of(
    crm.call("POST", "/api/crm/sign-in-links", owner, "{}").str_at("url"));
  crm.sql("UPDATE sign_in_codes SET expires_at = now() - interval '1 second'"
          " WHERE used_at IS NULL RETURNING id");
  EXPECT_EQ(
    crm.call("POST", "/api/auth/sign-in", "", js(json::object{{"code", late}}))
      .status,
    401);
  auto fresh = code_of(crm
                         .call("POST", "/api/crm/sign-in-links", owner,
                               R"({"role":"owner","ttl_minutes":5})")
                         .str_at("url"));
  auto second = crm.call("POST", "/api/auth/sign-in", "",
                         js(json::object{{"code", fresh}}));
  ASSERT_EQ(second.status, 200);
  auto s2 = second.str_at("token");
  ASSERT_EQ(crm.call("GET", "/api/crm/me", s2).status, 200);
  crm.sql("UPDATE api_tokens SET expires_at = now() - interval '1 second'"
          " WHERE kind = 'session' AND revoked_at IS NULL RETURNING id");
  EXPECT_EQ(crm.call("GET", "/api/crm/me", s2).status, 401);

  // Who may make links, and for whom.
  EXPECT_EQ(crm.call("POST", "/api/crm/sign-in-links", agent, "{}").status,
            403);
  auto b = crm.new_business("Other Office");
  auto theirs
    = crm.call("POST", "/api/crm/sign-in-links", admin_token,
               js(json::object{{"business_id", b}, {"role", "owner"}}));
  ASSERT_EQ(theirs.status, 201);
  EXPECT_EQ(theirs.int_at("business_id"), b);
  auto mine = crm.call("POST", "/api/crm/sign-in-links", owner,
                       js(json::object{{"business_id", b}}));
  EXPECT_EQ(mine.int_at("business_id"), 1)
    << "a token cannot name another business";
  // Bad input: a clear 400.
  for (auto body : {R"({"role":"admin"})", R"({"role":7})",
                    R"({"ttl_minutes":0})", R"({"ttl_minutes":20000})"})
    EXPECT_EQ(crm.call("POST", "/api/crm/sign-in-links", owner, body).status,
              400)
      << body;
  for (auto body : {R"({})", R"({"code":""})", R"({"code":"a b"})",
                    R"({"code":42})", "not json"})
    EXPECT_EQ(crm.call("POST", "/api/auth/sign-in", "", body).status, 400)
      << body;
  // All of it is in the audit trail.
  EXPECT_EQ(crm.call("GET", "/api/crm/audit?action=sign_in_link.create", owner)
              .int_at("total"),
            4);
  EXPECT_EQ(crm.call("GET", "/api/crm/audit?action=session.create", owner)
              .int_at("total"),
            2);
}

TEST(SignIn, GuessedCodesAreThrottled) {
  crm_app crm{throttled_config()};
  auto owner = crm.new_token(1, "owner").token;
  auto code = code_of(
    crm.call("POST", "/api/crm/sign-in-links", owner, "{}").str_at("url"));
  auto redeem = [&](const std::string& c, const std::string& address) {
    return http_call(crm.app().port(), "POST", "/api/auth/sign-in",
                     js(json::object{{"code", c}}),
                     {{"Content-Type", "application/json"},
                      {"X-Forwarded-For", address}});
  };
  const std::string attacker = "198.51.100.77";
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(redeem("guess" + std::to_string(i) + "xxxxxxxxxxxxxxxxxxx",
                     attacker)
                .status,
              401);
  // The fifth failure blocks the address: even a real code waits there ...
  EXPECT_EQ(redeem("guess5xxxxxxxxxxxxxxxxxxx", attacker).status, 429);
  auto blocked = redeem(code, attacker);
  EXPECT_EQ(blocked.status, 429);
  EXPECT_FALSE(blocked.header("Retry-After").empty());
  // ... and works from anywhere else (once).
  EXPECT_EQ(redeem(code, "203.0.113.1").status, 200);
}

TEST(Cli, SignInLinkTokenAndBusiness) {
  auto cfg = test_config();
  running_app app{cfg};
  const std::vector<std::pair<std::string, std::string>> env{
    {"DATABASE_URL", cfg.database_url},
    {"PUBLIC_BASE_URL", "http://127.0.0.1:" + std::to_string(app.port())}};
  auto link = run_cli("sign-in-link --business 1 --role owner", env, true);
  ASSERT_EQ(link.exit, 0) << link.output;
  // stdout carries the link alone on its first line (stderr says more).
  auto url = link.output.substr(0, link.output.find('\n'));
  EXPECT_EQ(url.rfind("http://127.0.0.1:" + std::to_string(app.port())
                        + "/app/#signin=",
                      0),
            0u)
    << link.output;
  auto grant = api_call(app.port(), "POST", "/api/auth/sign-in", "",
                        js(json::object{{"code", code_of(url)}}));
  EXPECT_EQ(grant.status, 200) << grant.body;
  EXPECT_NE(run_cli("sign-in-link --business 999", env).exit, 0);
  EXPECT_NE(run_cli("sign-in-link --role admin", env).exit, 0);

  auto biz = run_cli("business create --name 'CLI Realty' --phone 03-555-0404",
                     env, true);
  ASSERT_EQ(biz.exit, 0) << biz.output;
  auto id = std::stoll(biz.output);
  EXPECT_EQ(sql_value(cfg, "SELECT name FROM businesses WHERE id = "
                             + std::to_string(id)),
            "CLI Realty");
  EXPECT_EQ(sql_value(cfg, "SELECT business_id FROM phone_numbers"
                           " WHERE number = '+97235550404'"),
            std::to_string(id));
  EXPECT_NE(
    run_cli("business create --name Again --phone 03-555-0404", env).exit, 0)
    << "a claimed number";
  auto tok = run_cli("token create --business " + std::to_string(id)
                       + " --role agent --name crm-sync",
                     env, true);
  ASSERT_EQ(tok.exit, 0) << tok.output;
  auto token = tok.output.substr(0, tok.output.find('\n'));
  auto me = api_call(app.port(), "GET", "/api/crm/me", token);
  EXPECT_EQ(me.status, 200) << me.body;
  EXPECT_NE(me.body.find("\"agent\""), std::string::npos);
  EXPECT_EQ(sql_value(cfg,
                      "SELECT count(*) FROM audit_log WHERE actor = 'cli'"),
            "3"); // the link, the business, the token
}

TEST(Cli, CheckConfigSaysWhereEachValueComesFrom) {
  auto cfg = test_config();
  auto ok = run_cli("check-config", {{"DATABASE_URL", cfg.database_url},
                                     {"ADMIN_TOKEN", "very-secret-admin"},
                                     {"LOG_FORMAT", "json"}});
  EXPECT_EQ(ok.exit, 0) << ok.output;
  EXPECT_NE(ok.output.find("configuration ok"), std::string::npos);
  EXPECT_EQ(ok.output.find("very-secret-admin"), std::string::npos)
    << "a secret was printed";
  EXPECT_NE(ok.output.find("(set, 17 characters)"), std::string::npos);
  EXPECT_NE(ok.output.find("LOG_FORMAT"), std::string::npos);
  EXPECT_NE(ok.output.find("SECRET_KEY is not set"), std::string::npos);
  // Every variable is listed.
  for (auto& name : config_variable_names())
    EXPECT_NE(ok.output.find(name), std::string::npos) << name;
  auto bad = run_cli("check-config",
                     {{"DATABASE_URL", cfg.database_url}, {"PORT", "http"}});
  EXPECT_EQ(bad.exit, 1);
  EXPECT_NE(bad.output.find("error: invalid PORT"), std::string::npos)
    << bad.output;
  auto down = run_cli("check-config",
                      {{"DATABASE_URL", "postgresql://nobody@127.0.0.1:1/x"}});
  EXPECT_EQ(down.exit, 1);
  EXPECT_NE(down.output.find("the database does not answer"),
            std::string::npos);
}

// LOG_FORMAT=json: one JSON object per line, with the request's fields as
// members (the real binary, its real stdout).
TEST(Cli, JsonLogLinesCarryTheRequestsFields) {
  auto url = fresh_database();
  auto cmd = "exec env -i PATH=/usr/bin:/bin SCHEMAS_DIR="
             + shell_quoted(AL_SOURCE_DIR "/schemas")
             + " DATABASE_URL=" + shell_quoted(url) + " PORT=0 LOG_FORMAT=json "
             + shell_quoted(AL_BINARY) + " serve 2>&1";
  // popen's shell prints its pid, then becomes the service (exec).
  auto* out = ::popen(("echo $$; " + cmd).c_str(), "r");
  ASSERT_NE(out, nullptr);
  std::vector<std::string> lines;
  auto next_line = [&]() -> std::optional<std::string> {
    std::array<char, 8192> buf{};
    if (!std::fgets(buf.data(), static_cast<int>(buf.size()), out))
      return std::nullopt;
    std::string l = buf.data();
    if (!l.empty() && l.back() == '\n')
      l.pop_back();
    lines.push_back(l);
    return l;
  };
  auto pid_line = next_line();
  ASSERT_TRUE(pid_line);
  auto pid = std::stoi(*pid_line);
  int port = 0;
  while (auto l = next_line()) {
    auto at = l->find("listening on :");
    if (at != std::string::npos) {
      port = std::atoi(l->c_str() + at + 14);
      break;
    }
  }
  ASSERT_GT(port, 0) << "no listening line";
  auto r = http_call(static_cast<std::uint16_t>(port), "GET", "/healthz", "",
                     {{"X-Request-Id", "json-log-check-1"}});
  EXPECT_EQ(r.status, 200);
  ::kill(pid, SIGTERM);
  while (next_line()) {
  }
  ::pclose(out);
  bool found = false;
  for (auto& l : lines) {
    if (l.empty() || l == *pid_line)
      continue;
    json::value v;
    try {
      v = json::parse(l);
    } catch (...) {
      ADD_FAILURE() << "not a JSON line: " << l;
      continue;
    }
    auto& o = v.as_object();
    EXPECT_TRUE(o.contains("ts") && o.contains("level") && o.contains("msg"))
      << l;
    if (o.contains("request_id") && o.at("request_id") == "json-log-check-1") {
      found = true;
      EXPECT_EQ(o.at("route"), "/healthz") << l;
      EXPECT_EQ(o.at("status"), 200) << l;
      EXPECT_EQ(o.at("method"), "GET") << l;
      EXPECT_TRUE(o.at("ms").is_number()) << l;
    }
  }
  EXPECT_TRUE(found) << "no access line with the request's fields";
}

TEST(Migrations, AnEditedAppliedMigrationStopsStartUp) {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path()
             / ("al-schemas-" + crypto::random_token(6));
  fs::copy(AL_SOURCE_DIR "/schemas", dir);
  auto url = fresh_database();
  auto env
    = std::vector<std::pair<std::string, std::string>>{{"DATABASE_URL", url}};
  auto migrate = [&] {
    return run_command("env -i PATH=/usr/bin:/bin SCHEMAS_DIR="
                       + shell_quoted(dir.string())
                       + " DATABASE_URL=" + shell_quoted(url) + " "
                       + shell_quoted(AL_BINARY) + " migrate");
  };
  ASSERT_EQ(migrate().exit, 0);
  config probe;
  probe.database_url = url;
  EXPECT_EQ(sql_value(probe, "SELECT count(*) FROM schema_migrations"
                             " WHERE checksum ~ '^[0-9a-f]{64}$'"),
            sql_value(probe, "SELECT count(*) FROM schema_migrations"));
  {
    std::ofstream f{dir / "0002_leads.sql", std::ios::app};
    f << "\n-- an afterthought\n";
  }
  auto r = migrate();
  EXPECT_EQ(r.exit, 1);
  EXPECT_NE(r.output.find("0002_leads.sql was changed after it was applied"),
            std::string::npos)
    << r.output;
  // The service refuses to start the same way.
  auto cfg = test_config();
  cfg.database_url = url;
  application app{cfg, dir.string()};
  auto err = app.start("127.0.0.1");
  app.shutdown();
  EXPECT_NE(err.find("was changed after it was applied"), std::string::npos)
    << err;
  fs::remove_all(dir);
}

} // namespace
} // namespace al::test
