// GET /, /healthz, /readyz, /version, /metrics (METRICS_TOKEN as a bearer
// when set; on METRICS_PORT instead when that is set), /api/openapi.json
// (the API's OpenAPI document, built in from docs/openapi.json)
#include "transport/handlers/handlers.hpp"

#include "core/crypto.hpp"
#include "domain/health.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <string>
#include <string_view>

namespace al {

// docs/openapi.json, as a string literal that CMake generates from it
// (transport/openapi_document.cpp.in).
extern const std::string_view openapi_document;

void add_health_routes(router& r, services& svc) {
  auto alive = [](request_ptr, responder res) {
    res(json_response(http::status::ok, R"({"status":"ok"})"));
  };
  r.add(http::verb::get, "/", alive);
  r.add(http::verb::get, "/healthz", alive);

  r.add(http::verb::get, "/readyz", [&svc](request_ptr req, responder res) {
    if (svc.draining)
      return res(json_response(http::status::service_unavailable,
                               R"({"status":"draining"})"));
    if (!svc.started)
      return res(json_response(http::status::service_unavailable,
                               R"({"status":"starting"})"));
    domain::health::ready(
      svc.db, on_session(req, [res](domain_status st) {
        if (!st.ok()) {
          boost::json::object o;
          o["status"] = "unavailable";
          o["reason"] = st.message;
          return res(
            json_response(to_status(st.code), boost::json::serialize(o)));
        }
        res(json_response(http::status::ok, R"({"status":"ready"})"));
      }));
  });

  r.add(http::verb::get, "/version", [&svc](request_ptr, responder res) {
    boost::json::object o;
    o["deploy_id"] = svc.cfg.deploy_id.empty() ? svc.build.commit
                                               : svc.cfg.deploy_id;
    o["commit"] = svc.build.commit;
    o["built_at"] = svc.build.built_at;
    res(json_response(http::status::ok, boost::json::serialize(o)));
  });

  // The OpenAPI document: public, and revalidated by its strong ETag like
  // the dashboard's files (a client generator may fetch it from anywhere).
  auto etag = "\""
              + crypto::to_hex(crypto::sha256(openapi_document)).substr(0, 32)
              + "\"";
  r.add(http::verb::get, "/api/openapi.json",
        [etag](request_ptr req, responder res) {
          http_response out{http::status::ok, 11};
          auto match = req->header(http::field::if_none_match);
          if (!match.empty() && match.find(etag) != std::string_view::npos) {
            out.result(http::status::not_modified);
          } else {
            out.set(http::field::content_type, "application/json");
            out.body() = std::string{openapi_document};
          }
          out.set(http::field::etag, etag);
          out.set(http::field::cache_control, "no-cache");
          out.set(http::field::access_control_allow_origin, "*");
          out.set("X-Content-Type-Options", "nosniff");
          out.prepare_payload();
          res(std::move(out));
        });

  // With METRICS_PORT, /metrics is served there only (app.cpp).
  if (!svc.cfg.metrics_port)
    add_metrics_route(r, svc);
}

void add_metrics_route(router& r, services& svc) {
  r.add(http::verb::get, "/metrics", [&svc](request_ptr req, responder res) {
    if (!svc.cfg.metrics_token.empty()) {
      auto token = bearer_token(req->header(http::field::authorization));
      if (!token
          || !crypto::constant_time_equal(*token, svc.cfg.metrics_token)) {
        auto deny = error_response(http::status::unauthorized,
                                   "/metrics needs METRICS_TOKEN as a bearer");
        deny.set(http::field::www_authenticate, "Bearer");
        return res(std::move(deny));
      }
    }
    res(make_response(http::status::ok, svc.m.serialize(),
                      "text/plain; version=0.0.4"));
  });
}

} // namespace al
