#pragma once

// The composition root as a class, so that tests can run the whole service
// in-process on an ephemeral port: config -> migrations -> actor system ->
// store -> domain managers -> routes -> server.

#include "core/config.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace al {

class router;
struct services;

/// Registers every HTTP route group of the service on `r`, in the order the
/// application does. Duplicates show up in r.rejected().
void add_all_routes(router& r, services& svc);

class application {
public:
  explicit application(config cfg, std::string schemas_dir);
  ~application();

  application(const application&) = delete;
  application& operator=(const application&) = delete;

  /// Starts everything; returns an error message, or empty on success.
  std::string start(const std::string& address = "0.0.0.0");

  /// The bound port (after start).
  std::uint16_t port() const noexcept;

  /// The /metrics port when METRICS_PORT is set (after start), else 0.
  std::uint16_t metrics_port() const noexcept;

  /// Graceful: readyz 503, stop accepting, let live calls finish up to the
  /// drain timeout, close WebSockets with 1001, flush queued writes, stop.
  void shutdown();

  services& svc();

  /// "METHOD /pattern" of every registered route (after start).
  const std::vector<std::string>& routes() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Sets up spdlog (text or JSON lines, level); never throws afterwards.
/// `to_stderr`: for the command line, whose stdout carries its answer.
void setup_logging(const config& cfg, bool to_stderr = false);

/// Finds the schemas directory: $SCHEMAS_DIR, else ./schemas, else one
/// beside or above the binary, else the source tree it was built from.
std::string find_schemas_dir(const char* argv0);

/// The dashboard's files when WEB_ROOT is not set: `web` in the directory
/// holding `schemas_dir` (the checkout, or the install prefix).
std::string web_root_beside(const std::string& schemas_dir);

} // namespace al
