#pragma once

// Helpers shared by the route handlers (transport/handlers/*.cpp): path ids,
// JSON bodies.

#include "core/json.hpp"
#include "core/outbound.hpp"
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

/// Outbound HTTP through svc.http (the shared HTTPS client); empty when the
/// services have none (then nothing is sent).
http_send_fn http_of(const services& svc);

} // namespace al
