#pragma once

// Route registration, one function per route group. Each group lives in its
// own file under transport/handlers/, named after its URL prefix.

namespace al {

class router;
class dispatcher;
struct services;

void add_health_routes(router& r, services& svc);   // /, /healthz, /readyz, /version, /metrics
void add_admin_routes(router& r, services& svc);    // /api/admin/*

} // namespace al
