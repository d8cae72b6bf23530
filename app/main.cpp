// agentlocator: configuration from the environment (and .env), then one
// subcommand (CLI11):
//   serve             the service until SIGTERM/SIGINT, then a graceful
//                     drain (the default)
//   migrate           apply schemas/*.sql and exit (a Kubernetes Job before
//                     the pods roll)
//   check-config      every variable, where its value comes from, and any
//                     problem (the database is tried too)
//   sign-in-link      a one-time dashboard sign-in link
//   token create      an API token for integrations
//   business create   a business (office), with its phone numbers
//   rotate-secrets    re-encrypt tenant secrets under SECRET_KEY; the keys
//                     they are under now must be in SECRET_KEYS_PREVIOUS
//   version           the build
#include "actors/audit.hpp"
#include "actors/businesses.hpp"
#include "actors/secret_columns.hpp"
#include "actors/sign_in.hpp"
#include "actors/store.hpp"
#include "app/app.hpp"
#include "core/business_input.hpp"
#include "core/crypto.hpp"
#include "core/phone.hpp"
#include "core/secret_box.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

namespace al {
extern const char* const build_commit;
extern const char* const build_time;
} // namespace al

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void on_signal(int) {
  stop_requested = 1;
}

int fail(const std::string& msg, int code) {
  std::fprintf(stderr, "agentlocator: %s\n", msg.c_str());
  return code;
}

int serve(const al::config& cfg, const std::string& schemas) {
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  al::application app{cfg, schemas};
  if (auto err = app.start(); !err.empty())
    return fail(err, 1);
  while (!stop_requested)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  spdlog::info("signal received: draining");
  app.shutdown();
  spdlog::info("stopped");
  return 0;
}

int rotate_secrets(const al::config& cfg, const std::string& schemas) {
  if (cfg.secret_key.empty())
    return fail("rotate-secrets needs SECRET_KEY (the new key) and, in"
                " SECRET_KEYS_PREVIOUS, the key(s) the secrets are under now",
                2);
  if (auto err = al::apply_migrations(cfg.database_url, schemas); !err.empty())
    return fail(err, 1);
  al::secrets::install(std::make_shared<al::secrets::keyring>(
    cfg.secret_key, cfg.secret_keys_previous));
  std::string report;
  if (auto err = al::prepare_secrets(cfg.database_url, true, report);
      !err.empty())
    return fail(err, 1);
  std::printf("%s\n", report.empty()
                        ? "every tenant secret is already under the current key"
                        : report.c_str());
  return 0;
}

/// The command line as the audit trail's "who".
al::audit_who cli_actor() {
  al::audit_who who;
  who.actor = "cli";
  return who;
}

int sign_in_link(const al::config& cfg, const std::string& schemas,
                 std::int64_t business, const std::string& role, int minutes) {
  if (auto err = al::apply_migrations(cfg.database_url, schemas); !err.empty())
    return fail(err, 1);
  std::optional<al::sign_in_code> code;
  auto err = al::run_blocking(cfg.database_url, [&](al::db_tx& tx) {
    code = al::create_sign_in_code(tx, business, role,
                                   std::chrono::minutes{minutes}, cli_actor());
  });
  if (!err.empty())
    return fail(err, 1);
  if (!code)
    return fail("no business " + std::to_string(business), 1);
  std::printf("%s\n", al::sign_in_url(cfg.public_base_url, code->code).c_str());
  std::fprintf(stderr,
               "agentlocator: a %s sign-in link for business %lld, usable once"
               " until %s\n",
               role.c_str(), static_cast<long long>(business),
               code->expires_at.c_str());
  return 0;
}

int token_create(const al::config& cfg, const std::string& schemas,
                 std::int64_t business, const std::string& role,
                 const std::string& name) {
  if (auto err = al::apply_migrations(cfg.database_url, schemas); !err.empty())
    return fail(err, 1);
  auto token = "al_" + al::crypto::random_token(24);
  std::int64_t id = 0;
  bool known = false;
  auto err = al::run_blocking(cfg.database_url, [&](al::db_tx& tx) {
    known = al::business_exists(tx, business);
    if (!known)
      return;
    id = al::insert_api_token(tx, business, role, name,
                              al::crypto::secret_hash(token));
    al::record_audit(
      tx, cli_actor(),
      al::audit_entry{business, "token.create", "token", std::to_string(id),
                      boost::json::object{{"role", role}, {"name", name}}});
  });
  if (!err.empty())
    return fail(err, 1);
  if (!known)
    return fail("no business " + std::to_string(business), 1);
  std::printf("%s\n", token.c_str());
  std::fprintf(stderr,
               "agentlocator: token %lld (%s) of business %lld; shown once,"
               " stored hashed\n",
               static_cast<long long>(id), role.c_str(),
               static_cast<long long>(business));
  return 0;
}

