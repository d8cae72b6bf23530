// agentlocator: configuration from the environment (and .env), then the
// application until SIGTERM/SIGINT, then a graceful drain.
#include "app/app.hpp"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <spdlog/spdlog.h>

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void on_signal(int) {
  stop_requested = 1;
}

} // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::string dotenv = ".env";
  if (argc > 0) {
    auto beside = fs::path(argv[0]).parent_path() / ".env";
    if (fs::exists(beside))
      dotenv = beside.string();
  }
  auto env = al::process_env(dotenv);
  if (auto err = std::get_if<std::string>(&env)) {
    std::fprintf(stderr, "agentlocator: %s\n", err->c_str());
    return 2;
  }
  auto loaded = al::load_config(std::get<al::env_lookup>(env));
  if (auto err = std::get_if<std::string>(&loaded)) {
    std::fprintf(stderr, "agentlocator: %s\n", err->c_str());
    return 2;
  }
  auto cfg = std::get<al::config>(std::move(loaded));
  if (cfg.database_url.empty()) {
    std::fprintf(stderr, "agentlocator: DATABASE_URL is not set (deploy/start.sh"
                         " starts a local PostgreSQL and sets it)\n");
    return 2;
  }
  al::setup_logging(cfg);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  al::application app{cfg, al::find_schemas_dir(argc > 0 ? argv[0] : "")};
  if (auto err = app.start(); !err.empty()) {
    std::fprintf(stderr, "agentlocator: %s\n", err.c_str());
    return 1;
  }
  while (!stop_requested)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  spdlog::info("signal received: draining");
  app.shutdown();
  spdlog::info("stopped");
  return 0;
}
