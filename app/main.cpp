// agentlocator: configuration from the environment (and .env), then one
// subcommand (CLI11):
//   serve           the service until SIGTERM/SIGINT, then a graceful drain
//                   (the default)
//   migrate         apply schemas/*.sql and exit (a Kubernetes Job before
//                   the pods roll)
//   rotate-secrets  re-encrypt tenant secrets under SECRET_KEY; the keys
//                   they are under now must be in SECRET_KEYS_PREVIOUS
//   version         the build
#include "actors/secret_columns.hpp"
#include "actors/store.hpp"
#include "app/app.hpp"
#include "core/secret_box.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
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

} // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  CLI::App cli{"AgentLocator: the AI receptionist of real-estate offices."
               " Configuration comes from the environment and .env"
               " (deploy/config.example.env)."};
  cli.require_subcommand(0, 1);
  auto* serve_cmd = cli.add_subcommand("serve", "Run the service (default)");
  auto* migrate_cmd
    = cli.add_subcommand("migrate", "Apply database migrations and exit");
  auto* rotate_cmd = cli.add_subcommand(
    "rotate-secrets",
    "Re-encrypt tenant secrets under SECRET_KEY (the old keys in"
    " SECRET_KEYS_PREVIOUS) and exit");
  auto* version_cmd = cli.add_subcommand("version", "Print the build and exit");
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
  al::setup_logging(cfg);
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
  return serve(cfg, schemas);
}