int business_create(const al::config& cfg, const std::string& schemas,
                    const std::string& name,
                    const std::vector<std::string>& phones) {
  al::business_input in;
  in.name = name;
  std::vector<std::string> numbers;
  for (auto& p : phones) {
    auto n = al::normalize_phone(p);
    if (!n)
      return fail("invalid phone number: " + p, 2);
    numbers.push_back(*n);
  }
  if (!numbers.empty())
    in.phone_numbers = numbers;
  if (auto err = al::apply_migrations(cfg.database_url, schemas); !err.empty())
    return fail(err, 1);
  std::int64_t id = 0;
  std::vector<std::string> clash;
  auto err = al::run_blocking(cfg.database_url, [&](al::db_tx& tx) {
    clash = al::claimed_elsewhere(tx, -1, in);
    if (!clash.empty())
      return;
    id = al::create_business(tx);
    al::save_business_audited(tx, id, in, cli_actor(), "business.create");
  });
  if (!err.empty())
    return fail(err, 1);
  if (!clash.empty())
    return fail("phone number already claimed: " + clash.front(), 1);
  std::printf("%lld\n", static_cast<long long>(id));
  return 0;
}

/// DATABASE_URL without its password.
std::string masked_url(const std::string& url) {
  auto scheme = url.find("://");
  auto at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme)
    return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at)
    return url;
  return url.substr(0, colon + 1) + "****" + url.substr(at);
}

