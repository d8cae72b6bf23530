#include "transport/handlers/common.hpp"

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

http_response db_error_response(const db_error& err) {
  if (err == "database unavailable")
    return error_response(http::status::service_unavailable,
                          "Database unavailable");
  return error_response(http::status::internal_server_error, "Database error");
}

void run_and_answer(services& svc, responder res,
                    std::function<void(db_tx&, outcome&)> job) {
  auto out = std::make_shared<outcome>();
  svc.db.run([job = std::move(job), out](db_tx& tx) { job(tx, *out); },
             [res, out](const db_error& err) {
               if (!err.empty())
                 return res(db_error_response(err));
               res(json_response(out->status, std::move(out->body)));
             });
}

} // namespace al
