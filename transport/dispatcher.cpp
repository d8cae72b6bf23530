#include "transport/dispatcher.hpp"

#include "actors/log.hpp"
#include "actors/metrics.hpp"
#include "core/crypto.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

namespace al {

namespace {

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64)
    return false;
  for (unsigned char c : id)
    if (!(std::isalnum(c) || c == '-' || c == '_' || c == '.'))
      return false;
  return true;
}

/// The answer of one request. When the last responder copy is dropped
/// without an answer (a handler lost it, e.g. a completion threw on a DB
/// thread), the client gets a 500 instead of a connection that hangs.
struct pending_answer {
  std::function<void(http_response)> finish;
  bool answered = false; // set by the responder, which runs at most once

  ~pending_answer() {
    if (answered || !finish)
      return;
    try {
      spdlog::error("request dropped without an answer");
    } catch (...) {
    }
    try {
      finish(
        error_response(http::status::internal_server_error, "Internal error"));
    } catch (...) {
    }
  }
};

} // namespace

dispatcher::dispatcher(router routes, metrics* m)
  : routes_(std::move(routes))
  , metrics_(m) {}

std::string dispatcher::next_request_id() {
  static const std::string prefix = crypto::random_token(6);
  static std::atomic<std::uint64_t> counter{0};
  return prefix + "-" + std::to_string(++counter);
}

void dispatcher::add_websocket(std::string path, websocket_acceptor acceptor) {
  websockets_.emplace(std::move(path), std::move(acceptor));
}

const websocket_acceptor*
dispatcher::find_websocket(std::string_view path) const {
  auto i = websockets_.find(path);
  if (i != websockets_.end())
    return &i->second;
  // "/ws/x/{id}": an acceptor registered as "/ws/x/*" takes one more
  // segment (it parses the segment itself).
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == path.size())
    return nullptr;
  std::string pattern{path.substr(0, slash + 1)};
  pattern += '*';
  i = websockets_.find(pattern);
  return i == websockets_.end() ? nullptr : &i->second;
}

void dispatcher::dispatch(request_ptr req, responder::sink send) const {
  auto incoming = req->header("X-Request-Id");
  req->id = sane_request_id(incoming) ? std::string{incoming}
                                      : next_request_id();
  auto started = std::chrono::steady_clock::now();
  auto match = routes_.match(req->msg.method(), req->path);
  std::string label = match.hit ? match.hit->pattern : "unmatched";
  auto* m = metrics_;
  // Every answer passes here: request id, access log, metrics.
  auto pending = std::make_shared<pending_answer>();
  pending->finish = [req, send = std::move(send), label, started,
                     m](http_response res) mutable {
    res.set("X-Request-Id", req->id);
    // No answer is ever sniffed into another type (JSON as HTML, ...).
    res.set("X-Content-Type-Options", "nosniff");
    auto ms = std::chrono::duration<double, std::milli>(
                std::chrono::steady_clock::now() - started)
                .count();
    auto status = res.result_int();
    if (m)
      m->observe_request(label, status, ms / 1000.0);
    try {
      // JSON lines get the fields as members (LOG_FORMAT=json).
      log_scope fields{{"request_id", req->id},
                       {"method", std::string{req->msg.method_string()}},
                       {"path", req->path},
                       {"route", label},
                       {"status", std::to_string(status), true},
                       {"ms", fmt::format("{:.2f}", ms), true}};
      spdlog::info("{} {} {} {} {:.2f}ms", req->id,
                   std::string_view{req->msg.method_string()}, req->path,
                   status, ms);
    } catch (...) {
    }
    send(std::move(res));
  };
  responder respond{[pending](http_response res) {
    pending->answered = true;
    pending->finish(std::move(res));
  }};
  if (!match.hit) {
    if (match.allow.empty()) {
      respond(error_response(http::status::not_found, "Not found"));
    } else {
      auto res = error_response(http::status::method_not_allowed,
                                "Method not allowed");
      res.set(http::field::allow, match.allow);
      respond(std::move(res));
    }
    return;
  }
  req->path_params = std::move(match.params);
  try {
    match.hit->fn(req, respond);
  } catch (const std::exception& e) {
    try {
      spdlog::error("{} handler {} threw: {}", req->id, label, e.what());
    } catch (...) {
    }
    respond(
      error_response(http::status::internal_server_error, "Internal error"));
  }
}

} // namespace al
