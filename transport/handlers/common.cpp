#include "transport/handlers/common.hpp"

#include "transport/https_client.hpp"
#include "transport/services.hpp"

#include <memory>

namespace al {

std::optional<std::int64_t> path_id(const request& req, std::size_t i) {
  if (req.path_params.size() <= i)
    return std::nullopt;
  auto& s = req.path_params[i];
  if (s.empty() || s.size() > 18)
    return std::nullopt;
  std::int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n <= 0)
    return std::nullopt;
  return n;
}

bool parse_body(const request& req, json_doc& doc, simdjson::dom::object& obj,
                const responder& res) {
  if (!doc.parse(req.body())) {
    res(error_response(http::status::bad_request, doc.error()));
    return false;
  }
  auto o = doc.object();
  if (!o) {
    res(
      error_response(http::status::bad_request, "JSON body must be an object"));
    return false;
  }
  obj = *o;
  return true;
}

http_send_fn http_of(const services& svc) {
  auto* client = svc.http;
  if (!client)
    return {};
  return
    [client](outbound_request r, std::function<void(outbound_response)> done) {
      client->send(std::move(r), std::move(done));
    };
}

} // namespace al
