#pragma once

// Helpers shared by the route handlers (transport/handlers/*.cpp): path ids,
// JSON bodies, and "run a store job, then answer with what it decided".

#include "actors/store.hpp"
#include "core/json.hpp"
#include "transport/http_types.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace al {

struct services;

/// The i-th {x} path segment as a positive decimal id (at most 18 digits).
std::optional<std::int64_t> path_id(const request& req, std::size_t i = 0);

/// Parses the request body as a JSON object into `doc`/`obj`, or answers 400
/// and returns false.
bool parse_body(const request& req, json_doc& doc, simdjson::dom::object& obj,
                const responder& res);

/// What a store job decided to answer.
struct outcome {
  http::status status = http::status::ok;
  std::string body;
};

/// Runs `job` and answers with the outcome it filled in; a database failure
/// answers 503 ("Database unavailable") or 500 ("Database error").
void run_and_answer(services& svc, responder res,
                    std::function<void(db_tx&, outcome&)> job);

/// The answer for a failed store job.
http_response db_error_response(const db_error& err);

} // namespace al
