#pragma once

// The composition root's factories (app/app.cpp calls them at start-up):
// what each family of actors gets from the services -- configuration, the
// stores, the outbound HTTP client, the managers -- and the background jobs
// started as children of the job manager. Nothing here runs per request.

#include <memory>

namespace al {

struct services;
struct call_env;
struct outbound_env;
struct payment_env;
struct whatsapp_context;

/// The call actors' view of the services (store, voices, the Realtime
/// connector, WhatsApp, the REST redirect to the recording fallback).
std::shared_ptr<const call_env> make_call_env(services& svc);

/// What placing a follow-up call needs (actors/outbound_call.hpp), from
/// config, svc.db and svc.http; on_dial_finished is left empty for the
/// campaign engine to set.
std::shared_ptr<outbound_env> make_outbound_env(services& svc);

/// Sets svc.whatsapp, the WhatsApp conversations' view of the services
/// (store, outbound HTTP, provider settings from config), and spawns
/// svc.whatsapp_manager, which builds conversations from it; after svc.db.
void start_whatsapp(services& svc);

/// The payment actors' view of the services (store, outbound HTTP, provider
/// settings, public URLs); after svc.db and svc.http.
std::shared_ptr<const payment_env> make_payment_env(services& svc);

/// Starts the outgoing-webhook deliverer (actors/webhook_delivery.hpp) as a
/// child of svc.job_manager; after svc.db, svc.http and svc.job_manager.
void start_webhook_delivery(services& svc);

/// Starts the inbound WhatsApp media fetcher (actors/whatsapp_media.hpp), a
/// child of the job manager.
void start_wa_media_fetcher(services& svc);

} // namespace al