int check_config(const std::string& dotenv) {
  std::map<std::string, std::string> file_values;
  if (std::ifstream in{dotenv}) {
    std::stringstream ss;
    ss << in.rdbuf();
    auto parsed = al::parse_dotenv(ss.str());
    if (auto e = std::get_if<std::string>(&parsed))
      return fail(*e, 2);
    file_values = std::get<0>(std::move(parsed));
  }
  std::printf("%-30s %-12s %s\n", "VARIABLE", "SOURCE", "VALUE");
  for (auto& name : al::config_variable_names()) {
    std::string source = "default";
    std::optional<std::string> value;
    if (auto v = std::getenv(name.c_str())) {
      source = "environment";
      value = v;
    } else if (auto i = file_values.find(name); i != file_values.end()) {
      source = dotenv;
      value = i->second;
    }
    std::string shown;
    if (!value)
      shown = "";
    else if (al::secret_variable(name))
      shown = value->empty()
                ? "(empty)"
                : "(set, " + std::to_string(value->size()) + " characters)";
    else if (name == "DATABASE_URL")
      shown = masked_url(*value);
    else
      shown = *value;
    std::printf("%-30s %-12s %s\n", name.c_str(), source.c_str(),
                shown.c_str());
  }
  auto env = al::process_env(dotenv);
  auto loaded = al::load_config(std::get<al::env_lookup>(env));
  std::vector<std::string> errors, warnings;
  if (auto e = std::get_if<std::string>(&loaded)) {
    errors.push_back(*e);
  } else {
    auto& cfg = std::get<al::config>(loaded);
    if (cfg.database_url.empty())
      errors.push_back("DATABASE_URL is not set");
    else if (auto err = al::run_blocking(
               cfg.database_url, [](al::db_tx& tx) { al::ping_database(tx); });
             !err.empty())
      errors.push_back("the database does not answer: " + err);
    if (cfg.secret_key.empty())
      warnings.push_back(
        "SECRET_KEY is not set: tenant secrets are stored in"
        " clear and call tokens are signed with a derived key");
    if (cfg.admin_token.empty())
      warnings.push_back("ADMIN_TOKEN is not set: the admin API is off (the"
                         " CLI still makes businesses, tokens and sign-in"
                         " links)");
    if (cfg.twilio_auth_token.empty())
      warnings.push_back("TWILIO_AUTH_TOKEN is not set: calls to the default"
                         " business cannot be verified and are refused");
    if (cfg.public_base_url.rfind("https://", 0) != 0)
      warnings.push_back("PUBLIC_BASE_URL is not https: Twilio needs an https"
                         " URL (a tunnel or the nginx site)");
    if (cfg.openai_api_key.empty())
      warnings.push_back("OPENAI_API_KEY is not set: calls get the embedded"
                         " voice and its scripted dialogue");
    if (cfg.payments_enabled && cfg.paypal_secret.empty()
        && cfg.tranzila_terminal.empty())
      warnings.push_back("PAYMENTS_ENABLED without PayPal or Tranzila"
                         " credentials: only businesses with their own can"
                         " take payments");
  }
  for (auto& w : warnings)
    std::printf("warning: %s\n", w.c_str());
  for (auto& e : errors)
    std::printf("error: %s\n", e.c_str());
  std::printf("%s\n",
              errors.empty() ? "configuration ok" : "configuration has errors");
  return errors.empty() ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  CLI::App cli{"AgentLocator: the AI receptionist of real-estate offices."
               " Configuration comes from the environment and .env"
               " (deploy/config.example.env)."};
  cli.require_subcommand(0, 1);
  auto* serve_cmd = cli.add_subcommand("serve", "Run the service (default)");
  auto* migrate_cmd = cli.add_subcommand("migrate",
                                         "Apply database migrations and exit");
  auto* rotate_cmd = cli.add_subcommand(
    "rotate-secrets",
    "Re-encrypt tenant secrets under SECRET_KEY (the old keys in"
    " SECRET_KEYS_PREVIOUS) and exit");
  auto* version_cmd = cli.add_subcommand("version", "Print the build and exit");
  auto* check_cmd = cli.add_subcommand(
    "check-config",
    "Print every variable, its source and any problem; exit 1 on errors");

  std::int64_t business = 1;
  std::string role = "owner";
  int minutes = 60;
  auto* link_cmd = cli.add_subcommand(
    "sign-in-link", "Print a one-time dashboard sign-in link");
  link_cmd->add_option("--business", business, "Business id (default 1)");
  link_cmd->add_option("--role", role, "owner, agent or read_only")
    ->check(CLI::IsMember({"owner", "agent", "read_only"}));
  link_cmd->add_option("--ttl-minutes", minutes, "Valid for (default 60)")
    ->check(CLI::Range(1, 7 * 24 * 60));

  std::string token_name;
  auto* token_cmd = cli.add_subcommand("token", "API tokens for integrations");
  token_cmd->require_subcommand(1);
  auto* token_create_cmd
    = token_cmd->add_subcommand("create", "Print a new API token (shown once)");
  token_create_cmd->add_option("--business", business, "Business id")
    ->required();
  token_create_cmd->add_option("--role", role, "owner, agent or read_only")
    ->required()
    ->check(CLI::IsMember({"owner", "agent", "read_only"}));
  token_create_cmd->add_option("--name", token_name, "What it is for");

  std::string business_name;
  std::vector<std::string> phones;
  auto* business_cmd = cli.add_subcommand("business", "Businesses (offices)");
  business_cmd->require_subcommand(1);
  auto* business_create_cmd = business_cmd->add_subcommand(
    "create", "Create a business; prints its id");
  business_create_cmd->add_option("--name", business_name, "Its name")
    ->required();
  business_create_cmd->add_option(
    "--phone", phones, "A phone number routed to it (repeatable, E.164)");

  CLI11_PARSE(cli, argc, argv);
  (void)serve_cmd;

  if (*version_cmd) {
    std::printf("agentlocator %s (built %s)\n", al::build_commit,
                al::build_time);
    return 0;
  }

  std::string dotenv = ".env";
  if (argc > 0) {
    auto beside = fs::path(argv[0]).parent_path() / ".env";
    if (fs::exists(beside))
      dotenv = beside.string();
  }
  if (*check_cmd)
    return check_config(dotenv);
  auto env = al::process_env(dotenv);
  if (auto err = std::get_if<std::string>(&env))
    return fail(*err, 2);
  auto loaded = al::load_config(std::get<al::env_lookup>(env));
  if (auto err = std::get_if<std::string>(&loaded))
    return fail(*err, 2);
  auto cfg = std::get<al::config>(std::move(loaded));
  if (cfg.database_url.empty())
    return fail("DATABASE_URL is not set (deploy/start.sh starts a local"
                " PostgreSQL and sets it)",
                2);
  bool serving = !(*migrate_cmd || *rotate_cmd || *link_cmd || *token_create_cmd
                   || *business_create_cmd);
  al::setup_logging(cfg, !serving);
  auto schemas = al::find_schemas_dir(argc > 0 ? argv[0] : "");

  if (*migrate_cmd) {
    if (auto err = al::apply_migrations(cfg.database_url, schemas);
        !err.empty())
      return fail(err, 1);
    std::printf("migrations applied\n");
    return 0;
  }
  if (*rotate_cmd)
    return rotate_secrets(cfg, schemas);
  if (*link_cmd)
    return sign_in_link(cfg, schemas, business, role, minutes);
  if (*token_create_cmd)
    return token_create(cfg, schemas, business, role, token_name);
  if (*business_create_cmd)
    return business_create(cfg, schemas, business_name, phones);
  return serve(cfg, schemas);
}
