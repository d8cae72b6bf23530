#pragma once

// Route registration, one function per route group. Each group lives in its
// own file under transport/handlers/, named after its URL prefix.

#include <cstdint>
#include <memory>

namespace al {

class router;
class dispatcher;
struct services;

/// /, /healthz, /readyz, /version, /metrics, /api/openapi.json
void add_health_routes(router& r, services& svc);
/// /api/admin/*
void add_admin_routes(router& r, services& svc);
/// GET /metrics: add_health_routes adds it unless METRICS_PORT is set; the
/// application then serves it alone on that port.
void add_metrics_route(router& r, services& svc);
/// /api/crm/* (leads, calls, appointments, pipeline, tasks, business, audit)
void add_crm_routes(router& r, services& svc);
/// /api/crm/listings*, leads CSV, matches
void add_listing_routes(router& r, services& svc);
/// /api/crm/stats (the owner's overview)
void add_stats_routes(router& r, services& svc);
/// /webhook/incoming_call, stream_*, call_status, recording_status
void add_twilio_voice_routes(router& r, services& svc);
/// /webhook/whatsapp/*, /api/whatsapp/send
void add_whatsapp_routes(router& r, services& svc);
/// /api/crm/whatsapp/templates* (add_whatsapp_routes adds them)
void add_whatsapp_template_routes(router& r, services& svc);
/// /api/crm/leads/{id}/takeover|release (add_whatsapp_routes adds them)
void add_whatsapp_takeover_routes(router& r, services& svc);
/// /api/crm/whatsapp/conversations* (the shared inbox)
void add_whatsapp_inbox_routes(router& r, services& svc);
/// /api/crm/payments* (create, list, get)
void add_payment_routes(router& r, services& svc);
/// /payments/paypal/* (buyer pages), /webhook/payments/* (provider callbacks)
void add_payment_callback_routes(router& r, services& svc);
/// /api/crm/dnc* (the do-not-contact list)
void add_dnc_routes(router& r, services& svc);
/// /api/crm/campaigns* (follow-up call campaigns)
void add_campaign_routes(router& r, services& svc);
/// /webhook/outbound_call, amd_status, outbound_status (follow-up calls)
void add_twilio_outbound_routes(router& r, services& svc);
/// /api/leads/intake, /api/crm/settings/intake-key
void add_intake_routes(router& r, services& svc);
/// /api/crm/webhooks/* (outgoing webhooks: test, deliveries, retry)
void add_webhook_routes(router& r, services& svc);
/// /api/crm/sign-in-links, /api/auth/sign-in, sign-out
void add_sign_in_routes(router& r, services& svc);
/// /api/crm/events (live, SSE), /api/crm/me
void add_event_routes(router& r, services& svc);
/// /app, /app/* (the dashboard's static files)
void add_app_routes(router& r, services& svc);

/// After a business's greeting, voice or engine changed: loads its voice
/// pack as calls will hear it and, when the AI voice should speak the
/// greeting and no rendering is stored, renders it now (asynchronous), so
/// the next caller already hears the new greeting in the AI's voice.
void warm_greeting(services& svc, std::int64_t business);

} // namespace al
